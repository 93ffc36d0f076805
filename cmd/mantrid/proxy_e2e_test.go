package main

// End-to-end tests of the proxy action (SPEC §4 proxy, §5, §6, §9 promises
// 2, 3 and 10) against the real binary and the backends of backend_test.go.
// Tests that measure neither time nor memory call t.Parallel, so that their
// Mantrid start-ups and shutdowns overlap; the others run alone.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mantrid/mantrid/static"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyRule returns a proxy rule triple for backends on 127.0.0.1.
func proxyRule(attempts int, delay float64, ports ...int) string {
	bs := make([]string, len(ports))
	for i, p := range ports {
		bs[i] = fmt.Sprintf(`["127.0.0.1", %d]`, p)
	}
	return fmt.Sprintf(`["proxy", {"backends": [%s], "attempts": %d, "delay": %g}, false]`,
		strings.Join(bs, ", "), attempts, delay)
}

// stateWith returns a state file holding rules (host → rule triple).
func stateWith(rules map[string]string) string {
	hosts := make([]string, 0, len(rules))
	for h := range rules {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	parts := make([]string, len(hosts))
	for i, h := range hosts {
		parts[i] = fmt.Sprintf("%q: %s", h, rules[h])
	}
	return `{"hosts": {` + strings.Join(parts, ",\n") + `}, "stats": {}}`
}

// wireStats is one host's counters as GET /stats/HOST/ returns them.
type wireStats struct {
	OpenRequests      int64 `json:"open_requests"`
	CompletedRequests int64 `json:"completed_requests"`
	BytesSent         int64 `json:"bytes_sent"`
	BytesReceived     int64 `json:"bytes_received"`
}

// fetchStats reads host's counters from the API at base. It does not touch
// a *testing.T, so conditions polled on other goroutines may call it.
func fetchStats(base, host string) (wireStats, error) {
	var s wireStats
	resp, err := http.Get(base + "/stats/" + host + "/")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return s, fmt.Errorf("GET /stats/%s/: %s", host, resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// pollStats polls host's counters every 10 ms until cond holds or within
// passes; it returns the last counters read and whether cond held.
func pollStats(base, host string, within time.Duration, cond func(wireStats) bool) (wireStats, bool) {
	deadline := time.Now().Add(within)
	for {
		s, err := fetchStats(base, host)
		if err == nil && cond(s) {
			return s, true
		}
		if time.Now().After(deadline) {
			return s, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertOpenReturnsToZero checks SPEC §9.10: open_requests returns to 0.
func assertOpenReturnsToZero(t *testing.T, base, host string) {
	t.Helper()
	s, ok := pollStats(base, host, 5*time.Second, func(s wireStats) bool { return s.OpenRequests == 0 })
	assert.True(t, ok, "open_requests of %s did not return to 0 within 5s: got %+v", host, s)
}

// reqGET returns a GET request for host and path carrying id.
func reqGET(host, path, id string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" + reqIDHeader + ": " + id + "\r\n" +
		strings.Join(extra, "") + "\r\n"
}

// readResp reads one response to a request of method, with its body. It
// does not touch a *testing.T, so other goroutines may call it.
func readResp(br *bufio.Reader, method string) (*http.Response, []byte, error) {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// checkEcho checks httpBackend's echo of method host path id.
func checkEcho(resp *http.Response, body []byte, method, host, path, id string) error {
	want := fmt.Sprintf("%s %s %s\n", method, path, id)
	switch {
	case resp.StatusCode != 200:
		return fmt.Errorf("status %d (body %.80q), want 200 from the backend", resp.StatusCode, body)
	case resp.Header.Get("X-Echo-Id") != id:
		return fmt.Errorf("X-Echo-Id %q, want %q (an answer to another request)", resp.Header.Get("X-Echo-Id"), id)
	case resp.Header.Get("X-Echo-Host") != host:
		return fmt.Errorf("backend saw Host %q, want %q", resp.Header.Get("X-Echo-Host"), host)
	case string(body) != want:
		return fmt.Errorf("body %q, want %q", body, want)
	}
	return nil
}

// setDeadline moves cl's read and write deadline to d from now.
func setDeadline(t *testing.T, cl *client, d time.Duration) {
	t.Helper()
	require.NoError(t, cl.c.SetDeadline(time.Now().Add(d)))
}

// followUp checks that cl's connection still carries a request to host
// (proxied to httpBackend) after whatever came before on it.
func followUp(t *testing.T, cl *client, host, id string) {
	t.Helper()
	cl.send(reqGET(host, "/after", id))
	resp, body := cl.read("GET")
	assert.NoError(t, checkEcho(resp, []byte(body), "GET", host, "/after", id), "next request on the same connection")
}

// looseClient is a keep-alive client that goroutines may use: it never
// touches a *testing.T, dials on first use and again after a close.
type looseClient struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

// do sends raw and reads the answer to a request of method.
func (lc *looseClient) do(raw, method string) (*http.Response, []byte, error) {
	if lc.c == nil {
		c, err := net.DialTimeout("tcp", lc.addr, 5*time.Second)
		if err != nil {
			return nil, nil, err
		}
		lc.c, lc.br = c, bufio.NewReader(c)
	}
	_ = lc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(lc.c, raw); err != nil {
		lc.close()
		return nil, nil, err
	}
	resp, body, err := readResp(lc.br, method)
	if err != nil || resp.Close {
		lc.close()
	}
	return resp, body, err
}

func (lc *looseClient) close() {
	if lc.c != nil {
		lc.c.Close()
		lc.c = nil
	}
}

// TestProxyKeepAliveAndPooling: one client connection carries 1000
// requests for two proxied hosts, answered in order, over a handful of
// pooled backend connections; a pipelined burst is answered in order.
func TestProxyKeepAliveAndPooling(t *testing.T) {
	be := newHTTPBackend(t)
	hosts := []string{"a.pool.test", "b.pool.test"}
	p := startMantrid(t, "", stateWith(map[string]string{
		hosts[0]: proxyRule(1, 0, be.port),
		hosts[1]: proxyRule(1, 0, be.port),
	}))

	t.Run("1000 sequential requests on one connection", func(t *testing.T) {
		cl := newClient(t, p.addr())
		setDeadline(t, cl, 60*time.Second)
		for i := range 1000 {
			host, id, path := hosts[i%2], fmt.Sprintf("ka-%d", i), fmt.Sprintf("/ka/%d?i=%d", i, i)
			cl.send(reqGET(host, path, id))
			resp, body := cl.read("GET")
			if err := checkEcho(resp, []byte(body), "GET", host, path, id); err != nil {
				t.Fatalf("request %d (GET %s%s): %v", i, host, path, err)
			}
			if resp.Close {
				t.Fatalf("request %d: answer says Connection: close, want keep-alive", i)
			}
		}
		for i := range 1000 {
			if n := be.count(fmt.Sprintf("ka-%d", i)); n != 1 {
				t.Errorf("request ka-%d reached the backend %d times, want 1", i, n)
			}
		}
		assert.LessOrEqual(t, be.conns.Load(), int64(4),
			"backend TCP connections for 1000 keep-alive requests (pooling): got %d, want ≤ 4", be.conns.Load())
	})

	t.Run("pipelined burst of 50 in one write", func(t *testing.T) {
		cl := newClient(t, p.addr())
		var sb strings.Builder
		for i := range 50 {
			sb.WriteString(reqGET(hosts[i%2], fmt.Sprintf("/pipe/%d", i), fmt.Sprintf("pipe-%d", i)))
		}
		cl.send(sb.String())
		for i := range 50 {
			resp, body := cl.read("GET")
			if err := checkEcho(resp, []byte(body), "GET", hosts[i%2], fmt.Sprintf("/pipe/%d", i), fmt.Sprintf("pipe-%d", i)); err != nil {
				t.Fatalf("pipelined answer %d: %v", i, err)
			}
		}
		t.Logf("backend TCP connections after both runs: %d", be.conns.Load())
	})
}

// TestProxyBodies: request and response bodies by Content-Length, chunked
// and until close stream through intact (100 MB each way), bodiless
// answers (HEAD, 204, 304) leave the connection usable, and Expect:
// 100-continue works.
func TestProxyBodies(t *testing.T) {
	be := newHTTPBackend(t)
	closeBody := make([]byte, 100<<10)
	_, _ = io.ReadFull(genBody(99, int64(len(closeBody))), closeBody)
	raw := newRawBackend(t, serveEach(func(rc *rawConn, r *rawRequest) bool {
		id := "X-Echo-Id: " + r.ID + "\r\n"
		switch r.Target {
		case "/head":
			rc.write("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n" + id + "\r\n")
		case "/head-chunked":
			rc.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + id + "\r\n")
		case "/204":
			rc.write("HTTP/1.1 204 No Content\r\n" + id + "\r\n")
		case "/304":
			rc.write("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 5\r\n" + id + "\r\n")
		case "/until-close":
			rc.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + id + "\r\n" + string(closeBody))
			return false
		default:
			rc.write(okAnswer(r))
		}
		return true
	}))
	p := startMantrid(t, "", stateWith(map[string]string{
		"body.test": proxyRule(1, 0, be.port),
		"raw.test":  proxyRule(1, 0, raw.port),
	}))
	big := int64(100 << 20)
	if testing.Short() {
		big = 10 << 20
	}

	uploads := []struct {
		name    string
		size    int64
		chunked bool
	}{
		{"Content-Length 0", 0, false},
		{"Content-Length 1 MiB", 1 << 20, false},
		{"chunked 1 MiB", 1 << 20, true},
		{"chunked 1 byte", 1, true},
		{fmt.Sprintf("Content-Length %d MiB", big>>20), big, false},
	}
	for i, tc := range uploads {
		t.Run("upload "+tc.name, func(t *testing.T) {
			checkUpload(t, p.addr(), be, "body.test", tc.size, tc.chunked, uint64(100+i))
		})
	}
	downloads := []struct {
		name    string
		size    int64
		chunked bool
	}{
		{"Content-Length 1 MiB", 1 << 20, false},
		{"chunked 1 MiB", 1 << 20, true},
		{"chunked 0 bytes", 0, true},
		{fmt.Sprintf("chunked %d MiB", big>>20), big, true},
	}
	for i, tc := range downloads {
		t.Run("download "+tc.name, func(t *testing.T) {
			checkDownload(t, p.addr(), "body.test", tc.size, tc.chunked, uint64(200+i))
		})
	}

	t.Run("download until close", func(t *testing.T) {
		cl := newClient(t, p.addr())
		cl.send(reqGET("raw.test", "/until-close", "uc-1"))
		resp, body := cl.read("GET")
		require.Equal(t, 200, resp.StatusCode, "answer to a close-delimited response")
		assert.Equal(t, "uc-1", resp.Header.Get("X-Echo-Id"))
		assert.Equal(t, sha256Hex(closeBody), sha256Hex([]byte(body)), "close-delimited body: got %d bytes, want %d", len(body), len(closeBody))
		if !resp.Close {
			cl.send(reqGET("raw.test", "/next", "uc-2"))
			resp, body = cl.read("GET")
			assert.Equal(t, "ok uc-2", body, "next request after a re-framed close-delimited body")
		}
	})

	bodyless := []struct {
		name, method, path string
		status             int
	}{
		{"HEAD with Content-Length", "HEAD", "/head", 200},
		{"HEAD with Transfer-Encoding", "HEAD", "/head-chunked", 200},
		{"204", "GET", "/204", 204},
		{"304 with Content-Length", "GET", "/304", 304},
	}
	for i, tc := range bodyless {
		t.Run("no body: "+tc.name, func(t *testing.T) {
			cl := newClient(t, p.addr())
			id := fmt.Sprintf("nb-%d", i)
			cl.send(tc.method + " " + tc.path + " HTTP/1.1\r\nHost: raw.test\r\n" + reqIDHeader + ": " + id + "\r\n\r\n")
			resp, body := cl.read(tc.method)
			require.Equal(t, tc.status, resp.StatusCode, "%s %s", tc.method, tc.path)
			assert.Equal(t, id, resp.Header.Get("X-Echo-Id"))
			assert.Empty(t, body)
			if tc.path == "/head" {
				assert.Equal(t, int64(1234), resp.ContentLength, "HEAD keeps the backend's Content-Length")
			}
			setDeadline(t, cl, 3*time.Second)
			cl.send(reqGET("raw.test", "/next", id+"-next"))
			resp, body = cl.read("GET")
			assert.Equal(t, "ok "+id+"-next", body, "the request after a bodiless answer")
			assert.Equal(t, id+"-next", resp.Header.Get("X-Echo-Id"))
		})
	}

	t.Run("Expect: 100-continue", func(t *testing.T) {
		checkExpectContinue(t, p.addr(), be, "body.test")
	})
}

// checkExpectContinue sends a request with Expect: 100-continue, waits for
// the 100, sends the body and checks that the backend got it once.
func checkExpectContinue(t *testing.T, addr string, be *httpBackend, host string) {
	cl := newClient(t, addr)
	const n = 200 << 10
	payload := make([]byte, n)
	_, _ = io.ReadFull(genBody(7, n), payload)
	cl.send("POST /expect HTTP/1.1\r\nHost: " + host + "\r\n" + reqIDHeader + ": exp-1\r\nContent-Length: " +
		strconv.Itoa(n) + "\r\nExpect: 100-continue\r\n\r\n")
	// RFC 9110 §10.1.1: the client waits for 100 (Continue) or a final
	// answer before sending the content.
	setDeadline(t, cl, 3*time.Second)
	resp, err := http.ReadResponse(cl.br, &http.Request{Method: "POST"})
	require.NoError(t, err, "waiting for 100 Continue")
	require.Equal(t, 100, resp.StatusCode, "first answer to Expect: 100-continue, want 100 before the body is sent")
	setDeadline(t, cl, 10*time.Second)
	_, err = cl.c.Write(payload)
	require.NoError(t, err)
	for resp.StatusCode == 100 { // more than one 100 is allowed (RFC 9110 §15.2)
		resp, err = http.ReadResponse(cl.br, &http.Request{Method: "POST"})
		require.NoError(t, err)
	}
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode, "final answer (body %q)", body)
	assert.Equal(t, sha256Hex(payload), resp.Header.Get("X-Body-Sha256"), "body as the backend saw it")
	seen := be.seen("exp-1")
	if assert.Len(t, seen, 1, "the backend got the request once") {
		assert.Equal(t, int64(n), seen[0].BodyLen, "body length at the backend")
	}
	followUp(t, cl, host, "exp-2")
}

// checkUpload sends a generated body of size bytes (chunked or by
// Content-Length) to host, streaming, and checks that the backend got it
// once with the same sha256 and that the connection still works.
func checkUpload(t *testing.T, addr string, be *httpBackend, host string, size int64, chunked bool, seed uint64) {
	cl := newClient(t, addr)
	setDeadline(t, cl, transferDeadline(size))
	id := fmt.Sprintf("up-%d", seed)
	head := "POST /upload HTTP/1.1\r\nHost: " + host + "\r\n" + reqIDHeader + ": " + id + "\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	}
	h := sha256.New()
	werr := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(cl.c, 64<<10)
		_, err := bw.WriteString(head)
		src := io.TeeReader(genBody(seed, size), h)
		if err == nil && chunked {
			err = writeChunked(bw, src)
		} else if err == nil {
			_, err = io.Copy(bw, src)
		}
		if err == nil {
			err = bw.Flush()
		}
		werr <- err
	}()
	resp, body := cl.read("POST")
	require.Equal(t, 200, resp.StatusCode, "answer to a %d-byte upload (chunked %v): body %.80q", size, chunked, body)
	require.NoError(t, <-werr, "writing the upload")
	want := hex.EncodeToString(h.Sum(nil))
	assert.Equal(t, want, resp.Header.Get("X-Body-Sha256"), "sha256 of the body at the backend")
	assert.Equal(t, strconv.FormatInt(size, 10), resp.Header.Get("X-Body-Len"), "body length at the backend")
	if seen := be.seen(id); assert.Len(t, seen, 1, "the backend got the upload once") {
		assert.NoError(t, seen[0].BodyErr)
		assert.Equal(t, want, seen[0].BodySHA)
	}
	followUp(t, cl, host, id+"-next")
}

// transferDeadline bounds moving size bytes through Mantrid: 10 s plus
// 10 MB/s, generous even under -race.
func transferDeadline(size int64) time.Duration {
	return 10*time.Second + time.Duration(size/(10<<20))*time.Second
}

// writeChunked writes r's bytes as chunks of varying sizes, the first with
// a chunk extension, and ends with a trailer field.
func writeChunked(w *bufio.Writer, r io.Reader) error {
	buf := make([]byte, 70000)
	for i := 0; ; i++ {
		size := 1 + (i*7919+13)%len(buf)
		n, err := io.ReadFull(r, buf[:size])
		if n > 0 {
			ext := ""
			if i == 0 {
				ext = ";ext=1"
			}
			fmt.Fprintf(w, "%x%s\r\n", n, ext)
			w.Write(buf[:n])
			w.WriteString("\r\n")
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	_, err := w.WriteString("0\r\nX-Trailer: done\r\n\r\n")
	return err
}

// checkDownload fetches a generated body of size bytes (sent by the backend
// with Content-Length or chunked), streaming, and compares its sha256.
func checkDownload(t *testing.T, addr string, host string, size int64, chunked bool, seed uint64) {
	cl := newClient(t, addr)
	setDeadline(t, cl, transferDeadline(size))
	want := make(chan string, 1)
	go func() { want <- sumGen(seed, size) }()
	path := fmt.Sprintf("/download?n=%d&seed=%d", size, seed)
	if chunked {
		path += "&te=chunked"
	}
	id := fmt.Sprintf("down-%d", seed)
	cl.send(reqGET(host, path, id))
	resp, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
	require.NoError(t, err, "reading the answer head")
	require.Equal(t, 200, resp.StatusCode, "answer to GET %s", path)
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	require.NoError(t, err, "reading the body after %d bytes", n)
	assert.Equal(t, size, n, "body length")
	assert.Equal(t, <-want, hex.EncodeToString(h.Sum(nil)), "sha256 of the body")
	followUp(t, cl, host, id+"-next")
}

// TestProxyRetriesDeadBackend: with backends [dead, alive], attempts 3 and
// delay 0.05, a request fails only when all three random picks were the
// dead one (1/8); every success reached the alive backend exactly once.
func TestProxyRetriesDeadBackend(t *testing.T) {
	be := newHTTPBackend(t)
	dead := freePort(t)
	p := startMantrid(t, "", stateWith(map[string]string{"retry.test": proxyRule(3, 0.05, dead, be.port)}))
	timeoutStatus := builtinStatus(t, static.Timeout)
	const conns, per = 25, 40 // 1000 requests, sequential on each connection
	type outcome struct {
		id     string
		status int
		echo   string
		err    error
	}
	results := make([][]outcome, conns)
	addr := p.addr()
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc := &looseClient{addr: addr}
			defer lc.close()
			for i := range per {
				o := outcome{id: fmt.Sprintf("rt-%d-%d", c, i)}
				resp, _, err := lc.do(reqGET("retry.test", "/r", o.id), "GET")
				if o.err = err; err == nil {
					o.status, o.echo = resp.StatusCode, resp.Header.Get("X-Echo-Id")
				}
				results[c] = append(results[c], o)
			}
		}()
	}
	wg.Wait()
	var ok, timedOut, errs int
	for _, rs := range results {
		for _, o := range rs {
			switch {
			case o.err != nil:
				if errs++; errs <= 5 {
					t.Errorf("request %s: %v", o.id, o.err)
				}
			case o.status == 200:
				ok++
				assert.Equal(t, o.id, o.echo, "answer to %s", o.id)
				assert.Equal(t, 1, be.count(o.id), "times %s reached the alive backend", o.id)
			case o.status == timeoutStatus:
				timedOut++
				assert.Equal(t, 0, be.count(o.id), "a request answered with the timeout page reached the backend: %s", o.id)
			default:
				if errs++; errs <= 5 {
					t.Errorf("request %s: status %d, want 200 or the timeout page (%d)", o.id, o.status, timeoutStatus)
				}
			}
		}
	}
	total := conns * per
	rate := float64(ok) / float64(total)
	t.Logf("%d/%d succeeded (%.1f%%), %d timeout pages, %d errors, in %v", ok, total, 100*rate, timedOut, errs, time.Since(start))
	// Issue 4 asks for at least 87 %. A retry avoids the backends that
	// already failed for that request, so with [dead, alive] the second
	// attempt always reaches the alive one: every request should succeed.
	assert.GreaterOrEqual(t, rate, 0.87, "success rate with backends [dead, alive], attempts 3: got %d/%d", ok, total)
}

// TestProxyAllBackendsDead: when no backend accepts within the attempts the
// answer is the timeout page, after about attempts×delay, and the wait does
// not block the (single) event loop: another host answers meanwhile.
func TestProxyAllBackendsDead(t *testing.T) {
	p := startMantrid(t, "event_loops = 1\n", stateWith(map[string]string{
		"dead.test":  proxyRule(3, 0.2, freePort(t), freePort(t)),
		"quick.test": `["empty", {"code": 204}, false]`,
	}))
	want := builtinStatus(t, static.Timeout)
	slow, quick := newClient(t, p.addr()), newClient(t, p.addr())
	type answer struct {
		resp *http.Response
		err  error
		at   time.Time
	}
	done := make(chan answer, 1)
	start := time.Now()
	slow.send(reqGET("dead.test", "/", "dead-1"))
	go func() {
		resp, _, err := readResp(slow.br, "GET")
		done <- answer{resp, err, time.Now()}
	}()
	var worst time.Duration
	var during int
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var got answer
wait:
	for {
		select {
		case got = <-done:
			break wait
		case <-tick.C:
		}
		t0 := time.Now()
		resp, _ := quick.get("quick.test", "/")
		d := time.Since(t0)
		assert.Equal(t, 204, resp.StatusCode, "the empty host during the wait")
		worst = max(worst, d)
		if t0.Sub(start) > 100*time.Millisecond {
			during++
		}
	}
	require.NoError(t, got.err, "answer to the request with dead backends")
	elapsed := got.at.Sub(start)
	t.Logf("timeout page after %v; %d requests to another host during the wait, slowest %v", elapsed, during, worst)
	assert.Equal(t, want, got.resp.StatusCode, "status with every backend dead, want the timeout page")
	assert.GreaterOrEqual(t, elapsed, 350*time.Millisecond, "3 attempts 0.2s apart answered too early")
	assert.Less(t, elapsed, 3*time.Second)
	assert.Positive(t, during, "no request to another host ran during the wait")
	assert.Less(t, worst, 100*time.Millisecond, "another host's answer during the wait (event loop blocked?)")
}

// TestProxyBackendFailsMidResponse: a response cut after its head, or whose
// chunked framing breaks, reaches the client as a head and a truncated body
// followed by a close — never as a complete-looking response.
func TestProxyBackendFailsMidResponse(t *testing.T) {
	t.Parallel()
	part := strings.Repeat("a", 500)
	cases := []struct {
		name, sent    string
		backendCloses bool // the backend closes once the client has the head; else Mantrid must
	}{
		{"Content-Length body cut", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + part, true},
		{"chunked body cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n" + part + "\r\n", true},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n" + part + "\r\nzz\r\n" + part + "\r\n", false},
	}
	type fixture struct {
		release, eof chan struct{}
		host         string
	}
	fx := make([]fixture, len(cases))
	rules := map[string]string{}
	for i, tc := range cases {
		f := fixture{release: make(chan struct{}), eof: make(chan struct{}), host: fmt.Sprintf("cut%d.test", i)}
		fx[i] = f
		rb := newRawBackend(t, func(rc *rawConn) {
			if _, err := rc.readRequest(); err != nil {
				return
			}
			rc.write(tc.sent)
			if tc.backendCloses {
				select {
				case <-f.release:
				case <-rc.b.done:
				}
				return
			}
			_ = rc.waitEOF()
			close(f.eof)
		})
		rules[f.host] = proxyRule(1, 0, rb.port)
	}
	be := newHTTPBackend(t)
	rules["ok.test"] = proxyRule(1, 0, be.port)
	p := startMantrid(t, "", stateWith(rules))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient(t, p.addr())
			setDeadline(t, cl, 3*time.Second)
			cl.send(reqGET(fx[i].host, "/", "cut"))
			resp, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
			require.NoError(t, err, "the response head must be forwarded while the body is still arriving")
			require.Equal(t, 200, resp.StatusCode, "status of the cut response")
			if tc.backendCloses {
				close(fx[i].release)
			}
			body, err := io.ReadAll(resp.Body)
			assert.Error(t, err, "a cut body must not look complete: read %d bytes and a clean end", len(body))
			assert.Less(t, len(body), 1000, "body bytes")
			assert.True(t, cl.closedByPeer(), "the client connection is closed after a failed response")
			if !tc.backendCloses {
				select {
				case <-fx[i].eof:
				case <-time.After(3 * time.Second):
					t.Error("Mantrid kept its connection to a backend that sent a bad chunk")
				}
			}
		})
	}
	t.Run("still serving", func(t *testing.T) {
		cl := newClient(t, p.addr())
		followUp(t, cl, "ok.test", "alive")
	})
}

// TestProxyInvalidBackendResponseIs502: a response head that does not parse
// or whose framing is ambiguous gets 502 and is never forwarded; Mantrid
// closes its connection to that backend (RFC 9112 §6.3).
func TestProxyInvalidBackendResponseIs502(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, sent string }{
		{"not HTTP", "HELLO SMUGGLED\r\n\r\n"},
		{"status code not three digits", "HTTP/1.1 2000 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"},
		{"differing Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nContent-Length: 9\r\n\r\nSMUGGLED!"},
		{"bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 8x\r\n\r\nSMUGGLED"},
		{"Content-Length with Transfer-Encoding", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n"},
	}
	eofs := make([]chan struct{}, len(cases))
	rules := map[string]string{}
	for i, tc := range cases {
		eof := make(chan struct{})
		eofs[i] = eof
		rb := newRawBackend(t, func(rc *rawConn) {
			if _, err := rc.readRequest(); err != nil {
				return
			}
			rc.write(tc.sent)
			_ = rc.waitEOF()
			close(eof)
		})
		rules[fmt.Sprintf("bad%d.test", i)] = proxyRule(1, 0, rb.port)
	}
	p := startMantrid(t, "", stateWith(rules))
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient(t, p.addr())
			setDeadline(t, cl, 3*time.Second)
			cl.send(reqGET(fmt.Sprintf("bad%d.test", i), "/", "bad"))
			resp, body, err := readResp(cl.br, "GET")
			require.NoError(t, err, "backend sent %q", tc.sent)
			assert.Equal(t, 502, resp.StatusCode, "backend sent %q", tc.sent)
			assert.NotContains(t, string(body), "SMUGGLED", "backend bytes forwarded")
			select {
			case <-eofs[i]:
			case <-time.After(3 * time.Second):
				t.Errorf("Mantrid kept its connection to a backend that sent %q", tc.sent)
			}
		})
	}
}

// TestProxyNoRetryOnceSent: SPEC §9.2. A backend that accepts, reads the
// request and closes without answering gets it once, and the client gets
// 502 — the request is not retried on the other backend.
func TestProxyNoRetryOnceSent(t *testing.T) {
	t.Parallel()
	good := newHTTPBackend(t)
	closer := newRawBackend(t, func(rc *rawConn) { _, _ = rc.readRequest() })
	p := startMantrid(t, "", stateWith(map[string]string{"once.test": proxyRule(3, 0.05, closer.port, good.port)}))
	var to502, to200 int
	for i := range 40 {
		id := fmt.Sprintf("once-%d", i)
		cl := newClient(t, p.addr())
		cl.send(reqGET("once.test", "/o", id))
		resp, body := cl.read("GET")
		atCloser, atGood := len(closer.byID(id)), good.count(id)
		require.Equal(t, 1, atCloser+atGood, "%s reached the closing backend %d times and the good one %d times, want exactly once in all (status %d)",
			id, atCloser, atGood, resp.StatusCode)
		if atCloser == 1 {
			to502++
			assert.Equal(t, 502, resp.StatusCode, "%s: the backend took the request and closed without answering", id)
		} else {
			to200++
			assert.NoError(t, checkEcho(resp, []byte(body), "GET", "once.test", "/o", id))
		}
		cl.c.Close()
	}
	t.Logf("%d went to the closing backend, %d to the good one", to502, to200)
	assert.Positive(t, to502, "no request picked the closing backend (chance 2^-40)")
	assert.Positive(t, to200, "no request picked the good backend (chance 2^-40)")
}

// TestProxyClientLeavesWhileBackendHangs: SPEC §9.3 and §9.10. A client
// that leaves while its request waits on a silent backend ends the request:
// open_requests returns to 0 and the backend connection is closed.
func TestProxyClientLeavesWhileBackendHangs(t *testing.T) {
	t.Parallel()
	got := make(chan struct{}, 1)
	eof := make(chan struct{})
	var once sync.Once
	rb := newRawBackend(t, func(rc *rawConn) {
		if _, err := rc.readRequest(); err != nil {
			return
		}
		got <- struct{}{}
		_ = rc.waitEOF()
		once.Do(func() { close(eof) })
	})
	p := startMantrid(t, "", stateWith(map[string]string{"hang.test": proxyRule(1, 0, rb.port)}))
	base := p.apiURL()
	cl := newClient(t, p.addr())
	cl.send(reqGET("hang.test", "/", "hang-1"))
	select {
	case <-got:
	case <-time.After(3 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	s, ok := pollStats(base, "hang.test", 2*time.Second, func(s wireStats) bool { return s.OpenRequests == 1 })
	assert.True(t, ok, "open_requests while the request waits on the backend: %+v, want 1", s)
	cl.c.Close()
	assertOpenReturnsToZero(t, base, "hang.test")
	select {
	case <-eof:
	case <-time.After(5 * time.Second):
		t.Error("Mantrid kept the backend connection of a request whose client left")
	}
}

// countingConn counts the bytes read from and written to a connection.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written.Add(int64(n))
	return n, err
}

// TestProxyStatsMatchClientBytes: SPEC §6 and §9.10. After proxied traffic
// stops, the host's counters equal what the clients sent and received.
func TestProxyStatsMatchClientBytes(t *testing.T) {
	be := newHTTPBackend(t)
	const host = "stats.test"
	p := startMantrid(t, "", stateWith(map[string]string{host: proxyRule(1, 0, be.port)}))
	var conns []*countingConn
	newCounted := func() *client {
		c := dial(t, p.addr())
		require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
		cc := &countingConn{Conn: c}
		conns = append(conns, cc)
		return &client{t: t, c: cc, br: bufio.NewReader(cc)}
	}
	requests := 0
	c1 := newCounted()
	for i := range 5 {
		c1.send(reqGET(host, fmt.Sprintf("/s/%d", i), fmt.Sprintf("st-%d", i)))
		resp, _ := c1.read("GET")
		require.Equal(t, 200, resp.StatusCode)
		requests++
	}
	c1.send("POST /s/cl HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("x", 10000))
	resp, _ := c1.read("POST")
	assert.Equal(t, "10000", resp.Header.Get("X-Body-Len"))
	c1.send("POST /s/ch HTTP/1.1\r\nHost: " + host + "\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n" + strings.Repeat("y", 5000) + "\r\n0\r\n\r\n")
	resp, _ = c1.read("POST")
	assert.Equal(t, "5000", resp.Header.Get("X-Body-Len"))
	c1.send("HEAD /download?n=1234 HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
	resp, _ = c1.read("HEAD")
	assert.Equal(t, int64(1234), resp.ContentLength)
	c1.send("GET /download?n=300000&seed=5&te=chunked HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
	_, body := c1.read("GET")
	assert.Len(t, body, 300000)
	requests += 4

	c2 := newCounted()
	var sb strings.Builder
	for i := range 10 {
		sb.WriteString(reqGET(host, fmt.Sprintf("/p/%d", i), fmt.Sprintf("sp-%d", i)))
	}
	c2.send(sb.String())
	for range 10 {
		resp, _ := c2.read("GET")
		assert.Equal(t, 200, resp.StatusCode)
	}
	requests += 10

	var sent, received int64
	for _, cc := range conns {
		sent += cc.written.Load()
		received += cc.read.Load()
	}
	want := wireStats{OpenRequests: 0, CompletedRequests: int64(requests), BytesSent: received, BytesReceived: sent}
	got, _ := pollStats(p.apiURL(), host, 3*time.Second, func(s wireStats) bool { return s == want })
	assert.Equal(t, want.CompletedRequests, got.CompletedRequests, "completed_requests")
	assert.Equal(t, want.BytesReceived, got.BytesReceived, "bytes_received: the clients wrote %d bytes", sent)
	assert.Equal(t, want.BytesSent, got.BytesSent, "bytes_sent: the clients read %d bytes", received)
	assert.Equal(t, int64(0), got.OpenRequests, "open_requests")
}

// TestProxyUpgradeTunnel: SPEC §5. An Upgrade request answered 101 becomes a
// two-way byte tunnel, and a half-close travels through it.
func TestProxyUpgradeTunnel(t *testing.T) {
	t.Parallel()
	eofSeen := make(chan struct{})
	rb := newRawBackend(t, func(rc *rawConn) {
		if _, err := rc.readRequest(); err != nil {
			return
		}
		rc.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nhello from backend\n")
		for {
			line, err := rc.br.ReadString('\n')
			if err != nil {
				if err == io.EOF && line == "" {
					close(eofSeen)
					rc.write("bye\n") // still allowed after the client's half-close
				}
				return
			}
			rc.write("echo: " + line)
		}
	})
	p := startMantrid(t, "", stateWith(map[string]string{"ws.test": proxyRule(1, 0, rb.port)}))
	cl := newClient(t, p.addr())
	cl.send("GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + reqIDHeader + ": ws-1\r\n\r\n")
	resp, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
	require.NoError(t, err)
	require.Equal(t, 101, resp.StatusCode, "answer to an Upgrade request")
	assert.True(t, strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"), "Upgrade header of the 101: %q", resp.Header.Get("Upgrade"))
	assert.True(t, hasToken(resp.Header.Values("Connection"), "upgrade"), "Connection of the 101: %q", resp.Header.Values("Connection"))
	if reqs := rb.requests(); assert.Len(t, reqs, 1) {
		r := reqs[0]
		assert.Equal(t, []string{"websocket"}, r.values("Upgrade"), "Upgrade forwarded to the backend")
		assert.True(t, hasToken(r.values("Connection"), "upgrade"), "Connection at the backend %q lists upgrade", r.values("Connection"))
		assert.Equal(t, []string{"dGhlIHNhbXBsZSBub25jZQ=="}, r.values("Sec-WebSocket-Key"))
	}

	line, err := cl.br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "hello from backend\n", line, "backend's first message through the tunnel")
	for i := range 5 {
		msg := fmt.Sprintf("message %d\n", i)
		cl.send(msg)
		line, err := cl.br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "echo: "+msg, line)
	}
	bigMsg := strings.Repeat("0123456789", 50000) + "\n"
	werr := make(chan error, 1)
	go func() { _, err := io.WriteString(cl.c, bigMsg); werr <- err }()
	line, err = cl.br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, len("echo: "+bigMsg), len(line), "500 kB message echoed")
	assert.Equal(t, "echo: "+bigMsg, line)
	require.NoError(t, <-werr)

	require.NoError(t, cl.c.(*net.TCPConn).CloseWrite())
	select {
	case <-eofSeen:
	case <-time.After(3 * time.Second):
		t.Fatal("the backend did not see EOF after the client's CloseWrite")
	}
	line, err = cl.br.ReadString('\n')
	assert.NoError(t, err)
	assert.Equal(t, "bye\n", line, "the backend's message after the client's half-close")
	_, err = cl.br.ReadByte()
	assert.Equal(t, io.EOF, err, "the tunnel closes after the backend closes")
}

// hasToken reports whether a comma-separated field list holds token
// (case-insensitive).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// vmRSS returns the resident set size of process pid, in bytes.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// TestProxySlowReaderBoundedMemory: SPEC §5 and §9.9. A client reading a
// 200 MB response at 1 MB/s slows the backend down; Mantrid's memory does
// not grow with what the backend could send.
func TestProxySlowReaderBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: reads slowly for about 5 s")
	}
	be := newHTTPBackend(t)
	p := startMantrid(t, "", stateWith(map[string]string{"big.test": proxyRule(1, 0, be.port)}))
	pid := p.cmd.Process.Pid
	cl := newClient(t, p.addr())
	setDeadline(t, cl, 30*time.Second)
	followUp(t, cl, "big.test", "warm-up")
	base, err := vmRSS(pid)
	require.NoError(t, err)

	const total, rate, goal = 200 << 20, 1 << 20, 5 << 20
	cl.send(reqGET("big.test", fmt.Sprintf("/download?n=%d&seed=3", total), "slow"))
	resp, err := http.ReadResponse(cl.br, &http.Request{Method: "GET"})
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	const tickEvery = 50 * time.Millisecond
	buf := make([]byte, rate/int(time.Second/tickEvery))
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	var read, peak int64
	var samples []int64
	for read < goal {
		<-tick.C
		n, err := io.ReadFull(resp.Body, buf)
		read += int64(n)
		require.NoError(t, err, "after %d bytes", read)
		rss, err := vmRSS(pid)
		require.NoError(t, err)
		samples = append(samples, rss)
		peak = max(peak, rss)
	}
	written := be.written.Load()
	cl.c.Close()
	growth := peak - base
	t.Logf("read %d MiB at 1 MiB/s; Mantrid RSS %d MiB at start, peak %d MiB (growth %.1f MiB); backend wrote %d MiB; last samples (MiB) %v",
		read>>20, base>>20, peak>>20, float64(growth)/(1<<20), written>>20, mib(samples[max(0, len(samples)-5):]))
	assert.Less(t, growth, int64(16<<20), "Mantrid RSS growth while a client reads slowly: %d bytes", growth)
	assert.Less(t, written, int64(100<<20), "the backend was not slowed down: it wrote %d of %d bytes while the client read %d", written, total, read)
}

// mib converts byte counts to MiB for messages.
func mib(xs []int64) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = x >> 20
	}
	return out
}

// TestProxyBackendHangsGets504: a backend that accepts the request and
// never answers gets the client a 504 after backend_timeout, and the
// request is counted as ended.
func TestProxyBackendHangsGets504(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // held open, never answered
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	p := startMantrid(t, "backend_timeout = 0.5\n", stateWith(map[string]string{"hang.test": proxyRule(1, 0, port)}))
	cl := newClient(t, p.addr())
	start := time.Now()
	resp, _ := cl.get("hang.test", "/")
	elapsed := time.Since(start)
	assert.Equal(t, 504, resp.StatusCode)
	assert.GreaterOrEqual(t, elapsed, 400*time.Millisecond, "waited for backend_timeout")
	assert.Less(t, elapsed, 3*time.Second)
	assertOpenReturnsToZero(t, p.apiURL(), "hang.test")
}
