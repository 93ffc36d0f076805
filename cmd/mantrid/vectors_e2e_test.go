package main

// TestVectors is the hostile-request vector suite (issue 6): malformed and
// malicious requests, kept as data under testdata/vectors/, one file per
// group, sent to one real mantrid process.
//
// # File format
//
// Lines starting with "#" (but not "###") are comments; blank lines are
// ignored. A case starts with a header line
//
//	### name | answers [| backend]
//
// and its request is every following non-comment line up to the next
// header, concatenated WITHOUT the file's line breaks (a line break is only
// there for reading). In the request, \r \n \t \\ and \xHH are escapes;
// everything else is literal. {{N*text}} repeats text (escapes allowed in
// it) N times, for the size limits.
//
// answers is a space-separated list of the status codes Mantrid must send,
// in order (read as answers to GET), followed by an optional "open":
//   - without "open", the connection must be closed by Mantrid right after
//     the last answer (no further byte), and a last answer of 400 or more
//     must say Connection: close;
//   - with "open", the connection must stay usable: a request for
//     follow.test (an "empty" rule answering 202) is sent on it and must get
//     202 — so a request smuggled in a body, answered on its own, shows up
//     as an unexpected answer (smuggled.test answers 403).
//
// The word "close" alone means no answer at all, only a close.
//
// backend says what may reach the recording raw backend behind p.test:
//   - "none" (default): not one byte, during the case;
//   - "cut": a chunk-level error in a proxied body. The head was already
//     forwarded (Mantrid streams bodies), so the backend may have the head,
//     but it must never get a complete, valid request: every request it
//     recorded in the case failed to parse (its chunked reader hit EOF),
//     and the connection to it was closed (it does not linger). The
//     client, which has seen no answer, gets 400 and a close (when the
//     bad chunk is already there as the backend is reached, nothing at all
//     is forwarded);
//   - N: exactly N requests with canonical framing (the controls).
//
// Each case runs twice: "whole" (one write) and "split" (one write per
// byte for the first 2 KiB, then the rest in one write; Go's TCP_NODELAY
// makes each write a segment); "cut" cases also run "late" (the head, a
// 50 ms pause, then the body, so the bad chunk arrives once the request is
// with the backend). After each group a fresh well-formed
// request on a new connection must still be answered, by the backend and
// by a local rule, and the process must still be alive with no panic in
// its log (SPEC §9 promises 1, 3, 9, 11).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// vectorCase is one case of a vector file.
type vectorCase struct {
	group, name string
	line        int    // of the ### header, for messages
	raw         []byte // the request bytes
	answers     []int  // status codes, in order
	open        bool   // the connection stays usable after the answers
	backend     string // "none", "cut" or a count
}

// vectorSplitPrefix is how many leading bytes the split variant writes one by one.
const vectorSplitPrefix = 2048

// vectorFollowUp is sent on connections that must stay open; its rule answers 202.
const vectorFollowUp = "GET / HTTP/1.1\r\nHost: follow.test\r\n\r\n"

func loadVectors(t *testing.T, path string) []vectorCase {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	group := strings.TrimSuffix(filepath.Base(path), ".txt")
	var cases []vectorCase
	var cur *vectorCase
	var text strings.Builder
	flush := func() {
		if cur == nil {
			return
		}
		raw, err := expandVector(text.String())
		require.NoError(t, err, "%s:%d %s", path, cur.line, cur.name)
		require.NotEmpty(t, raw, "%s:%d %s has no request", path, cur.line, cur.name)
		cur.raw = raw
		cases = append(cases, *cur)
		cur = nil
		text.Reset()
	}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "###"):
			flush()
			parts := strings.Split(strings.TrimPrefix(line, "###"), "|")
			require.True(t, len(parts) == 2 || len(parts) == 3, "%s:%d: want ### name | answers [| backend]", path, i+1)
			c := vectorCase{group: group, name: strings.TrimSpace(parts[0]), line: i + 1, backend: "none"}
			require.False(t, seen[c.name], "%s:%d: duplicate case %s", path, i+1, c.name)
			seen[c.name] = true
			for _, f := range strings.Fields(parts[1]) {
				switch f {
				case "open":
					c.open = true
				case "close":
				default:
					code, err := strconv.Atoi(f)
					require.NoError(t, err, "%s:%d: answer %q", path, i+1, f)
					c.answers = append(c.answers, code)
				}
			}
			if len(parts) == 3 {
				c.backend = strings.TrimSpace(parts[2])
				if c.backend != "none" && c.backend != "cut" {
					_, err := strconv.Atoi(c.backend)
					require.NoError(t, err, "%s:%d: backend %q", path, i+1, c.backend)
				}
			}
			cur = &c
		case strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
		default:
			require.NotNil(t, cur, "%s:%d: request text before any ### header", path, i+1)
			text.WriteString(line)
		}
	}
	flush()
	return cases
}

// expandVector turns a case's request text into bytes: {{N*text}}
// repetitions first, then the escapes.
func expandVector(s string) ([]byte, error) {
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, errors.New("unterminated {{")
		}
		n, text, ok := strings.Cut(s[i+2:i+j], "*")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 0 {
			return nil, fmt.Errorf("bad repetition %q", s[i:i+j+2])
		}
		s = s[:i] + strings.Repeat(text, count) + s[i+j+2:]
	}
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("trailing backslash")
		}
		i++
		switch s[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case '\\':
			out = append(out, '\\')
		case 'x':
			if i+2 >= len(s) {
				return nil, errors.New("short \\x escape")
			}
			b, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x escape %q", s[i-1:i+3])
			}
			out = append(out, byte(b))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return out, nil
}

// vectorBackend is the raw backend behind p.test, with what it read
// counted byte by byte and its open connections counted.
type vectorBackend struct {
	rb     *rawBackend
	bytes  atomic.Int64 // bytes read from Mantrid, all connections
	active atomic.Int64 // connections being served
}

type vectorCountingWriter struct{ n *atomic.Int64 }

func (w vectorCountingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

func newVectorBackend(t *testing.T) *vectorBackend {
	vb := &vectorBackend{}
	each := serveEach(echoAnswer)
	vb.rb = newRawBackend(t, func(rc *rawConn) {
		vb.active.Add(1)
		defer vb.active.Add(-1)
		rc.br = bufio.NewReader(io.TeeReader(rc.Conn, vectorCountingWriter{&vb.bytes}))
		each(rc)
	})
	return vb
}

// vectorResult is what one run of a case saw.
type vectorResult struct {
	answers   []int
	readErr   error  // why reading the next expected answer failed
	after     string // what came after the answers: "closed", "open", or bytes
	writeErr  error
	lastClose bool // the last answer said Connection: close
}

func TestVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "vectors", "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)

	vb := newVectorBackend(t)
	p := startMantrid(t, "max_head_size = 4096\nmax_uri_length = 1024\nmax_headers = 50\nhead_timeout = 2\n",
		stateWith(map[string]string{
			"p.test":        fmt.Sprintf(`["proxy", {"backends": [["127.0.0.1", %d]]}, true]`, vb.rb.port),
			"local.test":    `["empty", {"code": 200}, false]`,
			"smuggled.test": `["empty", {"code": 403}, false]`,
			"follow.test":   `["empty", {"code": 202}, false]`,
		}))

	total := 0
	for _, file := range files {
		cases := loadVectors(t, file)
		total += len(cases)
		group := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(group, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					modes := []string{"whole", "split"}
					if tc.backend == "cut" {
						modes = append(modes, "late")
					}
					for _, mode := range modes {
						t.Run(mode, func(t *testing.T) {
							runVector(t, p, vb, tc, mode)
						})
					}
				})
			}
			t.Run("server-still-answers", func(t *testing.T) {
				id := "vectors-" + group
				cl := newClient(t, p.addr())
				resp, body := cl.get("p.test", "/after", reqIDHeader+": "+id+"\r\n")
				require.Equal(t, 200, resp.StatusCode, "proxied request after group %s", group)
				require.Equal(t, "ok "+id, body)
				resp, _ = newClient(t, p.addr()).get("local.test", "/")
				require.Equal(t, 200, resp.StatusCode, "local request after group %s", group)
				require.True(t, p.alive(), "mantrid exited:\n%s", p.Log())
				require.NotContains(t, p.Log(), "panic", "mantrid log")
			})
		})
	}
	t.Logf("%d vector cases in %d groups, each sent whole and split (cut cases also late)", total, len(files))
	require.GreaterOrEqual(t, total, 75, "the suite has at least 75 cases")
}

func runVector(t *testing.T, p *proc, vb *vectorBackend, tc vectorCase, mode string) {
	where := fmt.Sprintf("case %s/%s (testdata/vectors/%s.txt:%d), sent %s\ninput: %q",
		tc.group, tc.name, tc.group, tc.line, mode, tc.raw)
	bytesBefore := vb.bytes.Load()
	reqsBefore := len(vb.rb.requests())
	activeBefore := vb.active.Load()

	cl := newClient(t, p.addr())
	res := vectorResult{}
	switch mode {
	case "split":
		n := min(len(tc.raw), vectorSplitPrefix)
		for i := 0; i < n && res.writeErr == nil; i++ {
			_, res.writeErr = cl.c.Write(tc.raw[i : i+1])
		}
		if res.writeErr == nil && n < len(tc.raw) {
			_, res.writeErr = cl.c.Write(tc.raw[n:])
		}
	case "late":
		head := bytes.Index(tc.raw, []byte("\r\n\r\n")) + 4
		require.Greater(t, head, 4, "late needs a head: %s", where)
		if _, res.writeErr = cl.c.Write(tc.raw[:head]); res.writeErr == nil {
			time.Sleep(50 * time.Millisecond)
			_, res.writeErr = cl.c.Write(tc.raw[head:])
		}
	default:
		_, res.writeErr = cl.c.Write(tc.raw)
	}

	_ = cl.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range tc.answers {
		resp, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
		if err != nil {
			res.readErr = err
			break
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.answers = append(res.answers, resp.StatusCode)
		res.lastClose = resp.Close
		if err != nil {
			res.readErr = err
			break
		}
	}
	answersOK := res.readErr == nil && slices.Equal(res.answers, tc.answers)
	if answersOK && tc.open {
		_, err := io.WriteString(cl.c, vectorFollowUp)
		resp, rerr := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
		switch {
		case err != nil:
			res.after = "follow-up write failed: " + err.Error()
		case rerr != nil:
			res.after = "follow-up unanswered: " + rerr.Error()
		case resp.StatusCode != 202:
			res.after = fmt.Sprintf("follow-up got %d, want 202 (a smuggled request answered?)", resp.StatusCode)
		default:
			res.after = "open"
		}
	} else if answersOK {
		res.after = vectorAfterAnswers(cl)
	}

	wantAfter := "closed"
	if tc.open {
		wantAfter = "open"
	}
	if answersOK && !tc.open && len(tc.answers) > 0 && tc.answers[len(tc.answers)-1] >= 400 && !res.lastClose {
		t.Errorf("%s\nthe error answer %d does not say Connection: close", where, tc.answers[len(tc.answers)-1])
	}
	if !answersOK || res.after != wantAfter {
		t.Errorf("%s\ngot answers %v (read error: %v), then %s; write error: %v\nwant answers %v, then %s",
			where, res.answers, res.readErr, res.after, res.writeErr, tc.answers, wantAfter)
	}

	switch tc.backend {
	case "none":
		// A wrongly forwarded request would have been sent before the
		// answer; give a late write a moment anyway.
		time.Sleep(5 * time.Millisecond)
		if got, reqs := vb.bytes.Load()-bytesBefore, vb.rb.requests()[reqsBefore:]; got != 0 || len(reqs) != 0 {
			t.Errorf("%s\nthe backend read %d bytes (%d whole requests: %s), want none", where, got, len(reqs), describeReqs(reqs))
		}
	case "cut":
		// A connection that carried part of the request must be closed; one
		// that carried nothing (the bad chunk was there before anything
		// was sent) may stay in Mantrid's pool.
		deadline := time.Now().Add(5 * time.Second)
		// Mantrid may have sent the head before it found the bad chunk and
		// answered: the answer can reach the client before the backend's
		// goroutine has read the head. Wait until the backend has read
		// nothing new for 30 ms, or a late head is counted in the next case.
		for last, still := vb.bytes.Load(), time.Now(); time.Since(still) < 30*time.Millisecond && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			if n := vb.bytes.Load(); n != last {
				last, still = n, time.Now()
			}
		}
		for vb.active.Load() > activeBefore && vb.bytes.Load() > bytesBefore && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		// The backend records a cut request when its read ends; wait for
		// that, so that it is not counted in the next case.
		for vb.bytes.Load() > bytesBefore && len(vb.rb.requests()) == reqsBefore && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if a := vb.active.Load(); a > activeBefore && vb.bytes.Load() > bytesBefore {
			t.Errorf("%s\nthe backend connection carrying the cut body is still open (%d open, %d before)", where, a, activeBefore)
		}
		for _, r := range vb.rb.requests()[reqsBefore:] {
			t.Logf("%s\nthe backend got: %s", where, describeReqs([]*rawRequest{r}))
			if r.FramingErr == nil {
				t.Errorf("%s\nthe backend got a complete, valid request from bad framing: %q body %q", where, r.Head, r.Body)
			}
		}
	default:
		want, _ := strconv.Atoi(tc.backend)
		reqs := vb.rb.requests()[reqsBefore:]
		valid := 0
		for _, r := range reqs {
			if r.FramingErr == nil {
				valid++
			}
		}
		t.Logf("%s\nthe backend got: %s", where, describeReqs(reqs))
		if len(reqs) != want || valid != want {
			t.Errorf("%s\nthe backend got %d requests (%d valid): %s; want %d valid", where, len(reqs), valid, describeReqs(reqs), want)
		}
	}
}

// vectorAfterAnswers reports what the connection does once the expected answers
// were read: "closed" (EOF or reset), "open" (nothing for 2 s) or the bytes
// that came.
func vectorAfterAnswers(cl *client) string {
	_ = cl.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var buf bytes.Buffer
	_, err := io.Copy(&buf, cl.br)
	switch {
	case buf.Len() > 0:
		return fmt.Sprintf("unexpected bytes %q", buf.String())
	case isTimeout(err):
		return "open (not closed within 2s)"
	default:
		return "closed"
	}
}

func describeReqs(reqs []*rawRequest) string {
	var parts []string
	for _, r := range reqs {
		parts = append(parts, fmt.Sprintf("{from %s head at %s, ended %s: head %q body %q framing error %v}",
			r.From, r.HeadAt.Format("15:04:05.000000"), r.EndAt.Format("15:04:05.000000"), r.Head, r.Body, r.FramingErr))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
