package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/static"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// client is one raw keep-alive connection to mantrid.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func newClient(t *testing.T, addr string) *client {
	c := dial(t, addr)
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// send writes raw bytes.
func (cl *client) send(raw string) {
	cl.t.Helper()
	_, err := io.WriteString(cl.c, raw)
	require.NoError(cl.t, err)
}

// read reads one response (to a request of method) with its whole body.
func (cl *client) read(method string) (*http.Response, string) {
	cl.t.Helper()
	resp, err := http.ReadResponse(cl.br, &http.Request{Method: method})
	require.NoError(cl.t, err, "reading a response")
	body, err := io.ReadAll(resp.Body)
	require.NoError(cl.t, err, "reading a body")
	return resp, string(body)
}

// get sends a GET for host and path and reads the answer.
func (cl *client) get(host, path string, extra ...string) (*http.Response, string) {
	cl.t.Helper()
	cl.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + strings.Join(extra, "") + "\r\n")
	return cl.read("GET")
}

// closedByPeer reports whether the server closed the connection (EOF or
// reset) within a second.
func (cl *client) closedByPeer() bool {
	_ = cl.c.SetReadDeadline(time.Now().Add(time.Second))
	var b [1]byte
	_, err := cl.br.Read(b[:])
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// routingState is the SPEC §3 rule set, with the real actions: spin
// (timeout 0.3 s, so a held request shows as the timeout page), redirect,
// proxy (to a backend answering 299) and empty. %d is the backend's port.
const routingState = `{"hosts": {
 "localhost": ["empty", {"code": 402}, false],
 "local.ep.io": ["spin", {"timeout": 0.3}, true],
 "http://ep.io": ["redirect", {"redirect_to": "https://ep.io"}, true],
 "ep.io": ["proxy", {"backends": [["127.0.0.1", %d]]}, true]
}, "stats": {}}`

// statusBackend answers every request with status 299 (what "proxied"
// looks like in the routing test).
func statusBackend(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func builtinStatus(t *testing.T, name string) int {
	pages, err := static.Load("")
	require.NoError(t, err)
	p, ok := pages.Get(name)
	require.True(t, ok, "built-in page %s", name)
	return p.Status
}

func TestRoutingSpecExamples(t *testing.T) {
	p := startMantrid(t, "", fmt.Sprintf(routingState, statusBackend(t)))
	unknown := builtinStatus(t, static.Unknown)
	spin := builtinStatus(t, static.Timeout) // held, then timed out
	cases := []struct {
		name, host string
		internal   bool
		extra      string
		want       int
	}{
		{"exact without subdomains", "localhost", false, "", 402},
		{"subdomain of a no-subdomain rule", "sub.localhost", false, "", unknown},
		{"exact with subdomains (spin)", "local.ep.io", false, "", spin},
		{"deep subdomain (spin)", "multi.level.sub.local.ep.io", false, "", spin},
		{"http key over http", "ep.io", false, "", 302},
		{"bare key over https (proxy)", "ep.io", true, "X-Forwarded-Proto: https\r\n", 299},
		{"ssl counts as https", "ep.io", true, "X-Forwarded-Protocol: ssl\r\n", 299},
		{"internal without proto is http", "ep.io", true, "", 302},
		{"public listener ignores X-Forwarded-Proto", "ep.io", false, "X-Forwarded-Proto: https\r\n", 302},
		{"subdomain over http", "sub.ep.io", false, "", 302},
		{"no match", "i-love-bees.com", false, "", unknown},
		{"case and port", "EP.IO:8080", false, "", 302},
		{"trailing dot", "localhost.", false, "", 402},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := p.addr()
			if tc.internal {
				addr = p.internalAddr()
			}
			resp, _ := newClient(t, addr).get(tc.host, "/", tc.extra)
			assert.Equal(t, tc.want, resp.StatusCode, "Host %q internal=%v %q", tc.host, tc.internal, tc.extra)
		})
	}
}

func TestNoRulesAnswersNoHosts(t *testing.T) {
	p := startMantrid(t, "", "")
	resp, body := newClient(t, p.addr()).get("anything.example", "/")
	assert.Equal(t, builtinStatus(t, static.NoHosts), resp.StatusCode)
	assert.NotEmpty(t, body)
}

const answersState = `{"hosts": {
 "empty.test": ["empty", {"code": 403}, false],
 "teapot.test": ["empty", {"code": 410}, false],
 "page.test": ["static", {"type": "test"}, false],
 "missing.test": ["static", {"type": "nosuchpage"}, false],
 "away.test": ["redirect", {"redirect_to": "elsewhere.example/base/"}, false],
 "abs.test": ["redirect", {"redirect_to": "https://secure.example"}, false],
 "nh.test": ["no_hosts", {}, false],
 "unk.test": ["unknown", {}, false]
}, "stats": {}}`

func TestAnswerBytes(t *testing.T) {
	p := startMantrid(t, "", answersState)
	cl := newClient(t, p.addr())

	t.Run("empty", func(t *testing.T) {
		cl.send("GET / HTTP/1.1\r\nHost: empty.test\r\n\r\n")
		line, err := cl.br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "HTTP/1.1 403 Forbidden\r\n", line)
		rest := readHead(t, cl.br)
		assert.Contains(t, rest, "Content-Length: 0\r\n")
		assert.NotContains(t, strings.ToLower(rest), "connection: close")
	})
	t.Run("empty reason phrase", func(t *testing.T) {
		resp, body := cl.get("teapot.test", "/")
		assert.Equal(t, "410 Gone", resp.Status)
		assert.Empty(t, body)
	})
	t.Run("static test page", func(t *testing.T) {
		resp, body := cl.get("page.test", "/")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Contains(t, body, "Congratulations")
		assert.Equal(t, int64(len(body)), resp.ContentLength)
	})
	t.Run("static HEAD has no body", func(t *testing.T) {
		cl.send("HEAD / HTTP/1.1\r\nHost: page.test\r\n\r\n")
		resp, body := cl.read("HEAD")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Empty(t, body)
		assert.Greater(t, resp.ContentLength, int64(0), "HEAD keeps the GET's Content-Length")
	})
	t.Run("static missing page", func(t *testing.T) {
		resp, _ := cl.get("missing.test", "/")
		assert.Equal(t, 500, resp.StatusCode)
	})
	t.Run("redirect keeps path and query, scheme from request", func(t *testing.T) {
		resp, _ := cl.get("away.test", "/a/b?x=1&y=2")
		assert.Equal(t, 302, resp.StatusCode)
		assert.Equal(t, "http://elsewhere.example/base/a/b?x=1&y=2", resp.Header.Get("Location"))
		assert.Equal(t, int64(0), resp.ContentLength)
	})
	t.Run("redirect with scheme", func(t *testing.T) {
		resp, _ := cl.get("abs.test", "/p?q")
		assert.Equal(t, "https://secure.example/p?q", resp.Header.Get("Location"))
	})
	t.Run("no_hosts and unknown actions", func(t *testing.T) {
		resp, _ := cl.get("nh.test", "/")
		assert.Equal(t, builtinStatus(t, static.NoHosts), resp.StatusCode)
		resp, _ = cl.get("unk.test", "/")
		assert.Equal(t, builtinStatus(t, static.Unknown), resp.StatusCode)
	})
	t.Run("connection still open after all of the above", func(t *testing.T) {
		resp, _ := cl.get("empty.test", "/")
		assert.Equal(t, 403, resp.StatusCode)
	})

	t.Run("redirect over https via internal listener", func(t *testing.T) {
		resp, _ := newClient(t, p.internalAddr()).get("away.test", "/x", "X-Forwarded-Proto: https\r\n")
		assert.Equal(t, "https://elsewhere.example/base/x", resp.Header.Get("Location"))
	})
}

func readHead(t *testing.T, br *bufio.Reader) string {
	var sb strings.Builder
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		sb.WriteString(line)
		if line == "\r\n" {
			return sb.String()
		}
	}
}

func TestKeepAliveAndClose(t *testing.T) {
	p := startMantrid(t, "", answersState)
	t.Run("HTTP/1.0 closes", func(t *testing.T) {
		cl := newClient(t, p.addr())
		cl.send("GET / HTTP/1.0\r\nHost: empty.test\r\n\r\n")
		resp, _ := cl.read("GET")
		assert.Equal(t, 403, resp.StatusCode)
		assert.True(t, resp.Close, "HTTP/1.0 answer says Connection: close")
		assert.True(t, cl.closedByPeer())
	})
	t.Run("HTTP/1.0 keep-alive stays open", func(t *testing.T) {
		cl := newClient(t, p.addr())
		for _, host := range []string{"empty.test", "page.test", "away.test", "empty.test"} {
			cl.send("GET / HTTP/1.0\r\nHost: " + host + "\r\nConnection: keep-alive\r\n\r\n")
			resp, _ := cl.read("GET")
			assert.False(t, resp.Close, "HTTP/1.0 keep-alive answer for %s", host)
			assert.Equal(t, "keep-alive", resp.Header.Get("Connection"), "answer for %s says keep-alive", host)
		}
	})
	t.Run("Connection: close", func(t *testing.T) {
		cl := newClient(t, p.addr())
		cl.send("GET / HTTP/1.1\r\nHost: empty.test\r\nConnection: close\r\n\r\n")
		resp, _ := cl.read("GET")
		assert.True(t, resp.Close)
		assert.True(t, cl.closedByPeer())
	})
	t.Run("pipelined answers in order", func(t *testing.T) {
		cl := newClient(t, p.addr())
		hosts := []string{"empty.test", "teapot.test", "page.test", "away.test", "unk.test"}
		want := []int{403, 410, 200, 302, builtinStatus(t, static.Unknown)}
		var sb strings.Builder
		for i := range 40 {
			fmt.Fprintf(&sb, "GET /%d HTTP/1.1\r\nHost: %s\r\n\r\n", i, hosts[i%len(hosts)])
		}
		cl.send(sb.String())
		for i := range 40 {
			resp, _ := cl.read("GET")
			assert.Equal(t, want[i%len(want)], resp.StatusCode, "pipelined answer %d", i)
		}
	})
	t.Run("bodies of locally answered requests are skipped", func(t *testing.T) {
		cl := newClient(t, p.addr())
		cl.send("POST / HTTP/1.1\r\nHost: empty.test\r\nContent-Length: 10\r\n\r\n0123456789" +
			"POST / HTTP/1.1\r\nHost: teapot.test\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nGET /\r\n0\r\nTrailer: x\r\n\r\n" +
			"GET / HTTP/1.1\r\nHost: page.test\r\n\r\n")
		for _, want := range []int{403, 410, 200} {
			resp, _ := cl.read("GET")
			assert.Equal(t, want, resp.StatusCode)
		}
	})
	t.Run("a body in pieces is skipped", func(t *testing.T) {
		cl := newClient(t, p.addr())
		cl.send("POST / HTTP/1.1\r\nHost: empty.test\r\nContent-Length: 6\r\n\r\nabc")
		resp, _ := cl.read("GET")
		assert.Equal(t, 403, resp.StatusCode)
		time.Sleep(20 * time.Millisecond)
		cl.send("defGET / HTTP/1.1\r\nHost: teapot.test\r\n\r\n")
		resp, _ = cl.read("GET")
		assert.Equal(t, 410, resp.StatusCode)
	})
}

func TestMalformedRequestsGet4xxAndClose(t *testing.T) {
	p := startMantrid(t, "max_head_size = 4096\nmax_uri_length = 1024\n", answersState)
	cases := []struct {
		name, raw string
		want      int
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: empty.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"differing CL", "POST / HTTP/1.1\r\nHost: empty.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"bad CL", "POST / HTTP/1.1\r\nHost: empty.test\r\nContent-Length: +3\r\n\r\nabc", 400},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: empty.test\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"chunked not last", "POST / HTTP/1.1\r\nHost: empty.test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
		{"bare LF", "GET / HTTP/1.1\nHost: empty.test\n\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: empty.test\r\nX: a\r\n b\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : empty.test\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: empty.test\r\nX: a\x00b\r\n\r\n", 400},
		{"HTTP/1.0 with TE", "POST / HTTP/1.0\r\nHost: empty.test\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: empty.test\r\n\r\n", 505},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
		{"URI too long", "GET /" + strings.Repeat("a", 1100) + " HTTP/1.1\r\nHost: empty.test\r\n\r\n", 414},
		{"head too large", "GET / HTTP/1.1\r\nHost: empty.test\r\nX: " + strings.Repeat("b", 5000) + "\r\n\r\n", 431},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient(t, p.addr())
			cl.send(tc.raw)
			resp, _ := cl.read("GET")
			assert.Equal(t, tc.want, resp.StatusCode, "request %q", tc.raw)
			assert.True(t, resp.Close, "answer says Connection: close")
			assert.True(t, cl.closedByPeer(), "connection closed")
		})
	}
	t.Run("server still answers", func(t *testing.T) {
		resp, _ := newClient(t, p.addr()).get("empty.test", "/")
		assert.Equal(t, 403, resp.StatusCode)
	})
}

func TestHeadAndIdleTimeouts(t *testing.T) {
	p := startMantrid(t, "head_timeout = 0.3\nidle_timeout = 0.5\n", answersState)
	t.Run("partial head gets 408", func(t *testing.T) {
		cl := newClient(t, p.addr())
		start := time.Now()
		cl.send("GET / HTTP/1.1\r\nHost: emp")
		resp, _ := cl.read("GET")
		assert.Equal(t, 408, resp.StatusCode)
		assert.True(t, cl.closedByPeer())
		assert.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("slowloris is cut from the first byte", func(t *testing.T) {
		cl := newClient(t, p.addr())
		start := time.Now()
		head := "GET / HTTP/1.1\r\nHost: empty.test\r\nX-Slow: " + strings.Repeat("z", 200)
		var err error
		for i := 0; i < len(head) && err == nil; i++ {
			_, err = cl.c.Write([]byte{head[i]})
			time.Sleep(10 * time.Millisecond)
		}
		assert.Less(t, time.Since(start), 2*time.Second, "trickling was cut")
	})
	t.Run("idle keep-alive connection closes", func(t *testing.T) {
		cl := newClient(t, p.addr())
		resp, _ := cl.get("empty.test", "/")
		assert.Equal(t, 403, resp.StatusCode)
		_ = cl.c.SetReadDeadline(time.Now().Add(3 * time.Second))
		var b [1]byte
		_, err := cl.br.Read(b[:])
		assert.Error(t, err)
		assert.False(t, isTimeout(err), "closed by mantrid, not by our deadline")
	})
}
