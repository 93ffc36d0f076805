package mgmt

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialAPI opens a raw connection to a test server, closed at the end.
func dialAPI(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	return c
}

// readAnswer reads one answer from c.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// closedAfter reads one answer from c and reports whether the server then
// closed the connection (within 2 s).
func closedAfter(t *testing.T, c net.Conn) (*http.Response, string, bool) {
	t.Helper()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	_, err = br.ReadByte()
	return resp, string(body), err == io.EOF
}

// TestBodyStallIsCutOff: a body that stops arriving gets 400
// body_unreadable and a close once BodyTimeout has passed without a byte,
// for a single-rule PUT, a bulk PUT and an import alike.
func TestBodyStallIsCutOff(t *testing.T) {
	const pause = 300 * time.Millisecond
	s, _ := newTestServer(t, ServerOptions{BodyTimeout: pause})
	addr := serveOn(t, s, "tcp", "127.0.0.1:0")
	for _, path := range []string{"/hostname/ep.io/", "/hostname/", "/state/"} {
		for _, framing := range []string{"Content-Length: 1000\r\n\r\n{", "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"} {
			c := dialAPI(t, addr)
			start := time.Now()
			_, err := io.WriteString(c, "PUT "+path+" HTTP/1.1\r\nHost: localhost\r\n"+framing)
			require.NoError(t, err)
			resp, body, closed := closedAfter(t, c)
			took := time.Since(start)
			assert.Equal(t, 400, resp.StatusCode, "%s %q: %s", path, framing, body)
			assert.Contains(t, body, api.CodeBodyUnreadable, "%s %q", path, framing)
			assert.Contains(t, body, "no byte of the body arrived in time", "%s %q", path, framing)
			assert.True(t, closed, "%s %q: the connection closes", path, framing)
			assert.GreaterOrEqual(t, took, pause, "%s %q: cut before the pause was over", path, framing)
			assert.Less(t, took, pause+2*time.Second, "%s %q: not cut soon after the pause", path, framing)
		}
	}
}

// TestBodySlowButSteady: a body that keeps coming is read whole however
// long it takes in all, here 8 times BodyTimeout and 4 times
// WriteTimeout: the write deadline starts when the body is in.
func TestBodySlowButSteady(t *testing.T) {
	const pause = 250 * time.Millisecond
	s, rules := newTestServer(t, ServerOptions{BodyTimeout: pause, WriteTimeout: 500 * time.Millisecond})
	addr := serveOn(t, s, "tcp", "127.0.0.1:0")
	body := `{"slow.example": ` + emptyRule + `, "ep.io": ` + proxyRule + `}`
	c := dialAPI(t, addr)
	_, err := io.WriteString(c, "PUT /hostname/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
	require.NoError(t, err)
	start := time.Now()
	pieces := 20
	step := (len(body) + pieces - 1) / pieces
	for i := 0; i < len(body); i += step {
		time.Sleep(pause / 2)
		_, err := io.WriteString(c, body[i:min(i+step, len(body))])
		require.NoError(t, err)
	}
	resp, answer := readAnswer(t, c)
	require.Greater(t, time.Since(start), 8*pause, "the body took longer than the pauses allow in all")
	assert.Equal(t, 200, resp.StatusCode, answer)
	assert.Equal(t, emptyRule, rules.get("slow.example"))

	_, err = io.WriteString(c, "GET /hostname/slow.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
	require.NoError(t, err)
	resp, answer = readAnswer(t, c)
	assert.Equal(t, 200, resp.StatusCode, "the connection is still usable")
	assert.Equal(t, emptyRule, answer)
}

// TestRefusedBodyIsNotAwaited: a request refused by Host or token is
// answered at once and its connection closed, without waiting for (or
// reading) the body it announced.
func TestRefusedBodyIsNotAwaited(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{Token: "tok", BodyTimeout: 10 * time.Second})
	addr := serveOn(t, s, "tcp", "127.0.0.1:0")
	for _, head := range []string{
		"PUT /hostname/ HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer tok\r\nContent-Length: 1000\r\n\r\n{",
		"PUT /hostname/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{",
		"PUT /hostname/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer wrong\r\nTransfer-Encoding: chunked\r\n\r\n",
	} {
		c := dialAPI(t, addr)
		start := time.Now()
		_, err := io.WriteString(c, head)
		require.NoError(t, err)
		resp, body, closed := closedAfter(t, c)
		assert.Contains(t, []int{401, 403}, resp.StatusCode, "%q: %s", head, body)
		assert.True(t, closed, "%q: the connection closes", head)
		assert.Less(t, time.Since(start), 2*time.Second, "%q: answered and closed at once", head)
	}
}

// TestBodyEndLiftsTheDeadline: once the body is in, a handler may take
// longer than BodyTimeout without its request being cancelled (the read
// deadline would otherwise fire under net/http's watch for a closed
// connection).
func TestBodyEndLiftsTheDeadline(t *testing.T) {
	const pause = 100 * time.Millisecond
	s, _ := newTestServer(t, ServerOptions{BodyTimeout: pause})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.watchBody(w, r)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		time.Sleep(5 * pause)
		if r.Context().Err() != nil {
			http.Error(w, "cancelled", 500)
			return
		}
		io.WriteString(w, "got "+strconv.Itoa(len(b)))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := dialAPI(t, ln.Addr().String())
	_, err = io.WriteString(c, "PUT / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
	require.NoError(t, err)
	resp, body := readAnswer(t, c)
	assert.Equal(t, 200, resp.StatusCode, body)
	assert.Equal(t, "got 5", strings.TrimSpace(body))
}
