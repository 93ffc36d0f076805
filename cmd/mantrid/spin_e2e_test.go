package main

// End-to-end tests of the spin action (SPEC §4 spin, §9 promises 4 and 5):
// held requests are handed over when the rule changes, in order and with
// their bodies, held requests time out, and requests whose client left are
// dropped.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mantrid/mantrid/static"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spinRule holds requests for timeout seconds.
func spinRule(timeout float64) string {
	return fmt.Sprintf(`["spin", {"timeout": %g, "check_interval": 1}, false]`, timeout)
}

// heldRequest is one request a spin test parks, and what came back.
type heldRequest struct {
	id, method, path, sha string
	raw                   string

	status          int
	echoID, echoSHA string
	body            string
	err             error
	answeredAt      time.Time
}

// newHeldRequest returns request number g: every third a POST with a body
// (Content-Length or chunked, 1 B to 16 kB), the others GETs.
func newHeldRequest(host string, g int) *heldRequest {
	r := &heldRequest{id: fmt.Sprintf("held-%d", g), method: "GET", path: fmt.Sprintf("/held/%d", g), sha: emptySHA}
	if g%3 != 0 {
		r.raw = reqGET(host, r.path, r.id)
		return r
	}
	r.method = "POST"
	body := make([]byte, 1+(g*7919)%16000)
	_, _ = io.ReadFull(genBody(uint64(g), int64(len(body))), body)
	r.sha = sha256Hex(body)
	head := "POST " + r.path + " HTTP/1.1\r\nHost: " + host + "\r\n" + reqIDHeader + ": " + r.id + "\r\n"
	if g%2 == 0 {
		r.raw = head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + string(body)
	} else {
		half := len(body) / 2
		r.raw = head + "Transfer-Encoding: chunked\r\n\r\n" +
			chunk(body[:half]) + chunk(body[half:]) + "0\r\n\r\n"
	}
	return r
}

// chunk returns b as one chunk of chunked framing (RFC 9112 §7.1), or
// nothing for no bytes (a zero-size chunk would end the body).
func chunk(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return fmt.Sprintf("%x\r\n%s\r\n", len(b), b)
}

// TestSpinHandsOverHeldRequests: 200 requests (GETs and POSTs with bodies,
// over 50 connections, some pipelined) are held by spin without reaching
// the backend; once the rule becomes proxy they all get the backend's
// answer, in order, each reaching the backend once with its body intact,
// within 50 ms of the API's answer.
func TestSpinHandsOverHeldRequests(t *testing.T) {
	be := newHTTPBackend(t)
	const host = "held.test"
	p := startMantrid(t, "", stateWith(map[string]string{host: spinRule(30)}))
	base, addr := p.apiURL(), p.addr()

	const nConns = 50
	var conns [][]*heldRequest
	g := 0
	for c := range nConns {
		n := 1
		if c%2 == 0 {
			n = 7 // pipelined: 25×7 + 25×1 = 200 requests
		}
		var reqs []*heldRequest
		for range n {
			reqs = append(reqs, newHeldRequest(host, g))
			g++
		}
		conns = append(conns, reqs)
	}
	require.Equal(t, 200, g)

	var flipped atomic.Bool
	var early, firstEarly atomic.Int64 // answers before the flip; the first one's status (-1: an error)
	var wg sync.WaitGroup
	var netConns []net.Conn
	for _, reqs := range conns {
		c := dial(t, addr)
		netConns = append(netConns, c)
		require.NoError(t, c.SetDeadline(time.Now().Add(15*time.Second)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var all strings.Builder
			for _, r := range reqs {
				all.WriteString(r.raw)
			}
			werr := make(chan error, 1)
			go func() { _, err := io.WriteString(c, all.String()); werr <- err }()
			br := bufio.NewReader(c)
			for _, r := range reqs {
				resp, body, err := readResp(br, r.method)
				r.answeredAt = time.Now()
				if !flipped.Load() {
					status := int64(-1)
					if err == nil {
						status = int64(resp.StatusCode)
					}
					firstEarly.CompareAndSwap(0, status)
					early.Add(1)
				}
				if r.err = err; err != nil {
					return
				}
				r.status, r.body = resp.StatusCode, string(body)
				r.echoID, r.echoSHA = resp.Header.Get("X-Echo-Id"), resp.Header.Get("X-Body-Sha256")
			}
			if err := <-werr; err != nil {
				reqs[0].err = fmt.Errorf("writing: %w", err)
			}
		}()
	}

	// Held: every connection's first request is open (or something was
	// answered, which is already wrong).
	s, parked := pollStats(base, host, 10*time.Second, func(s wireStats) bool {
		return early.Load() > 0 || s.OpenRequests >= nConns
	})
	require.Zero(t, early.Load(), "requests answered while the rule is spin (first status %d)", firstEarly.Load())
	require.True(t, parked, "requests held after 10s: open_requests %d, want ≥ %d", s.OpenRequests, nConns)
	require.Zero(t, be.total(), "requests reached the backend while the rule is spin")

	flipped.Store(true)
	require.NoError(t, apiPut(base, host, proxyRule(1, 0, be.port)))
	putDone := time.Now()
	for _, c := range netConns { // the answers are due now: fail fast
		require.NoError(t, c.SetDeadline(putDone.Add(5*time.Second)))
	}
	wg.Wait()

	var last time.Time
	for ci, reqs := range conns {
		for i, r := range reqs {
			if r.err != nil {
				t.Errorf("connection %d: answer %d of %d (%s %s): %v", ci, i+1, len(reqs), r.method, r.id, r.err)
				break
			}
			if r.answeredAt.After(last) {
				last = r.answeredAt
			}
			want := fmt.Sprintf("%s %s %s\n", r.method, r.path, r.id)
			if r.status != 200 || r.echoID != r.id || r.body != want {
				t.Errorf("connection %d answer %d: status %d, X-Echo-Id %q, body %q; want 200, %q, %q (answers out of order?)",
					ci, i, r.status, r.echoID, r.body, r.id, want)
			}
			assert.Equal(t, r.sha, r.echoSHA, "sha256 of %s's body at the backend", r.id)
			seen := be.seen(r.id)
			if assert.Len(t, seen, 1, "times %s reached the backend", r.id) {
				assert.Equal(t, r.sha, seen[0].BodySHA, "body of %s at the backend", r.id)
			}
		}
	}
	assert.Equal(t, 200, be.total(), "requests at the backend")
	lag := last.Sub(putDone)
	limit := 50 * time.Millisecond
	if raceEnabled {
		limit = 250 * time.Millisecond // the race detector slows both sides several-fold
	}
	t.Logf("last of 200 held answers %v after the API's 200 (limit %v)", lag, limit)
	assert.Less(t, lag, limit, "held requests answered too long after the rule change")
	assertOpenReturnsToZero(t, base, host)
}

// TestSpinTimeoutAnswersTimeoutPage: a held request gets the timeout page
// after the rule's timeout (0.5 s), not before and not much after.
func TestSpinTimeoutAnswersTimeoutPage(t *testing.T) {
	be := newHTTPBackend(t)
	p := startMantrid(t, "", stateWith(map[string]string{"slow.test": spinRule(0.5)}))
	cl := newClient(t, p.addr())
	start := time.Now()
	cl.send(reqGET("slow.test", "/", "to-1"))
	resp, _ := cl.read("GET")
	elapsed := time.Since(start)
	t.Logf("timeout page after %v", elapsed)
	assert.Equal(t, builtinStatus(t, static.Timeout), resp.StatusCode, "status after spin's timeout")
	assert.GreaterOrEqual(t, elapsed, 450*time.Millisecond, "answered before spin's timeout of 0.5s")
	assert.Less(t, elapsed, 3*time.Second)
	assert.Zero(t, be.total())
	assertOpenReturnsToZero(t, p.apiURL(), "slow.test")
}

// TestSpinDropsRequestsOfClientsThatLeft: SPEC §9.4. Requests whose client
// disconnected while held are dropped, not forwarded, when the rule flips;
// the others go through.
func TestSpinDropsRequestsOfClientsThatLeft(t *testing.T) {
	t.Parallel()
	be := newHTTPBackend(t)
	const host = "left.test"
	p := startMantrid(t, "", stateWith(map[string]string{host: spinRule(30)}))
	base := p.apiURL()

	leaver := newClient(t, p.addr())
	gone := newHeldRequest(host, 3) // a POST with a body, then a GET pipelined behind it
	leaver.send(gone.raw + reqGET(host, "/gone", "gone-2"))
	stayer := newClient(t, p.addr())
	setDeadline(t, stayer, 10*time.Second)
	stayer.send(reqGET(host, "/stay", "stay-1"))

	s, ok := pollStats(base, host, 5*time.Second, func(s wireStats) bool { return s.OpenRequests >= 2 })
	require.True(t, ok, "both clients' requests held: open_requests %d, want 2", s.OpenRequests)
	require.NoError(t, leaver.c.Close())
	s, ok = pollStats(base, host, 5*time.Second, func(s wireStats) bool { return s.OpenRequests == 1 })
	assert.True(t, ok, "open_requests after a held client left: %d, want 1", s.OpenRequests)

	require.NoError(t, apiPut(base, host, proxyRule(1, 0, be.port)))
	resp, body := stayer.read("GET")
	assert.NoError(t, checkEcho(resp, []byte(body), "GET", host, "/stay", "stay-1"), "the client that stayed")
	// A request after the flip, answered, shows the flip has been handled.
	followUp(t, newClient(t, p.addr()), host, "after-flip")
	assertOpenReturnsToZero(t, base, host)
	for _, id := range []string{gone.id, "gone-2"} {
		assert.Zero(t, be.count(id), "request %s of a client that left reached the backend", id)
	}
	assert.Equal(t, 1, be.count("stay-1"))
}

// TestSpinHoldsLargeUploads: 5 MiB uploads to a spinning host (8 at
// once) are held with backpressure: Mantrid stops reading each once a
// bounded part of it is buffered, so its RSS grows by a fraction of their
// total while they wait and their unread bytes wait in the kernel; after
// the release each reaches the backend whole (sha256).
func TestSpinHoldsLargeUploads(t *testing.T) {
	be := newHTTPBackend(t)
	const host = "held.test"
	p := startMantrid(t, "", stateWith(map[string]string{host: spinRule(60)}))
	base := p.apiURL()
	// Warm up the process (a held request, released) before the baseline.
	warm := newClient(t, p.addr())
	warm.send(reqGET(host, "/warm", "warm"))
	_, ok := pollStats(base, host, 5*time.Second, func(s wireStats) bool { return s.OpenRequests == 1 })
	require.True(t, ok, "the warm-up request is held")
	require.NoError(t, apiPut(base, host, `["empty", {"code": 204}, false]`))
	resp, _ := warm.read("GET")
	require.Equal(t, 204, resp.StatusCode)
	require.NoError(t, apiPut(base, host, spinRule(60)))
	rss := watchRSS(t, p.cmd.Process.Pid)

	const n, size = 8, 5 << 20
	type upload struct {
		id   string
		c    net.Conn
		done chan error
	}
	var uploads []*upload
	var written atomic.Int64
	for i := range n {
		u := &upload{id: fmt.Sprintf("up-%d", i), c: dial(t, p.addr()), done: make(chan error, 1)}
		require.NoError(t, u.c.SetDeadline(time.Now().Add(60*time.Second)))
		// A small send buffer (no autotuning): what the client cannot
		// write shows what Mantrid did not read.
		require.NoError(t, u.c.(*net.TCPConn).SetWriteBuffer(64<<10))
		uploads = append(uploads, u)
		go func() {
			_, err := fmt.Fprintf(u.c, "POST /up/%d HTTP/1.1\r\nHost: %s\r\n%s: %s\r\nContent-Length: %d\r\n\r\n",
				i, host, reqIDHeader, u.id, size)
			buf := make([]byte, 64<<10)
			body := genBody(uint64(100+i), size)
			for err == nil {
				var k int
				if k, err = io.ReadFull(body, buf); k == 0 {
					err = nil
					break
				}
				k, err = u.c.Write(buf[:k])
				written.Add(int64(k))
			}
			u.done <- err
		}()
	}
	s, ok := pollStats(base, host, 10*time.Second, func(s wireStats) bool { return s.OpenRequests == n })
	require.True(t, ok, "uploads held: open_requests %d, want %d", s.OpenRequests, n)
	// The clients write until TCP flow control stops them.
	last, since := written.Load(), time.Now()
	for time.Since(since) < 500*time.Millisecond {
		time.Sleep(50 * time.Millisecond)
		if w := written.Load(); w != last {
			last, since = w, time.Now()
		}
	}
	growth := rss.finish()
	unread := unreadBytes(t, p.addr())
	t.Logf("%d held uploads of %d MiB: clients wrote %.1f MiB in all, %d KiB wait unread in Mantrid's sockets; RSS growth %.1f MiB",
		n, size>>20, float64(last)/(1<<20), unread>>10, float64(growth)/(1<<20))
	assert.Less(t, last, int64(n*size/4), "the clients wrote most of their uploads: Mantrid read them")
	assert.Positive(t, unread, "bytes left unread in the kernel")
	bound := int64(n * size / 8) // each held upload: 128 KiB in gnet, a little more in Go's heap
	if raceEnabled {
		bound *= 2 // the race detector's shadow memory
	}
	assert.Less(t, growth, bound, "RSS growth while %d uploads of %d MiB are held", n, size>>20)
	s, _ = fetchStats(base, host)
	assert.Equal(t, int64(n), s.OpenRequests, "every upload is still held")

	require.NoError(t, apiPut(base, host, proxyRule(1, 0, be.port)))
	for i, u := range uploads {
		resp, body, err := readResp(bufio.NewReader(u.c), "POST")
		require.NoError(t, err, "answer to %s", u.id)
		require.NoError(t, <-u.done, "writing %s", u.id)
		assert.Equal(t, 200, resp.StatusCode, "%s: %s", u.id, body)
		assert.Equal(t, sumGen(uint64(100+i), size), resp.Header.Get("X-Body-Sha256"), "sha256 of %s at the backend", u.id)
		assert.Equal(t, 1, be.count(u.id), "times %s reached the backend", u.id)
	}
	assertOpenReturnsToZero(t, base, host)
}

// unreadBytes sums the receive queues of the connections accepted on
// addr (a 127.0.0.1 listener): bytes the kernel holds that Mantrid has
// not read (/proc/net/tcp, rx_queue).
func unreadBytes(t *testing.T, addr string) int64 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	pn, err := strconv.Atoi(port)
	require.NoError(t, err)
	local := fmt.Sprintf("0100007F:%04X", pn)
	b, err := os.ReadFile("/proc/net/tcp")
	require.NoError(t, err)
	var sum int64
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != local || f[3] != "01" { // 01: ESTABLISHED
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		q, err := strconv.ParseInt(rx, 16, 64)
		require.NoError(t, err, "rx_queue in %q", line)
		sum += q
	}
	return sum
}

// TestSpinCapCountsAllLoops: max_spin is one cap for all event loops:
// with 2 loops and max_spin 10000, 10,000 held requests are all held (not
// one gets 503), the next one gets 503, and after the release each of the
// 10,000 gets the new rule's answer.
func TestSpinCapCountsAllLoops(t *testing.T) {
	const n = 10000
	needFDs(t, n+500)
	const host = "held.test"
	p := startMantrid(t, fmt.Sprintf("event_loops = 2\nmax_spin = %d\nmax_connections = %d\n", n, n+100),
		stateWith(map[string]string{host: spinRule(120)}))
	base := p.apiURL()
	conns := dialMany(t, p.addr(), n)
	req := []byte(reqGET(host, "/", "held"))
	for i, c := range conns {
		_, err := c.Write(req)
		require.NoError(t, err, "request %d", i)
	}
	s, ok := pollStats(base, host, 30*time.Second, func(s wireStats) bool { return s.OpenRequests == n })
	require.True(t, ok, "held: open_requests %d, want %d", s.OpenRequests, n)

	extra := newClient(t, p.addr())
	setDeadline(t, extra, 10*time.Second)
	extra.send(reqGET(host, "/", "extra"))
	resp, _ := extra.read("GET")
	assert.Equal(t, 503, resp.StatusCode, "request %d, beyond max_spin", n+1)

	require.NoError(t, apiPut(base, host, `["empty", {"code": 204}, false]`))
	statuses := map[int]int{}
	for _, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
		resp, _, err := readResp(bufio.NewReaderSize(c, 512), "GET")
		if err != nil {
			statuses[-1]++
			continue
		}
		statuses[resp.StatusCode]++
	}
	assert.Equal(t, map[int]int{204: n}, statuses, "answers after the release, by status (-1: none)")
	assertOpenReturnsToZero(t, base, host)
}

// needFDs makes sure this process may open n files, raising its limit (as
// root, the hard limit too); it skips the test, saying why, when it cannot.
func needFDs(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur >= n {
		return
	}
	want := syscall.Rlimit{Cur: n, Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		t.Skipf("needs %d open files, the limit is %d (hard %d) and cannot be raised: %v", n, lim.Cur, lim.Max, err)
	}
}
