package hostset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchExtra is an extra entry like the one the benchmark adds.
var benchExtra = Extra{Host: "bench.test", Rule: `["proxy", {"backends": ["127.0.0.1:9"]}, false]`, Backend: "u00"}

// wantRule is the rule of host i as the generic JSON the decoder gives.
func wantRule(a, b string, port float64) []any {
	return []any{"proxy", map[string]any{"backends": []any{[]any{a, port}, []any{b, port}}}, true}
}

func TestHostAndAddr(t *testing.T) {
	cases := []struct {
		name       string
		i          int
		host       string
		addr, next string
	}{
		{"first", 0, "app0000000.example-hosting.com", "127.0.0.0", "127.0.0.1"},
		{"byte carry", 255, "app0000255.example-hosting.com", "127.0.0.255", "127.0.1.0"},
		{"three bytes", 0x010203, "app0066051.example-hosting.com", "127.1.2.3", "127.1.2.4"},
		{"one million", 999_999, "app0999999.example-hosting.com", "127.15.66.63", "127.15.66.64"},
		{"last address wraps", 1<<24 - 1, "app16777215.example-hosting.com", "127.255.255.255", "127.0.0.0"},
		{"past the space", 1 << 24, "app16777216.example-hosting.com", "127.0.0.0", "127.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.host, Host(c.i), "Host(%d)", c.i)
			assert.Equal(t, c.host, fmt.Sprintf("app%07d.example-hosting.com", c.i), "the standard's own formula")
			assert.Equal(t, c.addr, Addr(c.i), "Addr(%d)", c.i)
			assert.Equal(t, c.next, Addr(c.i+1), "Addr(%d+1)", c.i)
			var rule []any
			require.NoError(t, json.Unmarshal([]byte(Rule(c.i, 8000)), &rule), "Rule(%d) = %s", c.i, Rule(c.i, 8000))
			assert.Equal(t, wantRule(c.addr, c.next, 8000), rule)
		})
	}
}

func TestBackendName(t *testing.T) {
	assert.Equal(t, "u00", BackendName(0))
	assert.Equal(t, "u07", BackendName(7))
	assert.Equal(t, "u15", BackendName(15))
	assert.Equal(t, "u123", BackendName(123))
}

func TestPutFormat(t *testing.T) {
	const n = 1000
	var out bytes.Buffer
	require.NoError(t, Set{N: n, Port: 8001, Extra: []Extra{benchExtra}}.Write(&out, Put))
	var body map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out.Bytes(), &body), "put output is not one JSON object")
	assert.Len(t, body, n+1)
	for _, i := range []int{0, 1, 255, 256, 999} {
		var rule []any
		require.Contains(t, body, Host(i))
		require.NoError(t, json.Unmarshal(body[Host(i)], &rule))
		assert.Equal(t, wantRule(Addr(i), Addr(i+1), 8001), rule, "host %d", i)
	}
	assert.JSONEq(t, benchExtra.Rule, string(body["bench.test"]))
}

func TestStateFormat(t *testing.T) {
	const n = 300
	var out bytes.Buffer
	require.NoError(t, Set{N: n, Extra: []Extra{benchExtra}}.Write(&out, State))
	var st struct {
		Hosts map[string][]any `json:"hosts"`
		Stats map[string]struct {
			Open      *int64 `json:"open_requests"`
			Completed int64  `json:"completed_requests"`
			Sent      int64  `json:"bytes_sent"`
			Received  int64  `json:"bytes_received"`
		} `json:"stats"`
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&st), "state output")
	assert.Len(t, st.Hosts, n+1)
	assert.Len(t, st.Stats, n+1)
	for _, i := range []int{0, 17, 299} {
		assert.Equal(t, wantRule(Addr(i), Addr(i+1), DefaultPort), st.Hosts[Host(i)], "host %d", i)
		s := st.Stats[Host(i)]
		require.NotNil(t, s.Open, "host %d has no open_requests", i)
		assert.Zero(t, *s.Open)
		c, sent, recv := Stats(i)
		assert.Equal(t, [3]int64{c, sent, recv}, [3]int64{s.Completed, s.Sent, s.Received}, "host %d", i)
		assert.Positive(t, s.Completed)
	}
	assert.Contains(t, st.Hosts, "bench.test")
}

func TestMapFormats(t *testing.T) {
	cases := []struct {
		format Format
		end    string
	}{{HAProxy, ""}, {Nginx, ";"}}
	for _, c := range cases {
		t.Run(string(c.format), func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, Set{N: 40, Backends: 16, Extra: []Extra{benchExtra}}.Write(&out, c.format))
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			require.Len(t, lines, 41)
			assert.Equal(t, "app0000000.example-hosting.com u00"+c.end, lines[0])
			assert.Equal(t, "app0000017.example-hosting.com u01"+c.end, lines[17])
			assert.Equal(t, "app0000039.example-hosting.com u07"+c.end, lines[39])
			assert.Equal(t, "bench.test u00"+c.end, lines[40])
		})
	}
}

func TestEmptyAndErrors(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Set{}.Write(&out, Put))
	assert.Equal(t, "{}\n", out.String())
	out.Reset()
	require.NoError(t, Set{Extra: []Extra{benchExtra}}.Write(&out, State))
	assert.True(t, json.Valid(out.Bytes()), "state of one extra host: %s", out.String())
	assert.ErrorContains(t, Set{N: 1}.Write(&out, "xml"), "unknown format")
	assert.ErrorContains(t, Set{N: -1}.Write(&out, Put), "negative")
	assert.ErrorIs(t, Set{N: 100000}.Write(failingWriter{}, Put), errWrite)
}

// errWrite is what failingWriter returns.
var errWrite = errors.New("disk full")

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

// countingWriter counts bytes and drops them.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestMillionIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, f := range Formats() {
		var w countingWriter
		start := time.Now()
		require.NoError(t, Set{N: 1_000_000}.Write(&w, f))
		took := time.Since(start)
		t.Logf("%s: %d bytes in %s", f, w.n, took)
		assert.Less(t, took, 5*time.Second, "%s of 10⁶ hosts took %s", f, took)
	}
}

func BenchmarkWritePut(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var w countingWriter
		_ = Set{N: 100_000}.Write(&w, Put)
	}
}

func TestBenchExtra(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, Set{N: 2, Extra: []Extra{BenchExtra("127.0.0.1:8080")}}.Write(&out, Put))
	var body map[string][]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &body))
	assert.Equal(t, []any{"proxy", map[string]any{"backends": []any{"127.0.0.1:8080"}}, false}, body[BenchHost])
}
