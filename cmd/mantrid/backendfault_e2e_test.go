package main

// Backend misbehaviour (issue 6; SPEC §9 promises 3, 9, 10 and 11) against
// the real binary, beyond what proxy_e2e_test.go covers (an invalid status
// line or Content-Length, CL with TE, a cut body, a bad chunk size, a hang,
// a close without an answer). Each case checks what the client gets, the
// state of its connection afterwards, that Mantrid lets go of the
// misbehaving backend connection, and that open_requests returns to 0.
//
// A rawBackend here serves the cases of one test, told apart by the
// request path; every test runs its own mantrid and calls t.Parallel.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eofTracker records, per request id, that the backend connection that
// served it was closed by Mantrid.
type eofTracker struct {
	mu   sync.Mutex
	eofs map[string]chan struct{}
}

func newEOFTracker() *eofTracker { return &eofTracker{eofs: map[string]chan struct{}{}} }

func (e *eofTracker) ch(id string) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.eofs[id]
	if !ok {
		c = make(chan struct{})
		e.eofs[id] = c
	}
	return c
}

// waitEOF reads rc until Mantrid closes it, then marks id's connection
// closed.
func (e *eofTracker) waitEOF(rc *rawConn, id string) {
	_ = rc.waitEOF()
	close(e.ch(id))
}

// assertClosed checks that Mantrid closed the backend connection of id
// within 5 s.
func (e *eofTracker) assertClosed(t *testing.T, id, why string) {
	t.Helper()
	select {
	case <-e.ch(id):
	case <-time.After(5 * time.Second):
		t.Errorf("%s: Mantrid kept its connection to the backend (%s)", id, why)
	}
}

// exactHead returns a response head of exactly size bytes with fields
// header fields in all (Content-Length: 2 and padding fields); the body
// "ok" follows.
func exactHead(size, fields int) string {
	var sb strings.Builder
	sb.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
	for i := range fields - 2 {
		fmt.Fprintf(&sb, "X-F%03d: v\r\n", i)
	}
	const padName = "X-Pad: "
	pad := size - sb.Len() - len(padName) - len("\r\n\r\n")
	sb.WriteString(padName + strings.Repeat("p", max(pad, 1)) + "\r\n\r\n")
	return sb.String() + "ok"
}

// TestBackendFaultOversizedResponseHead: a backend's response head is held
// to max_head_size and max_headers, as a request head is: up to the limit
// it is relayed; one byte or one field over, the client gets 502 and a close,
// and the backend connection is closed. A head that never ends is refused
// as soon as it passes the limit, not at backend_timeout.
func TestBackendFaultOversizedResponseHead(t *testing.T) {
	t.Parallel()
	const maxHead, maxFields = 4096, 20
	answers := map[string]string{
		"/size-under-limit":   exactHead(maxHead-1, 3),
		"/size-at-limit":      exactHead(maxHead, 3),
		"/size-over-limit":    exactHead(maxHead+1, 3),
		"/fields-under-limit": exactHead(2048, maxFields-1),
		"/fields-at-limit":    exactHead(2048, maxFields),
		"/fields-over-limit":  exactHead(2048, maxFields+1),
		"/endless":            "HTTP/1.1 200 OK\r\nX-Endless: " + strings.Repeat("e", 1<<20),
	}
	eofs := newEOFTracker()
	rb := newRawBackend(t, serveEach(func(rc *rawConn, r *rawRequest) bool {
		rc.write(answers[r.Target])
		if !strings.HasSuffix(r.Target, "-over-limit") && r.Target != "/endless" {
			return true // a good answer: the connection may serve more
		}
		eofs.waitEOF(rc, r.ID)
		return false
	}))
	p := startMantrid(t, fmt.Sprintf("max_head_size = %d\nmax_uri_length = 1024\nmax_headers = %d\nbackend_timeout = 10\n", maxHead, maxFields),
		stateWith(map[string]string{"big.test": proxyRule(1, 0, rb.port)}))
	require.Len(t, exactHead(maxHead, 3), maxHead+2)
	cases := []struct {
		path string
		want int
	}{
		{"/size-under-limit", 200},
		{"/size-at-limit", 200},
		{"/size-over-limit", 502},
		{"/fields-under-limit", 200},
		{"/fields-at-limit", 200},
		{"/fields-over-limit", 502},
		{"/endless", 502},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			id := "head" + strings.ReplaceAll(tc.path, "/", "-")
			cl := newClient(t, p.addr())
			setDeadline(t, cl, 10*time.Second)
			start := time.Now()
			cl.send(reqGET("big.test", tc.path, id))
			resp, body := cl.read("GET")
			assert.Equal(t, tc.want, resp.StatusCode, "answer to a response head %s", tc.path)
			assert.Less(t, time.Since(start), 5*time.Second, "answered long after the head passed the limit (backend_timeout 10 s)")
			if tc.want == 200 {
				assert.Equal(t, "ok", body)
				assert.False(t, resp.Close, "a relayed answer keeps the client connection")
				return
			}
			assert.NotContains(t, body, "pppp", "backend bytes forwarded")
			assert.True(t, resp.Close, "502 says Connection: close")
			assert.True(t, cl.closedByPeer(), "client connection closed after the 502")
			eofs.assertClosed(t, id, "its response head was over the limit")
		})
	}
	assertOpenReturnsToZero(t, p.apiURL(), "big.test")
}

// TestBackendFaultFramingConflicts: responses whose framing is ambiguous
// (RFC 9112 §6.3) are never relayed; Mantrid answers 502 and closes, as the
// README says ("both Content-Length and Transfer-Encoding ... give 502").
// proxy_e2e_test.go has Content-Length before Transfer-Encoding; these are
// the other orders and forms a desync attack would use.
func TestBackendFaultFramingConflicts(t *testing.T) {
	t.Parallel()
	const smuggled = "0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"
	answers := map[string]string{
		"/te-then-cl":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 52\r\n\r\n" + smuggled,
		"/cl0-and-te":   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled,
		"/te-on-1.0":    "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled,
		"/cl-twice-te":  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled,
		"/te-chunked-x": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" + smuggled,
	}
	eofs := newEOFTracker()
	rb := newRawBackend(t, func(rc *rawConn) {
		r, err := rc.readRequest()
		if err != nil {
			return
		}
		rc.write(answers[r.Target])
		eofs.waitEOF(rc, r.ID)
	})
	p := startMantrid(t, "", stateWith(map[string]string{"frame.test": proxyRule(1, 0, rb.port)}))
	for path, sent := range answers {
		t.Run(path, func(t *testing.T) {
			id := "frame" + strings.ReplaceAll(path, "/", "-")
			cl := newClient(t, p.addr())
			setDeadline(t, cl, 10*time.Second)
			cl.send(reqGET("frame.test", path, id))
			resp, body := cl.read("GET")
			assert.Equal(t, 502, resp.StatusCode, "backend sent %q", sent)
			assert.NotContains(t, body, "SMUGGLED")
			assert.True(t, cl.closedByPeer(), "client connection closed after the 502")
			eofs.assertClosed(t, id, "its response framing was ambiguous")
		})
	}
	assertOpenReturnsToZero(t, p.apiURL(), "frame.test")
}

// TestBackendFaultClosesEarly: a backend that closes in the middle of its
// response head gives the client 502 and a close (the request is not
// retried: it was sent); one that closes after a complete head, before
// its body, gives the client that head, a body that ends in an error (never
// a clean end) and a close.
func TestBackendFaultClosesEarly(t *testing.T) {
	t.Parallel()
	answers := map[string]string{
		"/in-status-line": "HTTP/1.1 20",
		"/in-field":       "HTTP/1.1 200 OK\r\nContent-Len",
		"/before-final":   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n",
		"/cl-no-body":     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
		"/chunked-none":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"/chunk-line-cut": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1",
	}
	rb := newRawBackend(t, func(rc *rawConn) {
		if r, err := rc.readRequest(); err == nil {
			rc.write(answers[r.Target]) // then the connection closes
		}
	})
	p := startMantrid(t, "", stateWith(map[string]string{"early.test": proxyRule(3, 0, rb.port)}))
	cases := []struct {
		path    string
		headOut bool // the client gets the head (and then a cut body)
	}{
		{"/in-status-line", false},
		{"/in-field", false},
		{"/before-final", false},
		{"/cl-no-body", true},
		{"/chunked-none", true},
		{"/chunk-line-cut", true},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			id := "early" + strings.ReplaceAll(tc.path, "/", "-")
			cl := newClient(t, p.addr())
			setDeadline(t, cl, 10*time.Second)
			cl.send(reqGET("early.test", tc.path, id))
			resp, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
			require.NoError(t, err, "reading the answer head")
			body, err := io.ReadAll(resp.Body)
			if tc.headOut {
				assert.Equal(t, 200, resp.StatusCode, "the backend's head is relayed before its body")
				assert.Error(t, err, "a body cut by the backend's close must not end cleanly (got %q)", body)
			} else {
				assert.Equal(t, 502, resp.StatusCode, "a head cut by the backend's close")
				assert.NoError(t, err)
			}
			assert.True(t, cl.closedByPeer(), "client connection closed")
			assert.Len(t, rb.byID(id), 1, "the request reached the backend once (attempts 3: never retried once sent)")
		})
	}
	assertOpenReturnsToZero(t, p.apiURL(), "early.test")
}

// earlyOutcome is what a client that posted a body got.
type earlyOutcome struct {
	status int    // 0: no answer
	echo   string // X-Echo-Id of the answer
	err    error  // why no answer
	took   time.Duration
}

// postAndRead posts a Content-Length body of n generated bytes to host
// (streaming it on its own goroutine) and reads one answer, within 10 s.
func postAndRead(addr, host, path, id string, n int64) earlyOutcome {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return earlyOutcome{err: err}
	}
	defer c.Close()
	_ = c.SetDeadline(start.Add(10 * time.Second))
	go func() {
		w := bufio.NewWriterSize(c, 64<<10)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\n%s: %s\r\nContent-Length: %d\r\n\r\n", path, host, reqIDHeader, id, n)
		if _, err := io.Copy(w, genBody(9, n)); err == nil {
			_ = w.Flush()
		}
	}()
	resp, _, err := readResp(bufio.NewReader(c), "POST")
	o := earlyOutcome{err: err, took: time.Since(start)}
	if err == nil {
		o.status, o.echo = resp.StatusCode, resp.Header.Get("X-Echo-Id")
	}
	return o
}

// TestBackendFaultAnswersBeforeBody: a backend that answers a POST before
// reading its body — then drains it and keeps the connection, closes at
// once, or says Connection: close and never reads it — with a small body
// (sent with the head) and an 8 MiB one (still streaming), two clients at
// once. With the small body each client gets the backend's answer. With
// the big one, the backend's answer, or one of Mantrid's own (502, 504),
// or a close (README, Known limitations: an upload being handed to a
// transfer goroutine loses the early answer). Never a hang, never an
// answer to another request, and open_requests returns to 0.
func TestBackendFaultAnswersBeforeBody(t *testing.T) {
	t.Parallel()
	answer := func(rc *rawConn, r *rawRequest, status, extra string) {
		rc.write("HTTP/1.1 " + status + "\r\nContent-Length: 5\r\nX-Echo-Id: " + r.ID + "\r\n" + extra + "\r\nearly")
	}
	behaviours := map[string]func(rc *rawConn){
		"drain": func(rc *rawConn) {
			for {
				// Read the head only: the body is left in the socket.
				head, err := readRawHead(rc.br)
				if err != nil {
					return
				}
				r := parseRawHead(head)
				answer(rc, r, "200 OK", "")
				if _, err := rc.readBody(r); err != nil {
					return
				}
			}
		},
		"close": func(rc *rawConn) {
			if head, err := readRawHead(rc.br); err == nil {
				answer(rc, parseRawHead(head), "200 OK", "")
			}
		},
		"refuse": func(rc *rawConn) {
			if head, err := readRawHead(rc.br); err == nil {
				answer(rc, parseRawHead(head), "413 Content Too Large", "Connection: close\r\n")
				<-rc.b.done // never reads the body, never closes
			}
		},
	}
	type tc struct {
		host, behaviour string
		size            int64
		status          int
	}
	var cases []tc
	rules := map[string]string{}
	for _, size := range []int64{10, 8 << 20} {
		for _, b := range []string{"drain", "close", "refuse"} {
			c := tc{fmt.Sprintf("%s-%d.test", b, size), b, size, 200}
			if b == "refuse" {
				c.status = 413
			}
			cases = append(cases, c)
			rules[c.host] = proxyRule(1, 0, newRawBackend(t, behaviours[b]).port)
		}
	}
	p := startMantrid(t, "backend_timeout = 2\n", stateWith(rules))
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s with a %d-byte body", c.behaviour, c.size), func(t *testing.T) {
			// Two clients at once, so that an answer to the other would show.
			var wg sync.WaitGroup
			out := make([]earlyOutcome, 2)
			for k := range out {
				wg.Go(func() {
					out[k] = postAndRead(p.addr(), c.host, "/post", fmt.Sprintf("%s-%d", c.host, k), c.size)
				})
			}
			wg.Wait()
			for k, o := range out {
				id := fmt.Sprintf("%s-%d", c.host, k)
				t.Logf("%s: status %d, %v, after %v", id, o.status, o.err, o.took.Round(time.Millisecond))
				switch {
				case o.err != nil && c.size > highWaterTest:
					assert.False(t, isTimeout(o.err), "%s: no answer and no close within 10 s: %v", id, o.err)
				case (o.status == 502 || o.status == 504) && c.size > highWaterTest:
					// Mantrid's own answer: the early one was lost.
				default:
					assert.NoError(t, o.err, "%s: the backend's early answer to a body sent with the head", id)
					assert.Equal(t, c.status, o.status, "%s: the backend's early answer", id)
					assert.Equal(t, id, o.echo, "%s: an answer to another request", id)
				}
			}
			assertOpenReturnsToZero(t, p.apiURL(), c.host)
		})
	}
}

// highWaterTest is loop.highWater: a body bigger than this can be handed
// to a transfer goroutine.
const highWaterTest = 128 << 10

// readRawHead reads one request head (through the blank line).
func readRawHead(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		line, err := br.ReadString('\n')
		sb.WriteString(line)
		if err != nil {
			return "", err
		}
		if line == "\r\n" {
			return sb.String(), nil
		}
	}
}

// TestBackendFaultStopsReadingUpload: a backend that reads a request's
// head and then neither reads its 8 MiB body nor answers. Mantrid buffers
// at most about 128 KiB of the body for it before the client's bytes wait
// in the kernel, and gives up after backend_timeout without progress: the
// client's connection is closed (it has no answer) and open_requests
// returns to 0 — never a hang.
func TestBackendFaultStopsReadingUpload(t *testing.T) {
	t.Parallel()
	const backendTimeout = time.Second
	got := make(chan struct{}, 1)
	rb := newRawBackend(t, func(rc *rawConn) {
		if _, err := readRawHead(rc.br); err != nil {
			return
		}
		got <- struct{}{}
		<-rc.b.done // reads nothing more until the test ends
	})
	p := startMantrid(t, "backend_timeout = 1\n", stateWith(map[string]string{"stuck.test": proxyRule(1, 0, rb.port)}))
	o := postAndRead(p.addr(), "stuck.test", "/up", "stuck-1", 8<<20)
	t.Logf("status %d, %v, after %v", o.status, o.err, o.took.Round(time.Millisecond))
	select {
	case <-got:
	default:
		t.Fatal("the request did not reach the backend")
	}
	if o.err == nil {
		assert.Equal(t, 504, o.status, "an answer of Mantrid's own to an upload the backend never took")
	} else {
		assert.False(t, isTimeout(o.err), "no answer and no close within 10 s: the upload hangs")
	}
	assert.GreaterOrEqual(t, o.took, backendTimeout, "given up before backend_timeout")
	assertOpenReturnsToZero(t, p.apiURL(), "stuck.test")
}

// TestBackendFaultBadChunks: chunked framing that breaks in the middle of
// a response body, on the event loop and in a detached transfer (the
// client reads slowly, so the body has left gnet): the client gets the
// head and a body that ends in an error, its connection is closed, and the
// backend connection is closed too (never pooled).
func TestBackendFaultBadChunks(t *testing.T) {
	t.Parallel()
	good := strings.Repeat("g", 1000)
	chunk := fmt.Sprintf("%x\r\n%s\r\n", len(good), good)
	big := strings.Repeat(chunk, 8<<10) // 8 MiB of good chunks: more than the kernel holds
	answers := map[string]string{
		"/data-too-long":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "5\r\nhelloEXTRA\r\n0\r\n\r\n",
		"/size-overflow":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "1ffffffffffffffff\r\nx\r\n0\r\n\r\n",
		"/bare-lf":          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "5\nhello\r\n0\r\n\r\n",
		"/bad-trailer":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "0\r\nBad Trailer\r\n\r\n",
		"/detached-bad-one": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + big + "zz\r\n" + chunk + "0\r\n\r\n",
	}
	eofs := newEOFTracker()
	rb := newRawBackend(t, func(rc *rawConn) {
		r, err := rc.readRequest()
		if err != nil {
			return
		}
		rc.write(answers[r.Target])
		eofs.waitEOF(rc, r.ID)
	})
	p := startMantrid(t, "", stateWith(map[string]string{"chunks.test": proxyRule(1, 0, rb.port)}))
	for path := range answers {
		t.Run(path, func(t *testing.T) {
			id := "chunks" + strings.ReplaceAll(path, "/", "-")
			cl := newClient(t, p.addr())
			setDeadline(t, cl, 10*time.Second)
			if path == "/detached-bad-one" {
				// A small window and a pause in reading: more than 128 KiB
				// waits for this client, so the rest of the body goes to a
				// transfer goroutine, which meets the bad chunk.
				require.NoError(t, cl.c.(*net.TCPConn).SetReadBuffer(16<<10))
			}
			cl.send(reqGET("chunks.test", path, id))
			resp, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
			require.NoError(t, err, "the head is relayed before the body")
			require.Equal(t, 200, resp.StatusCode)
			if path == "/detached-bad-one" {
				time.Sleep(300 * time.Millisecond)
			}
			body, err := io.ReadAll(resp.Body)
			assert.Error(t, err, "a body with bad chunked framing must not end cleanly (read %d bytes)", len(body))
			assert.NotContains(t, string(body), "EXTRA")
			assert.True(t, cl.closedByPeer(), "client connection closed")
			eofs.assertClosed(t, id, "it sent bad chunked framing")
		})
	}
	assertOpenReturnsToZero(t, p.apiURL(), "chunks.test")
}

// TestBackendFaultGarbageAfterResponse: a backend sends bytes after a
// complete keep-alive response — in the same write, or a moment later
// while the connection waits in the pool — here a whole second response.
// Mantrid closes that connection and never uses it again: the client's
// next request, on the same client connection, is answered correctly over
// a new backend connection, and the garbage never reaches a client.
func TestBackendFaultGarbageAfterResponse(t *testing.T) {
	t.Parallel()
	const garbage = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Echo-Id: garbage\r\n\r\nSMUGGLED"
	var mu sync.Mutex
	servedBy := map[string]int{}      // request id → backend connection number
	closed := map[int]chan struct{}{} // backend connection number → closed by Mantrid
	rb := newRawBackend(t, func(rc *rawConn) {
		mu.Lock()
		n, ch := len(closed), make(chan struct{})
		closed[n] = ch
		mu.Unlock()
		defer close(ch)
		for {
			r, err := rc.readRequest()
			if err != nil {
				return
			}
			mu.Lock()
			servedBy[r.ID] = n
			mu.Unlock()
			switch r.Target {
			case "/same-write":
				rc.write(okAnswer(r) + garbage)
			case "/later":
				rc.write(okAnswer(r))
				time.Sleep(100 * time.Millisecond) // the connection is back in the pool
				rc.write(garbage)
			default:
				rc.write(okAnswer(r))
			}
		}
	})
	p := startMantrid(t, "event_loops = 1\n", stateWith(map[string]string{"garbage.test": proxyRule(1, 0, rb.port)}))
	for _, path := range []string{"/same-write", "/later"} {
		t.Run(path, func(t *testing.T) {
			id := "garbage" + strings.ReplaceAll(path, "/", "-")
			cl := newClient(t, p.addr())
			setDeadline(t, cl, 10*time.Second)
			cl.send(reqGET("garbage.test", path, id))
			resp, body := cl.read("GET")
			require.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, "ok "+id, body)
			assert.False(t, resp.Close, "the client connection is kept: the backend's fault is not the client's")
			mu.Lock()
			first, ok := servedBy[id]
			done := closed[first]
			mu.Unlock()
			require.True(t, ok, "the backend did not record %s", id)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("Mantrid kept the backend connection that sent bytes after its response")
			}
			next := id + "-next"
			cl.send(reqGET("garbage.test", "/next", next))
			resp, body = cl.read("GET")
			assert.Equal(t, "ok "+next, body, "the next request's answer")
			assert.Equal(t, next, resp.Header.Get("X-Echo-Id"))
			mu.Lock()
			second := servedBy[next]
			mu.Unlock()
			assert.NotEqual(t, first, second, "the next request went over the connection that sent garbage (connection %d)", first)
		})
	}
	assertOpenReturnsToZero(t, p.apiURL(), "garbage.test")
}
