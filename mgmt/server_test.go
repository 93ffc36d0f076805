package mgmt

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/api"
	storepkg "github.com/mantrid/mantrid/mgmt/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	proxyRule    = `["proxy",{"backends":[["10.0.0.1",80]]},true]`
	redirectRule = `["redirect",{"redirect_to":"https://ep.io"},true]`
	emptyRule    = `["empty",{"code":402},false]`
)

// newTestServer returns a Server over a table holding ep.io (proxy),
// http://ep.io (redirect) and localhost (empty).
func newTestServer(t testing.TB, opts ServerOptions) (*Server, *testRules) {
	t.Helper()
	r := newRules(2, nil)
	r.replace(t, map[string]string{"ep.io": proxyRule, "http://ep.io": redirectRule, "localhost": emptyRule})
	return NewServer(r.table, r.store, opts), r
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://localhost:8042/", strings.NewReader(body))
	req.URL.Path, req.URL.RawPath = "", ""
	if u, err := req.URL.Parse(path); err == nil {
		req.URL = u
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// apiCase is one request to the API and the answer it must get.
type apiCase struct {
	name, method, path, body string
	status                   int
	want                     string // JSON; "" skips the check
	allow                    string
}

// apiCases returns TestAPI's requests, each against newTestServer's rules.
func apiCases() []apiCase {
	return []apiCase{
		{"get all", "GET", "/hostname/", "", 200,
			`{"ep.io":` + proxyRule + `,"http://ep.io":` + redirectRule + `,"localhost":` + emptyRule + `}`, ""},
		{"get all without slash", "GET", "/hostname", "", 200, "", ""},
		{"get one", "GET", "/hostname/ep.io/", "", 200, proxyRule, ""},
		{"get one without slash", "GET", "/hostname/ep.io", "", 200, proxyRule, ""},
		{"get one normalised", "GET", "/hostname/EP.io./", "", 200, proxyRule, ""},
		{"get protocol key", "GET", "/hostname/http://ep.io/", "", 200, redirectRule, ""},
		{"get protocol key escaped", "GET", "/hostname/http:%2F%2Fep.io", "", 200, redirectRule, ""},
		{"get absent", "GET", "/hostname/nope.io/", "", 200, `null`, ""},
		{"null body on GET ignored", "GET", "/hostname/ep.io/", "null", 200, proxyRule, ""},
		{"get invalid host", "GET", "/hostname/a%20b/", "", 400, `{"error":"hostname_invalid","detail":"invalid rule key: byte not allowed in a hostname (port, path, userinfo, space or control byte?)","host":"a b"}`, ""},
		{"get port in host", "GET", "/hostname/ep.io:80/", "", 400, "", ""},
		{"put one", "PUT", "/hostname/new.io/", emptyRule, 200, `{"ok":true}`, ""},
		{"put one protocol", "PUT", "/hostname/https://new.io", emptyRule, 200, `{"ok":true}`, ""},
		{"put numeric strings", "PUT", "/hostname/new.io/", `["empty",{"code":"404"},false]`, 200, `{"ok":true}`, ""},
		{"put not JSON", "PUT", "/hostname/new.io/", `[`, 400, `{"error":"bad_json","detail":"body is not valid JSON","host":"new.io"}`, ""},
		{"put empty body", "PUT", "/hostname/new.io/", ``, 400, "", ""},
		{"put not list", "PUT", "/hostname/new.io/", `{}`, 400, "", ""},
		{"put null", "PUT", "/hostname/new.io/", `null`, 400, "", ""},
		{"put wrong length", "PUT", "/hostname/new.io/", `["spin",{}]`, 400, "", ""},
		{"put bad action", "PUT", "/hostname/new.io/", `["fly",{},true]`, 400, "", ""},
		{"put kwargs not dict", "PUT", "/hostname/new.io/", `["spin",[],true]`, 400, "", ""},
		{"put subs not bool", "PUT", "/hostname/new.io/", `["spin",{},1]`, 400, "", ""},
		{"put unknown option", "PUT", "/hostname/new.io/", `["spin",{"x":1},true]`, 400, "", ""},
		{"put missing option", "PUT", "/hostname/new.io/", `["empty",{},true]`, 400, "", ""},
		{"put invalid option", "PUT", "/hostname/new.io/", `["empty",{"code":99},true]`, 400, "", ""},
		{"put invalid host", "PUT", "/hostname/a..b/", emptyRule, 400, "", ""},
		{"delete", "DELETE", "/hostname/localhost/", "", 200, `{"ok":true}`, ""},
		{"delete absent is ok", "DELETE", "/hostname/nope.io/", "", 200, `{"ok":true}`, ""},
		{"delete invalid host", "DELETE", "/hostname/a_b c/", "", 400, "", ""},
		{"stats all", "GET", "/stats/", "", 200, `{"unknown":{"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0},` +
			`"ep.io":{"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0},` +
			`"http://ep.io":{"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0},` +
			`"localhost":{"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0}}`, ""},
		{"stats one", "GET", "/stats/ep.io", "", 200, `{"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0}`, ""},
		{"stats unknown", "GET", "/stats/unknown/", "", 200, `{"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0}`, ""},
		{"stats absent", "GET", "/stats/nope.io/", "", 200, `{}`, ""},
		{"stats invalid host", "GET", "/stats/a b/", "", 400, "", ""},
		{"root", "GET", "/", "", 405, `{"error":"method_not_allowed","detail":"the API is under /hostname/, /stats/, /state/, /fleet/ and /process/"}`, ""},
		{"root PUT", "PUT", "/", "{}", 405, "", ""},
		{"root HEAD", "HEAD", "/", "", 405, "", ""},
		{"double slash", "GET", "//", "", 404, `{"error":"not_found"}`, ""},
		{"unknown path", "GET", "/hostnames/", "", 404, `{"error":"not_found"}`, ""},
		{"too many segments", "GET", "/hostname/a/b/", "", 404, `{"error":"not_found"}`, ""},
		{"post all", "POST", "/hostname/", "{}", 405, `{"error":"method_not_allowed","detail":"this path allows GET, HEAD, PUT"}`, "GET, HEAD, PUT"},
		{"delete all", "DELETE", "/hostname/", "", 405, "", "GET, HEAD, PUT"},
		{"post one", "POST", "/hostname/ep.io/", "", 405, "", "GET, HEAD, PUT, DELETE"},
		{"put stats", "PUT", "/stats/", "{}", 405, "", "GET, HEAD"},
		{"delete stats", "DELETE", "/stats/ep.io/", "", 405, "", "GET, HEAD"},
		{"lower-case method", "get", "/stats/", "", 405, "", "GET, HEAD"},
		{"405 before hostname check", "POST", "/hostname/a b/", "", 405, "", "GET, HEAD, PUT, DELETE"},
	}
}

func TestAPI(t *testing.T) {
	for _, tt := range apiCases() {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, ServerOptions{})
			w := do(s.Handler(), tt.method, tt.path, tt.body)
			body := w.Body.String()
			assert.Equal(t, tt.status, w.Code, "%s %s %q: body %s", tt.method, tt.path, tt.body, body)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			assert.True(t, json.Valid([]byte(body)), "body is not JSON: %q", body)
			if tt.want != "" {
				assert.JSONEq(t, tt.want, body, "%s %s %q", tt.method, tt.path, tt.body)
			}
			assert.Equal(t, tt.allow, w.Header().Get("Allow"))
			if tt.status == http.StatusMethodNotAllowed {
				assert.Len(t, w.Header().Values("Allow"), 1, "a 405 carries Allow (empty when no method is allowed)")
			}
			if tt.status != 200 {
				var e api.Error
				require.NoError(t, json.Unmarshal([]byte(body), &e))
				assert.NotEmpty(t, e.Code, "error answer without a code: %s", body)
			}
		})
	}
}

// TestAPIRuleCodes checks that every actions code passes through, with the
// host, for a single PUT and for that rule inside a bulk PUT.
func TestAPIRuleCodes(t *testing.T) {
	for _, tt := range []struct{ body, code string }{
		{`[`, actions.CodeBadJSON},
		{`{}`, actions.CodeHostDetailsNotList},
		{`["spin",{}]`, actions.CodeHostDetailsWrongLength},
		{`["fly",{},true]`, actions.CodeHostActionInvalid},
		{`["spin",[],true]`, actions.CodeHostKwargsNotDict},
		{`["spin",{},"yes"]`, actions.CodeHostMatchSubdomainsNotBool},
		{`["spin",{"code":1},true]`, actions.CodeHostOptionUnknown},
		{`["redirect",{},true]`, actions.CodeHostOptionMissing},
		{`["proxy",{"backends":[]},true]`, actions.CodeHostOptionInvalid},
		// Hostile values named by issue 3: none may reach a response or a file.
		{`["static",{"type":"../../etc/passwd"},false]`, actions.CodeHostOptionInvalid},
		{`["static",{"type":"a/b"},false]`, actions.CodeHostOptionInvalid},
		{`["redirect",{"redirect_to":"http://x.io/\r\nSet-Cookie: a=b"},false]`, actions.CodeHostOptionInvalid},
		{`["redirect",{"redirect_to":"x.io\n"},false]`, actions.CodeHostOptionInvalid},
		{`["empty",{"code":"403\r\nX: y"},false]`, actions.CodeHostOptionInvalid},
		{`["empty",{"code":"abc"},false]`, actions.CodeHostOptionInvalid},
		{`["empty",{"code":[403]},false]`, actions.CodeHostOptionInvalid},
		{`["spin",{"check_interval":0},false]`, actions.CodeHostOptionInvalid},
		{`["spin",{"timeout":"soon"},false]`, actions.CodeHostOptionInvalid},
		{`["proxy",{"backends":[["a.io","http"]]},false]`, actions.CodeHostOptionInvalid},
		{`["proxy",{"backends":"a.io:80"},false]`, actions.CodeHostOptionInvalid},
		{`[1,{},false]`, actions.CodeHostActionInvalid},
	} {
		s, store := newTestServer(t, ServerOptions{})
		before := store.rules()
		w := do(s.Handler(), "PUT", "/hostname/New.io/", tt.body)
		var e api.Error
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), "body %s", w.Body)
		assert.Equal(t, 400, w.Code, "single PUT %s", tt.body)
		assert.Equal(t, tt.code, e.Code, "single PUT %s", tt.body)
		assert.Equal(t, "new.io", e.Host, "single PUT %s", tt.body)
		if tt.code == actions.CodeBadJSON {
			continue
		}
		w = do(s.Handler(), "PUT", "/hostname/", `{"ok.io":`+emptyRule+`,"Bad.io":`+tt.body+`}`)
		e = api.Error{}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), "body %s", w.Body)
		assert.Equal(t, 400, w.Code, "bulk PUT %s", tt.body)
		assert.Equal(t, tt.code, e.Code, "bulk PUT %s", tt.body)
		assert.Equal(t, "Bad.io", e.Host, "bulk PUT names the entry as sent")
		assert.NotEmpty(t, e.Detail)
		assert.Equal(t, before, store.rules(), "a refused PUT changed the rules")
	}
}

func TestAPIBulkPut(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		status     int
		code, host string
	}{
		{"replace", `{"a.io":` + emptyRule + `,"HTTP://B.io.":` + proxyRule + `}`, 200, "", ""},
		{"empty object clears", `{}`, 200, "", ""},
		{"not JSON", `{"a.io":`, 400, api.CodeBadJSON, ""},
		{"empty body", ``, 400, api.CodeBadJSON, ""},
		{"trailing data", `{} {}`, 400, api.CodeBadJSON, ""},
		{"raw control byte", "{\"a.io\":[\"static\",{\"type\":\"a\x01\"},false]}", 400, api.CodeBadJSON, ""},
		{"too deep", `{"a.io":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, 400, api.CodeBadJSON, ""},
		{"list", `[]`, 400, api.CodeBodyNotADict, ""},
		{"null", `null`, 400, api.CodeBodyNotADict, ""},
		{"string", `"x"`, 400, api.CodeBodyNotADict, ""},
		{"invalid host", `{"a.io":` + emptyRule + `,"a b":` + emptyRule + `}`, 400, api.CodeHostnameInvalid, "a b"},
		{"first bad entry wins", `{"z z":` + emptyRule + `,"a.io":["fly",{},true]}`, 400, api.CodeHostnameInvalid, "z z"},
		{"control bytes quoted", `{"a\u0000b":` + emptyRule + `}`, 400, api.CodeHostnameInvalid, `"a\x00b"`},
		{"same name twice", `{"a.io":` + emptyRule + `,"a.io":` + emptyRule + `}`, 400, api.CodeHostnameDuplicate, "a.io"},
		{"same key twice", `{"a.io":` + emptyRule + `,"A.IO.":` + emptyRule + `}`, 400, api.CodeHostnameDuplicate, "a.io"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, store := newTestServer(t, ServerOptions{})
			before := store.rules()
			w := do(s.Handler(), "PUT", "/hostname", tt.body)
			assert.Equal(t, tt.status, w.Code, "body %q: answer %s", tt.body, w.Body)
			if tt.status == 200 {
				assert.JSONEq(t, `{"ok":true}`, w.Body.String())
				var sent map[string]json.RawMessage
				require.NoError(t, json.Unmarshal([]byte(tt.body), &sent))
				got := do(s.Handler(), "GET", "/hostname/", "")
				var back map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(got.Body.Bytes(), &back))
				assert.Len(t, back, len(sent))
				return
			}
			var e api.Error
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), "body %s", w.Body)
			assert.Equal(t, tt.code, e.Code, "body %q", tt.body)
			assert.Equal(t, tt.host, e.Host, "body %q", tt.body)
			assert.Equal(t, before, store.rules(), "a refused bulk PUT changed the rules")
			assert.False(t, bytes.ContainsFunc(w.Body.Bytes(), func(r rune) bool { return r < 0x20 }), "control bytes in %q", w.Body)
		})
	}
}

// TestAPIBulkKeepsStats checks SPEC §6 through the API: a bulk PUT keeps
// the counters of hosts that stay.
func TestAPIBulkKeepsStats(t *testing.T) {
	s, store := newTestServer(t, ServerOptions{})
	h, _ := store.table.Get("ep.io")
	store.table.Counters().Slot(0, h.Stat).Begin(100)
	store.table.Counters().Slot(0, h.Stat).End(true)
	w := do(s.Handler(), "PUT", "/hostname/", `{"ep.io":`+emptyRule+`}`)
	require.Equal(t, 200, w.Code, w.Body.String())
	w = do(s.Handler(), "GET", "/stats/ep.io/", "")
	assert.JSONEq(t, `{"open_requests":0,"completed_requests":1,"bytes_sent":0,"bytes_received":100}`, w.Body.String())
	w = do(s.Handler(), "GET", "/stats/localhost/", "")
	assert.JSONEq(t, `{}`, w.Body.String(), "stats of a removed host")
}

// TestAPIBodyLimits checks MaxBodyBytes and MaxRuleBytes at N-1, N and N+1
// bytes, with and without a Content-Length.
func TestAPIBodyLimits(t *testing.T) {
	rule := emptyRule
	bulk := `{"a.io":` + emptyRule + `}`
	for _, tt := range []struct {
		name, path, body string
		opts             ServerOptions
	}{
		{"bulk", "/hostname/", bulk, ServerOptions{MaxBodyBytes: int64(len(bulk))}},
		{"one", "/hostname/a.io/", rule, ServerOptions{MaxRuleBytes: int64(len(rule))}},
	} {
		for _, extra := range []int{-1, 0, 1} {
			for _, chunked := range []bool{false, true} {
				body := tt.body + strings.Repeat(" ", max(extra, 0))
				opts := tt.opts
				if extra < 0 {
					opts.MaxBodyBytes, opts.MaxRuleBytes = opts.MaxBodyBytes+1, opts.MaxRuleBytes+1
				}
				s, _ := newTestServer(t, opts)
				req := httptest.NewRequest("PUT", "http://localhost"+tt.path, strings.NewReader(body))
				if chunked {
					req.ContentLength = -1
					req.Body = io.NopCloser(strings.NewReader(body))
				}
				w := httptest.NewRecorder()
				s.Handler().ServeHTTP(w, req)
				want := 200
				if extra > 0 {
					want = 413
				}
				assert.Equal(t, want, w.Code, "%s: limit%+d, chunked %v: %s", tt.name, -extra, chunked, w.Body)
				if want == 413 {
					assert.Contains(t, w.Body.String(), `"error":"body_too_large"`)
				}
			}
		}
	}
}

func TestAPIHead(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{})
	for _, path := range []string{"/hostname/", "/hostname/ep.io/", "/stats/", "/stats/ep.io/"} {
		w := do(s.Handler(), "HEAD", path, "")
		assert.Equal(t, 200, w.Code, path)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"), path)
	}
}

func TestAPIPutIsLive(t *testing.T) {
	var ch changes
	rules := newRules(1, ch.record)
	s := NewServer(rules.table, rules.store, ServerOptions{})
	w := do(s.Handler(), "PUT", "/hostname/http:%2F%2FEP.io/", redirectRule)
	require.Equal(t, 200, w.Code, w.Body.String())
	h, ok := rules.table.Get("http://ep.io")
	require.True(t, ok, "a 200 is live in the table the loops read")
	assert.True(t, h.Subdomains)
	assert.Equal(t, redirectRule, string(h.Unpack().AppendJSON(nil)))
	assert.Equal(t, []string{"http://ep.io"}, ch.get())
	do(s.Handler(), "PUT", "/hostname/", `{}`)
	assert.Equal(t, []string{"http://ep.io", ""}, ch.get())
}

func TestAPIStatsShadowedUnknown(t *testing.T) {
	s, store := newTestServer(t, ServerOptions{})
	_, err := store.store.Set(context.Background(), "unknown", mustRule(t, emptyRule), storepkg.Cond{})
	require.NoError(t, err)
	store.table.Counters().Slot(0, 0).Begin(5)
	w := do(s.Handler(), "GET", "/stats/", "")
	var all map[string]api.Stats
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &all), w.Body.String())
	assert.Len(t, all, 4, "one entry per rule; the rule named unknown takes the key")
	assert.Equal(t, api.Stats{}, all["unknown"])
}

// TestServeAndShutdown runs the API on real loopback listeners: raw
// requests with "//" in the path route as they should, and Shutdown closes
// every listener and returns after the handlers.
func TestServeAndShutdown(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	var lns []net.Listener
	done := make(chan error, 2)
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		go func() { done <- s.Serve(ln) }()
	}
	for _, ln := range lns {
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		req := "GET /hostname/http://ep.io HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
		_, err = conn.Write([]byte(req))
		require.NoError(t, err)
		resp, err := io.ReadAll(conn)
		require.NoError(t, err)
		conn.Close()
		assert.Contains(t, string(resp), "HTTP/1.1 200 OK")
		assert.Contains(t, string(resp), redirectRule)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))
	for range lns {
		select {
		case err := <-done:
			assert.NoError(t, err, "Serve after Shutdown")
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return after Shutdown")
		}
	}
	for _, ln := range lns {
		_, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		assert.Error(t, err, "listener %s still open", ln.Addr())
	}
}

// TestShutdownWaitsForHandlers holds a bulk PUT open (its body half sent)
// and checks that a Shutdown whose context ends closes the connection and
// still waits for the handler to return.
func TestShutdownWaitsForHandlers(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("PUT /hostname/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.active == 1
	}, 5*time.Second, time.Millisecond, "handler did not start")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.Shutdown(ctx), context.DeadlineExceeded)
	s.mu.Lock()
	assert.Equal(t, 0, s.active, "Shutdown returned before the handler")
	s.mu.Unlock()
	assert.NoError(t, <-done)
}

func TestServerOptions(t *testing.T) {
	assert.NoError(t, ServerOptions{}.Validate())
	assert.Error(t, ServerOptions{MaxBodyBytes: -1}.Validate())
	assert.Error(t, ServerOptions{IdleTimeout: -time.Second}.Validate())
	assert.Error(t, ServerOptions{BodyTimeout: -time.Second}.Validate())
	assert.Error(t, ServerOptions{Token: "two words"}.Validate())
	assert.Error(t, ServerOptions{Hosts: []string{"api.example:8042"}}.Validate())
	assert.NoError(t, ServerOptions{Token: "s3cret", Hosts: []string{"api.example", "[fd00::1]", "10.0.0.1"}}.Validate())
	o := ServerOptions{MaxBodyBytes: -5, BodyTimeout: time.Second}.withDefaults()
	assert.Equal(t, int64(DefaultMaxBodyBytes), o.MaxBodyBytes)
	assert.Equal(t, int64(DefaultMaxRuleBytes), o.MaxRuleBytes)
	assert.Equal(t, time.Second, o.BodyTimeout)
	assert.Equal(t, DefaultWriteTimeout, o.WriteTimeout)
	assert.Equal(t, DefaultIdleTimeout, o.IdleTimeout)
	assert.NotNil(t, o.Logger)
}

func TestSafeText(t *testing.T) {
	long := strings.Repeat("a", maxSafeText+1)
	for _, tt := range []struct{ in, want string }{
		{"ep.io", "ep.io"},
		{"a b", "a b"},
		{"a\x00b", `"a\x00b"`},
		{"é", `"\u00e9"`},
		{strings.Repeat("a", maxSafeText), strings.Repeat("a", maxSafeText)},
		{long, strconv.Quote(long[:maxSafeText/4]) + "..."},
	} {
		assert.Equal(t, tt.want, safeText(tt.in), "input %q", tt.in)
	}
}
