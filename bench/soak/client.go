package main

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Outcomes of a client's request, one byte per sequence number.
const (
	outNoAnswer uint8 = iota // the connection failed before a whole answer
	outOK                    // 200 with its own id, body checksum and response body
	outStatus                // another status
	outMismatch              // 200, but another id, a wrong checksum or a wrong response body
)

// Request kinds, for the mix in the report.
const (
	kindGET = iota
	kindPOST
	kindChunked
	numKinds
)

var kindNames = [numKinds]string{"GET", "POST Content-Length", "POST chunked"}

// randomBodyLen is the size of the random bytes request bodies are cut from,
// and the largest body.
const randomBodyLen = 1 << 20

// client sends requests one after the other over one keep-alive connection
// to Mantrid (a new one after any failure), each with a unique id, and
// checks every answer. It runs in one goroutine; its fields are read after
// run returns.
type client struct {
	n       int    // client number, in the ids
	nonce   string // the run's id prefix
	addr    string // Mantrid's public listener
	host    string // Host header
	body    []byte // random bytes, read-only, shared by all clients
	timeout time.Duration
	rng     *rand.Rand
	start   time.Time // of the load, for the times in examples

	outcomes []uint8 // per sequence number
	statuses map[int]int64
	kinds    [numKinds]int64
	problems map[string]int64 // count per kind of problem
	examples []string
	windows  [][2]time.Duration // of the examples: request start and problem, since the load started
	reqStart time.Time          // of the request under way
	dialErrs int64
	stray    int64 // connections with bytes after their last answer
	conns    int64
	maxLat   time.Duration

	bytesOut, bytesIn int64 // of closed connections

	conn *countingConn
	br   *bufio.Reader
	bw   *bufio.Writer
}

// newClient returns client n.
func newClient(n int, nonce, addr, host string, body []byte, timeout time.Duration, seed uint64, start time.Time) *client {
	return &client{
		n: n, nonce: nonce, addr: addr, host: host, body: body, timeout: timeout, start: start,
		rng:      rand.New(rand.NewPCG(seed, uint64(n))),
		statuses: map[int]int64{}, problems: map[string]int64{},
	}
}

// countingConn counts the bytes read and written through it.
type countingConn struct {
	net.Conn
	in, out int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in += int64(n)
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out += int64(n)
	return n, err
}

// run sends requests until stop is closed; the request under way finishes.
func (c *client) run(stop <-chan struct{}) {
	defer c.closeConn()
	defer c.checkNothingMore()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if c.conn == nil {
			nc, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
			if err != nil {
				c.dialErrs++
				c.problem("dial: "+err.Error(), "")
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			c.conns++
			c.conn = &countingConn{Conn: nc}
			c.br = bufio.NewReaderSize(c.conn, 32<<10)
			c.bw = bufio.NewWriterSize(c.conn, 32<<10)
		}
		c.one()
	}
}

// checkNothingMore reads for a moment after the last answer: Mantrid
// must not send anything more (a second answer, stray bytes).
func (c *client) checkNothingMore() {
	if c.conn == nil {
		return
	}
	c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if b, err := c.br.Peek(1); len(b) > 0 {
		c.stray++
		c.problem("bytes after the last answer", fmt.Sprintf("%d buffered (%v)", c.br.Buffered(), err))
	}
}

// bytes returns what the client wrote and read in all.
func (c *client) bytes() (out, in int64) { return c.bytesOut, c.bytesIn }

// closeConn closes the connection and adds its byte counts to the totals.
func (c *client) closeConn() {
	if c.conn == nil {
		return
	}
	c.conn.Close()
	c.bytesOut += c.conn.out
	c.bytesIn += c.conn.in
	c.conn, c.br, c.bw = nil, nil, nil
}

// problem counts one problem of kind what, keeping the first examples
// with the time since the load started.
func (c *client) problem(what, detail string) {
	c.problems[what]++
	if len(c.examples) < maxNotes {
		at := time.Since(c.start)
		c.windows = append(c.windows, [2]time.Duration{min(c.reqStart.Sub(c.start), at), at})
		c.examples = append(c.examples, fmt.Sprintf("at %s client %d: %s %s", at.Round(time.Millisecond), c.n, what, detail))
	}
}

// request is one request a client sends.
type request struct {
	id      string
	kind    int
	body    []byte
	resp    int  // response body bytes asked for
	chunked bool // response asked to be chunked
}

// String describes r for the report.
func (r request) String() string {
	return fmt.Sprintf("%s (%s, body %d B, response %d B, chunked %v)", r.id, kindNames[r.kind], len(r.body), r.resp, r.chunked)
}

// newRequest picks the next request: half GETs, the rest POSTs with a body
// by Content-Length or chunked; body and response sizes from sizeOf.
func (c *client) newRequest(seq int) request {
	r := request{id: formatID(c.nonce, c.n, seq), resp: c.sizeOf(), chunked: c.rng.IntN(3) == 0}
	switch p := c.rng.IntN(10); {
	case p < 5:
		r.kind = kindGET
	case p < 8:
		r.kind = kindPOST
	default:
		r.kind = kindChunked
	}
	if r.kind != kindGET {
		n := c.sizeOf()
		off := c.rng.IntN(len(c.body) - n + 1)
		r.body = c.body[off : off+n]
	}
	return r
}

// sizeOf picks a body size: 40 % up to 512 B, 30 % up to 16 KiB, 20 % up
// to 128 KiB, 9 % up to 512 KiB (past Mantrid's 128 KiB hand-over to a
// transfer goroutine), 1 % up to 1 MiB.
func (c *client) sizeOf() int {
	switch p := c.rng.IntN(100); {
	case p < 40:
		return c.rng.IntN(513)
	case p < 70:
		return 512 + c.rng.IntN(16<<10)
	case p < 90:
		return 16<<10 + c.rng.IntN(112<<10)
	case p < 99:
		return 128<<10 + c.rng.IntN(384<<10)
	}
	return 512<<10 + c.rng.IntN(randomBodyLen-512<<10+1)
}

// writeRequest writes r's head and body to bw.
func (c *client) writeRequest(r request) error {
	method := "GET"
	if r.kind != kindGET {
		method = "POST"
	}
	chunked := 0
	if r.chunked {
		chunked = 1
	}
	fmt.Fprintf(c.bw, "%s /soak/%s?resp=%d&chunked=%d HTTP/1.1\r\nHost: %s\r\n%s: %s\r\n%s: %d\r\n",
		method, r.id, r.resp, chunked, c.host, hdrID, r.id, hdrSentAt, time.Now().UnixNano())
	switch r.kind {
	case kindGET:
		c.bw.WriteString("\r\n")
	case kindPOST:
		fmt.Fprintf(c.bw, "Content-Length: %d\r\n\r\n", len(r.body))
		c.bw.Write(r.body)
	case kindChunked:
		c.bw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for rest := r.body; len(rest) > 0; {
			n := 1 + c.rng.IntN(min(len(rest), 64<<10))
			fmt.Fprintf(c.bw, "%x\r\n", n)
			c.bw.Write(rest[:n])
			c.bw.WriteString("\r\n")
			rest = rest[n:]
		}
		c.bw.WriteString("0\r\n\r\n")
	}
	return c.bw.Flush()
}

// one sends one request and records its outcome.
func (c *client) one() {
	seq := len(c.outcomes)
	r := c.newRequest(seq)
	c.kinds[r.kind]++
	c.outcomes = append(c.outcomes, outNoAnswer)
	start := time.Now()
	c.reqStart = start
	c.conn.SetDeadline(start.Add(c.timeout))
	if err := c.writeRequest(r); err != nil {
		c.problem("no answer (write)", r.String()+": "+err.Error())
		c.closeConn()
		return
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.problem("no answer (read)", r.String()+": "+err.Error())
		c.closeConn()
		return
	}
	check := &patternCheck{}
	_, err = io.Copy(check, resp.Body)
	resp.Body.Close()
	c.maxLat = max(c.maxLat, time.Since(start))
	if err != nil {
		c.problem("no answer (body)", fmt.Sprintf("%s: status %d: %v", r, resp.StatusCode, err))
		c.closeConn()
		return
	}
	c.statuses[resp.StatusCode]++
	c.outcomes[seq] = c.judge(r, resp, check, time.Since(start))
	if resp.Close {
		c.closeConn()
	}
}

// judge checks a whole answer to r, which took took.
func (c *client) judge(r request, resp *http.Response, check *patternCheck, took time.Duration) uint8 {
	if resp.StatusCode != http.StatusOK {
		c.problem(fmt.Sprintf("status %d", resp.StatusCode), fmt.Sprintf("%s after %s", r, took.Round(time.Millisecond)))
		return outStatus
	}
	wantCRC := strconv.FormatUint(uint64(crc32.ChecksumIEEE(r.body)), 10)
	var bad string
	switch {
	case resp.Header.Get(hdrID) != r.id:
		bad = fmt.Sprintf("answer carries id %q", resp.Header.Get(hdrID))
	case resp.Header.Get(hdrBodyLen) != strconv.Itoa(len(r.body)):
		bad = fmt.Sprintf("backend read %s body bytes, sent %d", resp.Header.Get(hdrBodyLen), len(r.body))
	case resp.Header.Get(hdrBodyCRC) != wantCRC:
		bad = fmt.Sprintf("backend's body checksum %s, sent %s", resp.Header.Get(hdrBodyCRC), wantCRC)
	case check.bad || check.n != int64(r.resp):
		bad = fmt.Sprintf("response body of %d bytes (want %d), content ok: %v", check.n, r.resp, !check.bad)
	}
	if bad != "" {
		c.problem("mismatch", r.String()+": "+bad)
		return outMismatch
	}
	return outOK
}

// patternCheck compares a response body with pattern as it is written.
type patternCheck struct {
	n   int64
	bad bool
}

func (p *patternCheck) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		off := int(p.n % patternLen)
		k := min(len(b), patternLen-off)
		if !p.bad && !bytes.Equal(b[:k], pattern[off:off+k]) {
			p.bad = true
		}
		p.n += int64(k)
		b = b[k:]
	}
	return n, nil
}
