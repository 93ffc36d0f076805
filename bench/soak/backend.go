package main

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Headers of the soak's protocol between clients, Mantrid and the backend.
const (
	hdrID      = "X-Request-Id" // the request's unique id; echoed by the backend
	hdrBodyLen = "X-Body-Len"   // backend → client: bytes of request body it read
	hdrBodyCRC = "X-Body-Crc"   // backend → client: CRC-32 (IEEE) of that body, decimal
	hdrLoad    = "X-Soak-Load"  // "wrk" on wrk's requests, which carry no id
	hdrSentAt  = "X-Sent-At"    // client → backend: when the client sent the request, Unix ns
)

const (
	// maxNotes bounds the examples of each kind of problem kept for the
	// report.
	maxNotes = 20
	// patternLen is the length of the response body pattern.
	patternLen = 64 << 10
	// wrkReply is the body of an answer to wrk.
	wrkReply = "ok\n"
	// listenWait is how long start retries binding the backend's port.
	listenWait = 5 * time.Second
)

// pattern is the content of every response body: byte i of a body of n
// bytes is pattern[i%patternLen].
var pattern = func() []byte {
	b := make([]byte, patternLen)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// backend is the soak's origin server: it records every request id it
// receives (a second receipt is a duplicate), checks and echoes the
// request body's length and checksum, and answers with a body of the
// requested size, by Content-Length or chunked. It can be stopped
// (gracefully: requests under way finish) and started again on the same
// port. Its methods are safe for concurrent use.
type backend struct {
	addr  string // 127.0.0.1:port, fixed for its life
	nonce string // the run's id prefix

	mu      sync.Mutex
	seen    [][]uint8 // per client, per sequence number: receipts, saturating at 255
	dupes   []string  // examples of duplicated ids
	bad     []string  // examples of requests that were not ours or not readable
	spinIDs []string  // examples of requests forwarded though sent after spin went live
	srv     *http.Server
	served  chan struct{} // closed when the current srv.Serve returns
	conns   connTracker

	// spinLive is set by the flipper to the time (Unix ns) the API
	// answered the PUT of the spin rule, and cleared before the PUT of the
	// proxy rule. A request a client sent after it must be held by spin:
	// reaching the backend is a violation.
	spinLive atomic.Int64
	// lastArrival (Unix ns) and active let the flipper wait until requests
	// under way have reached the backend and finished before stopping it.
	lastArrival, active atomic.Int64

	requests, wrk, dupCount, badCount atomic.Int64
	// afterSpin counts requests sent after spin went live that reached the
	// backend (violations); inFlight those sent before that arrived while
	// spin was live (fine: routed to proxy before the change); wrkInSpin
	// wrk's requests that arrived while spin was live (they carry no send
	// time, so cannot be judged).
	afterSpin, inFlight, wrkInSpin atomic.Int64
	restarts, listenRetries        atomic.Int64
}

// newBackend starts a backend on a free loopback port for clients
// client ids.
func newBackend(nonce string, clients int, rng *rand.Rand) (*backend, error) {
	ln, err := listenBelowEphemeral(rng)
	if err != nil {
		return nil, err
	}
	b := &backend{addr: ln.Addr().String(), nonce: nonce, seen: make([][]uint8, clients)}
	b.serve(ln)
	return b, nil
}

// listenBelowEphemeral listens on a free loopback port below the kernel's
// ephemeral range (ip_local_port_range), so that while the backend is
// stopped no outgoing connection of any process can be given its port and
// keep it from listening again. It falls back to port 0.
func listenBelowEphemeral(rng *rand.Rand) (net.Listener, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const first = 10000
	for range 100 {
		if low <= first {
			break
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(first+rng.IntN(low-first)))
		if err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// serve answers on ln in a new goroutine until stop.
func (b *backend) serve(ln net.Listener) {
	srv := &http.Server{Handler: b, ReadHeaderTimeout: time.Minute, IdleTimeout: 5 * time.Minute, ConnState: b.conns.hook}
	done := make(chan struct{})
	b.mu.Lock()
	b.srv, b.served = srv, done
	b.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
}

// stop closes the listener and idle connections and waits for requests
// under way to finish (http.Server.Shutdown; it also closes connections
// that carried no request for 5 s); if ctx ends first it closes every
// connection and returns ctx's error. It returns the connections it found.
func (b *backend) stop(ctx context.Context) (connSnapshot, error) {
	b.mu.Lock()
	srv, done := b.srv, b.served
	b.srv = nil
	b.mu.Unlock()
	if srv == nil {
		return connSnapshot{}, nil
	}
	snap := b.conns.snapshot()
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	<-done
	return snap, err
}

// start listens on the backend's port again after stop.
func (b *backend) start() error {
	deadline := time.Now().Add(listenWait)
	for {
		ln, err := net.Listen("tcp", b.addr)
		if err == nil {
			b.restarts.Add(1)
			b.serve(ln)
			return nil
		}
		b.listenRetries.Add(1)
		if time.Now().After(deadline) {
			return fmt.Errorf("backend: listen on %s again: %w", b.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// note keeps an example of a problem, up to maxNotes of each kind.
func (b *backend) note(list *[]string, format string, args ...any) {
	b.mu.Lock()
	if len(*list) < maxNotes {
		*list = append(*list, fmt.Sprintf(format, args...))
	}
	b.mu.Unlock()
}

// ServeHTTP answers one request (see backend).
func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.requests.Add(1)
	b.lastArrival.Store(time.Now().UnixNano())
	b.active.Add(1)
	defer b.active.Add(-1)
	id := r.Header.Get(hdrID)
	live := b.spinLive.Load()
	if id == "" && r.Header.Get(hdrLoad) == "wrk" {
		if live != 0 {
			b.wrkInSpin.Add(1)
		}
		b.wrk.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(len(wrkReply)))
		_, _ = io.WriteString(w, wrkReply)
		return
	}
	c, seq, ok := parseID(b.nonce, id, len(b.seen))
	if !ok {
		b.badCount.Add(1)
		b.note(&b.bad, "%s %q: not an id of this run", r.Method, id)
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	if n := b.record(c, seq); n > 1 {
		b.dupCount.Add(1)
		b.note(&b.dupes, "%s received %d times", id, n)
	}
	if live != 0 {
		b.judgeSpin(id, r.Header.Get(hdrSentAt), live)
	}
	h := crc32.NewIEEE()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		b.badCount.Add(1)
		b.note(&b.bad, "%s %s: reading the body: %v", r.Method, id, err)
		return
	}
	size, _ := strconv.Atoi(r.URL.Query().Get("resp"))
	chunked := r.URL.Query().Get("chunked") == "1"
	w.Header().Set(hdrID, id)
	w.Header().Set(hdrBodyLen, strconv.FormatInt(n, 10))
	w.Header().Set(hdrBodyCRC, strconv.FormatUint(uint64(h.Sum32()), 10))
	writePattern(w, size, chunked)
}

// judgeSpin classifies a request that arrived while spin was live by when
// its client sent it.
func (b *backend) judgeSpin(id, sentAt string, live int64) {
	sent, err := strconv.ParseInt(sentAt, 10, 64)
	switch {
	case err != nil:
		b.badCount.Add(1)
		b.note(&b.bad, "%s: bad %s %q", id, hdrSentAt, sentAt)
	case sent > live:
		b.afterSpin.Add(1)
		b.note(&b.spinIDs, "%s sent %s after spin went live, reached the backend %s after",
			id, time.Duration(sent-live), time.Duration(time.Now().UnixNano()-live))
	default:
		b.inFlight.Add(1)
	}
}

// writePattern sends size bytes of pattern, chunked (the head is flushed
// before any byte, so net/http must use chunked framing) or with
// Content-Length.
func writePattern(w http.ResponseWriter, size int, chunked bool) {
	if chunked {
		w.(http.Flusher).Flush()
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(size))
	}
	for size > 0 {
		n := min(size, patternLen)
		if _, err := w.Write(pattern[:n]); err != nil {
			return
		}
		size -= n
	}
}

// record counts a receipt of (client, seq) and returns how many there were.
func (b *backend) record(c, seq int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.seen[c]
	for seq >= len(s) {
		s = append(s, make([]uint8, max(1024, len(s)))...)
	}
	if s[seq] < 255 {
		s[seq]++
	}
	b.seen[c] = s
	return int(s[seq])
}

// receipts returns how many times the backend received (client, seq).
func (b *backend) receipts(c, seq int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.seen[c]; seq < len(s) {
		return int(s[seq])
	}
	return 0
}

// beyond returns how many receipts client c has at sequence numbers ≥
// sent: requests the client never sent.
func (b *backend) beyond(c, sent int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for i := sent; i < len(b.seen[c]); i++ {
		n += int(b.seen[c][i])
	}
	return n
}

// formatID returns the id of request seq of client c: "NONCE-C-SEQ".
func formatID(nonce string, c, seq int) string {
	return nonce + "-" + strconv.Itoa(c) + "-" + strconv.Itoa(seq)
}

// parseID splits an id made by formatID of this run, with a client below
// clients.
func parseID(nonce, id string, clients int) (c, seq int, ok bool) {
	f := strings.Split(id, "-")
	if len(f) != 3 || f[0] != nonce {
		return 0, 0, false
	}
	c, err1 := strconv.Atoi(f[1])
	seq, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || c < 0 || c >= clients || seq < 0 || formatID(nonce, c, seq) != id {
		return 0, 0, false
	}
	return c, seq, true
}
