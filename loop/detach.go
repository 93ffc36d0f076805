package loop

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/httpparse"
	"github.com/panjf2000/gnet/v2"
)

// highWater is how many bytes may wait for a client before the rest of a
// response body is handed to a goroutine (DESIGN.md: gnet cannot pause
// reading, so a slow reader would otherwise make Mantrid buffer the whole
// body). In the goroutine, unread bytes wait in the kernel: real TCP
// backpressure, and the copy uses splice(2).
const highWater = 128 << 10

// bigBody is the Content-Length rest above which a response body is handed
// to the goroutine even for a fast client: splice(2) moves it without
// copying it through user space, at about half the CPU of the relay, and
// one hand-off (~90 µs) is small against a body this size.
const bigBody = 1 << 20

// copyChunk bounds one splice between deadline refreshes: the client must
// take this much within idle_timeout (the backend send it within
// backend_timeout), or the transfer ends. It is small so that a slow but
// steady client is not cut off: 4 MiB asked 70 kB/s of every client at
// the default 60 s (TestGreedySlowSteadyReaderIsNotCut); 256 KiB asks
// about 4 kB/s and costs no measurable throughput (1 GiB through splice
// at 0.7–0.8 GiB/s either way). A deadline that passes mid-splice may drop
// the bytes in splice's pipe, so a copy never resumes after one.
const copyChunk = 256 << 10

// transfer is a response body (or an Upgrade tunnel) being copied by a
// goroutine between two connections taken off gnet. The fields up to mu
// are set on the loop before the goroutine starts and read by it; the
// results (sent, received, carry, reuse) are written by the goroutine and
// read on the loop after re-enrolling, which orders them.
type transfer struct {
	el       *eventLoop
	cc       *clientConn
	be       *backendConn
	beFD     int
	clFD     int
	tunnel   bool
	upload   bool // the request body goes up (upload.go), not a response down
	framing  respFraming
	bodyLeft int64
	dechunk  bool
	chunked  httpparse.ChunkedDecoder
	keep     bool   // the client connection goes on after the body
	carry    []byte // client bytes read by gnet ahead of the hand-off

	// waitOut and waitSince watch, on the loop, the side whose gnet output
	// must be written before the hand-off (the client of a response, the
	// backend of an upload): its bytes at the last look, and when they
	// last went down (engine ns). See stalled.
	waitOut   int
	waitSince int64

	mu     sync.Mutex // guards beConn and clConn against Engine.Stop
	beConn net.Conn
	clConn net.Conn

	sent     int64 // to the client
	received int64 // from the client (tunnels)
	reuse    bool  // the backend connection can serve another request
}

// detach hands the rest of the response to a goroutine: it dups the
// backend's fd and lets gnet close its own, so that unread bytes stay in
// the kernel; the client follows once gnet has written what it holds for
// it (checkFlushed). It returns the action for the backend's callback.
func (be *backendConn) detach(cc *clientConn, tunnel bool) gnet.Action {
	fd, err := be.c.Dup()
	if err != nil {
		return gnet.None // stay on gnet: unbounded, but correct
	}
	t := &transfer{el: be.el, cc: cc, be: be, beFD: fd, clFD: -1, tunnel: tunnel,
		framing: be.framing, bodyLeft: be.bodyLeft, dechunk: be.dechunk, chunked: be.chunked, keep: cc.px.keep,
		waitOut: cc.c.OutboundBuffered(), waitSince: be.el.e.now()}
	be.state = beDetached
	cc.xfer = t
	cc.state = stateDetaching
	unlink(cc)
	el := be.el
	el.e.track(t, true)
	el.detachWait = append(el.detachWait, cc)
	el.armFlushPoll()
	return gnet.Close
}

// stalled reports whether the side being waited for, with out bytes of
// gnet output still unwritten, has taken none of them for d: a peer that
// reads nothing must not hold the hand-off, its connections and its 1 ms
// poll forever (SPEC §9.3: every wait has a timer). It runs on the loop,
// from checkFlushed.
func (t *transfer) stalled(out int, now int64, d time.Duration) bool {
	if out < t.waitOut {
		t.waitSince = now
	}
	t.waitOut = out
	return now-t.waitSince > int64(d)
}

// handOff takes the client off gnet once its output is written: bytes it
// sent ahead are carried, its fd is dup'ed, and gnet closes its own. The
// goroutine starts after that close (see clientConn.onClose).
func (cc *clientConn) handOff() {
	t := cc.xfer
	buf := cc.input()
	t.carry = append([]byte(nil), buf...)
	cc.consume(len(buf))
	fd, err := cc.c.Dup()
	if err != nil {
		syscall.Close(t.beFD)
		cc.el.e.track(t, false)
		cc.xfer = nil
		cc.px.end(false)
		cc.closeNow()
		return
	}
	t.clFD = fd
	cc.state = stateDetached
	_ = cc.c.Close()
}

// start runs the goroutine. It is called on the loop after gnet has closed
// its fds (an Execute queued from OnClose).
func (t *transfer) start() {
	t.el.e.xfers.Add(1)
	go t.run()
}

func (t *transfer) run() {
	defer t.el.e.xfers.Done()
	be, err1 := fdConn(t.beFD)
	cl, err2 := fdConn(t.clFD)
	if err := errors.Join(err1, err2); err != nil {
		closeConns(be, cl)
		t.done(false)
		return
	}
	t.mu.Lock()
	t.beConn, t.clConn = be, cl
	t.mu.Unlock()
	if t.upload {
		t.runUpload(be, cl)
		return
	}
	var err error
	if t.tunnel {
		err = t.pumpTunnel(cl, be)
		closeConns(be, cl)
		t.done(err == nil)
		return
	}
	if err = t.copyBody(cl, be); err != nil || !t.keep {
		closeConns(be, cl)
		t.done(err == nil)
		return
	}
	t.reenroll(be, cl)
}

// reenroll gives both connections back to the client's loop: the backend
// to the pool (when reusable), then the client, whose OnOpen carries on.
// A net.Conn is never touched after it was handed to Enroll.
func (t *transfer) reenroll(be, cl net.Conn) {
	gl := t.el.gl
	if t.reuse {
		t.be.client = nil
		if ch, err := gl.Enroll(gnet.NewContext(context.Background(), t.be), be); err != nil {
			be.Close()
		} else {
			<-ch
		}
	} else {
		be.Close()
	}
	ch, err := gl.Enroll(gnet.NewContext(context.Background(), t.cc), cl)
	if err != nil {
		cl.Close()
		t.done(true)
		return
	}
	if r := <-ch; r.Err != nil {
		t.done(true)
	}
}

// done reports a transfer that ended with the client connection closed.
func (t *transfer) done(completed bool) {
	err := t.el.gl.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		t.cc.transferEnded(completed, false)
		return nil
	}))
	if err != nil { // the engine is gone: just release the count
		t.el.e.track(t, false)
		t.el.e.conns.Add(-1)
	}
}

// transferEnded books a finished transfer on the loop. reopened says the
// client connection is back on gnet (in OnOpen) and goes on.
func (cc *clientConn) transferEnded(completed, reopened bool) {
	t := cc.xfer
	cc.xfer = nil
	cc.el.e.track(t, false)
	cc.px.slot.Sent(int(t.sent))
	cc.px.slot.Received(int(t.received))
	if !reopened {
		cc.px.end(completed)
		cc.el.e.conns.Add(-1)
		return
	}
	cc.closed = false
	cc.carry = t.carry
	if len(cc.carry) == 0 {
		cc.carry = nil
	}
	cc.state = stateProxy
	if t.upload { // the body is up; the response comes on gnet
		cc.px.bodySent = true
		cc.el.proxyWait.push(cc, cc.el.e.now()+int64(cc.el.cfg.BackendTimeout))
		return
	}
	cc.proxyDone(true)
}

// copyBody copies the rest of the response body from be to cl, with
// deadlines: backend_timeout for the backend to send, idle_timeout for the
// client to take each chunk.
func (t *transfer) copyBody(cl, be net.Conn) error {
	cfg := t.el.e.live.Load()
	switch t.framing {
	case frameLength, frameClose:
		if t.dechunk {
			break
		}
		for t.framing == frameClose || t.bodyLeft > 0 {
			n := int64(copyChunk)
			if t.framing == frameLength {
				n = min(n, t.bodyLeft)
			}
			_ = be.SetReadDeadline(time.Now().Add(cfg.BackendTimeout))
			_ = cl.SetWriteDeadline(time.Now().Add(cfg.IdleTimeout))
			m, err := io.CopyN(cl, be, n)
			t.sent += m
			t.bodyLeft -= m
			if t.framing == frameClose && errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		t.reuse = t.be.resp.KeepAlive
		return nil
	}
	return t.copyChunked(cl, be)
}

// copyChunked relays a chunked body, checked by the decoder: as sent, or as
// plain data for an HTTP/1.0 client (whose connection then closes).
func (t *transfer) copyChunked(cl, be net.Conn) error {
	cfg := t.el.e.live.Load()
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, 64<<10)
	for {
		_ = be.SetReadDeadline(time.Now().Add(cfg.BackendTimeout))
		n, err := be.Read(buf)
		p := buf[:n]
		out = out[:0]
		for len(p) > 0 {
			m, data, done, derr := t.chunked.Decode(p)
			if derr != nil {
				return derr
			}
			if t.dechunk {
				out = append(out, data...)
			} else {
				out = append(out, p[:m]...)
			}
			p = p[m:]
			if done {
				t.reuse = len(p) == 0 && t.be.resp.KeepAlive && !t.dechunk
				return t.write(cl, out)
			}
			if m == 0 {
				break
			}
		}
		if werr := t.write(cl, out); werr != nil {
			return werr
		}
		if err != nil {
			return err // EOF before the last chunk: the body was cut
		}
	}
}

func (t *transfer) write(cl net.Conn, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	_ = cl.SetWriteDeadline(time.Now().Add(t.el.e.live.Load().IdleTimeout))
	n, err := cl.Write(p)
	t.sent += int64(n)
	return err
}

// pumpTunnel copies both ways after a 101 until both directions have
// ended, passing each half-close on (CloseWrite), so that either side can
// finish sending after the other stopped.
func (t *transfer) pumpTunnel(cl, be net.Conn) error {
	keepAlive(cl)
	keepAlive(be)
	var wg sync.WaitGroup
	var up int64
	wg.Go(func() {
		n, _ := be.Write(t.carry)
		up = int64(n)
		m, _ := io.Copy(be, cl)
		up += m
		closeWrite(be)
	})
	down, _ := io.Copy(cl, be)
	closeWrite(cl)
	wg.Wait()
	t.sent += down
	t.received += up
	t.carry = nil
	return nil
}

// tunnelKeepAlive finds a vanished peer of an idle tunnel: after 60 s of
// silence, 4 probes 15 s apart. Tunnels have no timeout of their own and
// accepted connections start without keep-alive (cmd/mantrid listen).
var tunnelKeepAlive = net.KeepAliveConfig{Enable: true, Idle: time.Minute, Interval: 15 * time.Second, Count: 4}

func keepAlive(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetKeepAliveConfig(tunnelKeepAlive)
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// fdConn turns a dup'ed fd into a net.Conn on Go's netpoller (which dups it
// once more; the first dup is closed here).
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "mantrid-transfer")
	defer f.Close()
	return net.FileConn(f)
}

func closeConns(cs ...net.Conn) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// track adds (or removes) a transfer from the engine's registry, which
// Stop uses to end transfers that outlive the grace period.
func (e *Engine) track(t *transfer, add bool) {
	e.xferMu.Lock()
	defer e.xferMu.Unlock()
	if add {
		e.xferSet[t] = struct{}{}
	} else {
		delete(e.xferSet, t)
	}
}

// closeTransfers ends every detached transfer (at Stop).
func (e *Engine) closeTransfers() {
	e.xferMu.Lock()
	defer e.xferMu.Unlock()
	for t := range e.xferSet {
		t.mu.Lock()
		closeConns(t.beConn, t.clConn)
		t.mu.Unlock()
	}
}
