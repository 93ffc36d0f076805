package main

// End-to-end tests of what a proxied request and its answer look like on
// the far side: X-Forwarded-* (SPEC §2), hop-by-hop fields (SPEC §5, RFC
// 9110 §7.6.1) and the request line (RFC 9112 §3.2), as the raw backend
// reads them off the wire.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startForwarding starts a raw recording backend and a Mantrid proxying
// fwd.test to it. The backend echoes every request ("ok ID"), except
// /hop-resp, answered with hop-by-hop fields and Connection: close.
func startForwarding(t *testing.T) (*proc, *rawBackend) {
	t.Helper()
	rb := newRawBackend(t, serveEach(func(rc *rawConn, r *rawRequest) bool {
		if r.Target == "/hop-resp" {
			rc.write("HTTP/1.1 200 OK\r\nConnection: close, X-Hop-Resp, Upgrade\r\nKeep-Alive: timeout=5, max=100\r\n" +
				"X-Hop-Resp: secret\r\nUpgrade: h2c\r\nX-End: kept\r\nX-Echo-Id: " + r.ID + "\r\nContent-Length: 2\r\n\r\nok")
			return false
		}
		rc.write(okAnswer(r))
		return true
	}))
	p := startMantrid(t, "", stateWith(map[string]string{"fwd.test": proxyRule(1, 0, rb.port)}))
	return p, rb
}

// forward sends raw (a request carrying id) on cl, checks that the answer
// is the backend's echo, and returns the request as the backend read it.
func forward(t *testing.T, cl *client, rb *rawBackend, raw, id string) *rawRequest {
	t.Helper()
	method, _, _ := strings.Cut(raw, " ")
	cl.send(raw)
	resp, body := cl.read(method)
	require.Equal(t, 200, resp.StatusCode, "answer to %q: body %q", raw, body)
	require.Equal(t, "ok "+id, body, "answer to %q", raw)
	reqs := rb.byID(id)
	require.Len(t, reqs, 1, "requests with id %s at the backend", id)
	assert.NoError(t, reqs[0].FramingErr, "framing of the forwarded request:\n%s", reqs[0].Head)
	return reqs[0]
}

// TestForwardedHeaders: on bind the client's X-Forwarded-For/-Proto/
// -Protocol are replaced by the client's address and http; on
// bind_internal they are kept as sent.
func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	p, rb := startForwarding(t)
	spoof := "X-Forwarded-For: 1.2.3.4\r\nx-forwarded-for: 5.6.7.8\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Protocol: ssl\r\n"
	cases := []struct {
		name         string
		internal     bool
		sent         string
		xff, xfp     []string
		xfProtocolOK func([]string) bool
	}{
		{"bind replaces what the client sent", false, spoof, []string{"127.0.0.1"}, []string{"http"}, absentOrHTTP},
		{"bind sets them when absent", false, "", []string{"127.0.0.1"}, []string{"http"}, absentOrHTTP},
		{"bind_internal keeps them as sent", true,
			"X-Forwarded-For: 203.0.113.7, 198.51.100.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Protocol: ssl\r\n",
			[]string{"203.0.113.7, 198.51.100.2"}, []string{"https"},
			func(v []string) bool { return len(v) == 1 && v[0] == "ssl" }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := p.addr()
			if tc.internal {
				addr = p.internalAddr()
			}
			id := fmt.Sprintf("xf-%d", i)
			r := forward(t, newClient(t, addr), rb, reqGET("fwd.test", "/xf", id, tc.sent), id)
			assert.Equal(t, tc.xff, r.values("X-Forwarded-For"), "X-Forwarded-For at the backend; client sent %q", tc.sent)
			assert.Equal(t, tc.xfp, r.values("X-Forwarded-Proto"), "X-Forwarded-Proto at the backend; client sent %q", tc.sent)
			assert.True(t, tc.xfProtocolOK(r.values("X-Forwarded-Protocol")),
				"X-Forwarded-Protocol at the backend: %q; client sent %q", r.values("X-Forwarded-Protocol"), tc.sent)
		})
	}
}

// absentOrHTTP accepts an X-Forwarded-Protocol that Mantrid removed or set
// to http itself (SPEC §2 only says the client's is removed).
func absentOrHTTP(v []string) bool { return len(v) == 0 || len(v) == 1 && v[0] == "http" }

// TestForwardHopByHopRequestHeaders: Connection, the fields it lists,
// Keep-Alive, Proxy-Connection, TE (other than trailers) and Upgrade (when
// not upgrading) never reach the backend; end-to-end fields do.
func TestForwardHopByHopRequestHeaders(t *testing.T) {
	t.Parallel()
	p, rb := startForwarding(t)
	cl := newClient(t, p.addr())
	cases := []struct {
		name, sent string
		removed    []string
	}{
		{"Connection lists fields", "Connection: keep-alive, X-Hop-A, x-hop-b\r\nX-Hop-A: 1\r\nX-Hop-B: 2\r\n", []string{"X-Hop-A", "X-Hop-B"}},
		{"Connection over two lines, any case", "connection: X-HOP-A\r\nCONNECTION: x-Hop-B\r\nx-hop-a: 1\r\nX-HOP-B: 2\r\n", []string{"X-Hop-A", "X-Hop-B"}},
		{"Keep-Alive and Proxy-Connection", "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n", []string{"Keep-Alive", "Proxy-Connection"}},
		{"TE with trailers", "TE: trailers, deflate;q=0.5\r\nConnection: TE\r\n", nil},
		{"TE without trailers", "TE: gzip\r\nConnection: TE\r\n", nil},
		{"Upgrade without Connection: upgrade", "Upgrade: websocket\r\n", []string{"Upgrade"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("hop-%d", i)
			r := forward(t, cl, rb, reqGET("fwd.test", "/hop", id, tc.sent, "X-End-To-End: kept\r\n"), id)
			for _, name := range tc.removed {
				assert.Empty(t, r.values(name), "%s reached the backend; client sent %q; backend got:\n%s", name, tc.sent, r.Head)
			}
			te := r.values("TE")
			assert.True(t, len(te) == 0 || len(te) == 1 && strings.EqualFold(te[0], "trailers"),
				"TE at the backend %q, want none or trailers; client sent %q", te, tc.sent)
			if len(te) > 0 {
				assert.True(t, hasToken(r.values("Connection"), "te"), "TE sent without a TE connection option (RFC 9110 §10.1.4)")
			}
			for _, v := range r.values("Connection") {
				for _, tok := range strings.Split(v, ",") {
					tok = strings.ToLower(strings.TrimSpace(tok))
					assert.Contains(t, []string{"keep-alive", "close", "te"}, tok,
						"Connection option %q at the backend is the client's; client sent %q", tok, tc.sent)
				}
			}
			assert.Equal(t, []string{"kept"}, r.values("X-End-To-End"), "end-to-end field")
			assert.Equal(t, []string{"fwd.test"}, r.values("Host"))
			assert.Equal(t, "GET /hop HTTP/1.1", r.Line)
		})
	}
}

// TestForwardProtectedHeadersInConnection: a client listing framing or
// routing fields in Connection cannot make Mantrid drop them: the body
// still arrives intact, Host stays, X-Forwarded-For stays Mantrid's (bind)
// or the terminator's (bind_internal).
func TestForwardProtectedHeadersInConnection(t *testing.T) {
	t.Parallel()
	p, rb := startForwarding(t)
	cases := []struct {
		name     string
		internal bool
		raw      string
		check    func(t *testing.T, r *rawRequest)
	}{
		{"Content-Length", false,
			"POST /p HTTP/1.1\r\nHost: fwd.test\r\nX-Req-Id: %s\r\nConnection: keep-alive, Content-Length\r\nContent-Length: 11\r\n\r\nhello world",
			func(t *testing.T, r *rawRequest) { assert.Equal(t, "hello world", string(r.Body)) }},
		{"Transfer-Encoding", false,
			"POST /p HTTP/1.1\r\nHost: fwd.test\r\nX-Req-Id: %s\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
			func(t *testing.T, r *rawRequest) { assert.Equal(t, "hello world", string(r.Body)) }},
		{"Host", false,
			"GET /p HTTP/1.1\r\nHost: fwd.test\r\nX-Req-Id: %s\r\nConnection: Host\r\n\r\n",
			func(t *testing.T, r *rawRequest) { assert.Equal(t, []string{"fwd.test"}, r.values("Host")) }},
		{"X-Forwarded-For on bind", false,
			"GET /p HTTP/1.1\r\nHost: fwd.test\r\nX-Req-Id: %s\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
			func(t *testing.T, r *rawRequest) {
				assert.Equal(t, []string{"127.0.0.1"}, r.values("X-Forwarded-For"))
				assert.Equal(t, []string{"http"}, r.values("X-Forwarded-Proto"))
			}},
		{"X-Forwarded-For on bind_internal", true,
			"GET /p HTTP/1.1\r\nHost: fwd.test\r\nX-Req-Id: %s\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n",
			func(t *testing.T, r *rawRequest) {
				assert.Equal(t, []string{"203.0.113.9"}, r.values("X-Forwarded-For"))
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := p.addr()
			if tc.internal {
				addr = p.internalAddr()
			}
			cl := newClient(t, addr)
			id := fmt.Sprintf("prot-%d", i)
			raw := fmt.Sprintf(tc.raw, id)
			r := forward(t, cl, rb, raw, id)
			tc.check(t, r)
			forward(t, cl, rb, reqGET("fwd.test", "/next", id+"-next"), id+"-next")
		})
	}
}

// TestForwardHopByHopResponseHeaders: the backend's Connection: close,
// Keep-Alive and the fields its Connection lists do not reach the client,
// and the backend closing does not close the client's connection.
func TestForwardHopByHopResponseHeaders(t *testing.T) {
	t.Parallel()
	p, rb := startForwarding(t)
	cl := newClient(t, p.addr())
	for round := range 2 {
		cl.send(reqGET("fwd.test", "/hop-resp", fmt.Sprintf("hr-%d", round)))
		resp, body := cl.read("GET")
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "ok", body)
		assert.Equal(t, fmt.Sprintf("hr-%d", round), resp.Header.Get("X-Echo-Id"))
		for _, name := range []string{"Keep-Alive", "X-Hop-Resp", "Upgrade"} {
			assert.Empty(t, resp.Header.Values(name), "the backend's hop-by-hop %s reached the client", name)
		}
		assert.Equal(t, "kept", resp.Header.Get("X-End"), "end-to-end field of the response")
		assert.False(t, resp.Close, "the backend's Connection: close reached the client: %q", resp.Header.Values("Connection"))
		for _, v := range resp.Header.Values("Connection") {
			assert.True(t, strings.EqualFold(strings.TrimSpace(v), "keep-alive"), "Connection at the client: %q", v)
		}
		forward(t, cl, rb, reqGET("fwd.test", "/next", fmt.Sprintf("hr-%d-next", round)), fmt.Sprintf("hr-%d-next", round))
	}
}

// TestForwardRequestLineIsOriginForm: the backend always gets an HTTP/1.1
// origin-form request line, even for an absolute-form target (RFC 9112
// §3.2.2) or an HTTP/1.0 client.
func TestForwardRequestLineIsOriginForm(t *testing.T) {
	t.Parallel()
	p, rb := startForwarding(t)
	cases := []struct {
		name, line, host, want string
	}{
		{"origin-form", "GET /plain?x=1 HTTP/1.1", "fwd.test", "GET /plain?x=1 HTTP/1.1"},
		{"absolute-form", "GET http://fwd.test/abs/path?q=1 HTTP/1.1", "fwd.test", "GET /abs/path?q=1 HTTP/1.1"},
		{"absolute-form with port", "GET http://fwd.test:8080/p HTTP/1.1", "fwd.test:8080", "GET /p HTTP/1.1"},
		{"absolute-form root", "POST http://fwd.test/ HTTP/1.1", "fwd.test", "POST / HTTP/1.1"},
		{"HTTP/1.0 client", "GET /old HTTP/1.0", "fwd.test", "GET /old HTTP/1.1"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("line-%d", i)
			body := ""
			if strings.HasPrefix(tc.line, "POST") {
				body = "Content-Length: 0\r\n"
			}
			raw := tc.line + "\r\nHost: " + tc.host + "\r\n" + reqIDHeader + ": " + id + "\r\n" + body + "\r\n"
			r := forward(t, newClient(t, p.addr()), rb, raw, id)
			assert.Equal(t, tc.want, r.Line, "request line at the backend; client sent %q", tc.line)
			assert.Equal(t, []string{tc.host}, r.values("Host"), "Host at the backend")
		})
	}
}

// TestForwardDropsUnderscoreLookalikes: a field that spells a field Mantrid
// controls with '_' for '-' never reaches the backend (a CGI-style backend
// would read X_Forwarded_For as X-Forwarded-For); other underscore names do.
func TestForwardDropsUnderscoreLookalikes(t *testing.T) {
	t.Parallel()
	p, rb := startForwarding(t)
	dropped := []string{"X_Forwarded_For", "x_forwarded_proto", "Transfer_Encoding", "Content_Length",
		"X-Forwarded_For", "Proxy_Connection", "Keep_Alive"}
	sent := ""
	for _, name := range dropped {
		sent += name + ": 6.6.6.6\r\n"
	}
	sent += "X_Custom_Field: kept\r\nHost_: kept-too\r\n"
	r := forward(t, newClient(t, p.addr()), rb, reqGET("fwd.test", "/us", "us-1", sent), "us-1")
	for _, name := range dropped {
		assert.Empty(t, r.values(name), "%s reached the backend:\n%s", name, r.Head)
	}
	assert.Equal(t, []string{"127.0.0.1"}, r.values("X-Forwarded-For"))
	assert.Equal(t, []string{"kept"}, r.values("X_Custom_Field"))
	assert.Equal(t, []string{"kept-too"}, r.values("Host_"))
}
