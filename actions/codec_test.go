package actions

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bytedance/sonic"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canonicalCases are the examples of the rule format with their canonical
// encodings, byte for byte.
var canonicalCases = []struct {
	name, in, want string
}{
	{"proxy", `["proxy", {"backends": [["127.0.0.1", 8000], "10.0.0.2:80"], "attempts": 3, "delay": 0.5}, true]`,
		`["proxy",{"attempts":3,"backends":[["127.0.0.1",8000],["10.0.0.2",80]],"delay":0.5},true]`},
	{"empty", `["empty", {"code": 403}, false]`, `["empty",{"code":403},false]`},
	{"redirect", `["redirect", {"redirect_to": "https://example.com"}, true]`,
		`["redirect",{"redirect_to":"https://example.com"},true]`},
	{"spin", `["spin", {"timeout": 60, "check_interval": 1}, false]`,
		`["spin",{"check_interval":1,"timeout":60},false]`},
	{"static", `["static", {"type": "test"}, false]`, `["static",{"type":"test"},false]`},
	{"no_hosts", `["no_hosts", {}, false]`, `["no_hosts",{},false]`},
	{"unknown", `["unknown", {}, false]`, `["unknown",{},false]`},
	{"proxy defaults left out", `["proxy",{"backends":["h:1"]},false]`, `["proxy",{"backends":[["h",1]]},false]`},
	{"proxy default given", `["proxy",{"backends":["h:1"],"attempts":1,"delay":1},false]`,
		`["proxy",{"attempts":1,"backends":[["h",1]],"delay":1},false]`},
	{"proxy delay only", `["proxy",{"delay":"0","backends":[["h","80"]]},false]`, `["proxy",{"backends":[["h",80]],"delay":0},false]`},
	{"proxy ipv6", `["proxy",{"backends":["[::1]:80",["[fe80::1]",81],["::2",82]]},false]`,
		`["proxy",{"backends":[["::1",80],["fe80::1",81],["::2",82]]},false]`},
	{"spin defaults left out", `["spin",{},true]`, `["spin",{},true]`},
	{"spin timeout only", `["spin",{"timeout":"2.5"},true]`, `["spin",{"timeout":2.5},true]`},
	{"spin nanoseconds", `["spin",{"check_interval":0.000000001,"timeout":86399.999999999},true]`,
		`["spin",{"check_interval":0.000000001,"timeout":86399.999999999},true]`},
	{"numbers normalised", `["empty",{"code":"4.04e2"},false]`, `["empty",{"code":404},false]`},
	{"redirect escapes", `["redirect",{"redirect_to":"https://ep.io/a\"b\\c<d>&"},false]`,
		`["redirect",{"redirect_to":"https://ep.io/a\"b\\c<d>&"},false]`},
}

func TestMarshalJSONCanonical(t *testing.T) {
	for _, tt := range canonicalCases {
		t.Run(tt.name, func(t *testing.T) {
			r := requireRule(t, tt.in)
			got, err := r.MarshalJSON()
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got), "input %q", tt.in)
			assert.Equal(t, "prefix"+tt.want, string(r.AppendJSON([]byte("prefix"))), "AppendJSON of %q", tt.in)
			assert.True(t, json.Valid(got), "output %q is not valid JSON", got)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range canonicalCases {
		t.Run(tt.name, func(t *testing.T) {
			r := requireRule(t, tt.in)
			enc, err := r.MarshalJSON()
			require.NoError(t, err)
			back := requireRule(t, string(enc))
			assert.True(t, r.Equal(back), "input %q: encoded %q parsed to %+v, want %+v", tt.in, enc, back, r)
			again, err := back.MarshalJSON()
			require.NoError(t, err)
			assert.Equal(t, string(enc), string(again), "encoding is not stable")

			// As the bulk API and state loader see it: decoded with
			// encoding/json into float64s.
			var v any
			require.NoError(t, json.Unmarshal(enc, &v))
			viaValue, err := ParseRuleValue(v)
			require.NoError(t, err, "encoded %q", enc)
			assert.True(t, r.Equal(viaValue), "encoded %q via encoding/json: got %+v, want %+v", enc, viaValue, r)
		})
	}
}

// TestMarshalInMap checks that encoding/json and sonic call MarshalJSON for
// rules inside a document (GET /hostname/, the state file) unchanged.
func TestMarshalInMap(t *testing.T) {
	r := requireRule(t, `["empty",{"code":403},false]`)
	doc := map[string]*Rule{"ep.io": r, "gone": nil}
	want := `{"ep.io":["empty",{"code":403},false],"gone":null}`
	got, err := json.Marshal(doc)
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "encoding/json")
	got, err = sonic.ConfigStd.Marshal(doc)
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "sonic")
}

func TestAppendJSONHandBuilt(t *testing.T) {
	tests := []struct {
		name string
		r    *Rule
		want string
	}{
		{"nil", nil, `null`},
		{"control and invalid UTF-8 escaped", &Rule{Kind: Static, Type: "a\x01\n\xffé"}, `["static",{"type":"a\u0001\u000a\ufffdé"},false]`},
		{"negative duration", &Rule{Kind: Spin, Timeout: -1500 * time.Millisecond, given: givenTimeout}, `["spin",{"timeout":-1.5},false]`},
		{"zero kind", &Rule{}, `["Kind(0)",{},false]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.r.AppendJSON(nil)
			assert.Equal(t, tt.want, string(got))
			assert.True(t, json.Valid(got), "output %q is not valid JSON", got)
		})
	}
}

func TestAppendSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{time.Nanosecond, "0.000000001"},
		{500 * time.Millisecond, "0.5"},
		{time.Second, "1"},
		{120 * time.Second, "120"},
		{time.Hour + 10*time.Microsecond, "3600.00001"},
		{24 * time.Hour, "86400"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendSeconds(nil, tt.d)), "duration %v", tt.d)
	}
}
