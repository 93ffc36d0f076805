package loop

import (
	"context"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/httpparse"
	"github.com/panjf2000/gnet/v2"
)

// A request body that a backend reads more slowly than the client sends
// it is handed to a goroutine like a slow download (detach.go), the other
// way round: once gnet has written everything it holds for both sides,
// both fds are dup'ed and closed on gnet, the goroutine copies the rest of
// the body (splice for Content-Length; decoded and re-chunked otherwise),
// and both return to the loop: the client first, then the backend, which
// then waits for its response on gnet as usual.

// detachUpload starts the hand-off of the rest of the request body. It
// runs on the loop, in the client's callback. The client leaves gnet at
// once, so that its unread bytes wait in the kernel; the backend follows
// once gnet has written what it holds for it (handOffUpload).
func (cc *clientConn) detachUpload() {
	if cc.c.OutboundBuffered() > 0 {
		return // rare (an interim answer on its way): try at the next read
	}
	t := &transfer{el: cc.el, cc: cc, be: cc.px.be, beFD: -1, clFD: -1, upload: true, keep: true,
		waitOut: cc.px.be.c.OutboundBuffered(), waitSince: cc.el.e.now()}
	buf := cc.input()
	t.carry = append([]byte(nil), buf...)
	cc.consume(len(buf))
	fd, err := cc.c.Dup()
	if err != nil {
		return // stay on gnet: unbounded, but correct
	}
	t.clFD = fd
	t.chunked = cc.chunked
	t.bodyLeft = cc.px.bodyLeft
	cc.xfer = t
	cc.state = stateDetached
	unlink(cc)
	cc.el.e.track(t, true)
	cc.el.detachWait = append(cc.el.detachWait, cc)
	cc.el.armFlushPoll()
	_ = cc.c.Close()
}

// handOffUpload takes the backend off gnet once gnet has written what it
// holds for it, then starts the copy. It reports false while it must wait.
// A backend that closes or answers before that loses the request: the
// client's connection is closed (its body is only half sent). So does one
// that takes none of what gnet holds for it for backend_timeout: nothing
// else would end the wait (SPEC §9.3).
func (cc *clientConn) handOffUpload() bool {
	t := cc.xfer
	be := t.be
	gone := be.closed || be.state != beHead || be.c.InboundBuffered() > 0 || be.client != cc
	if !gone {
		n := be.c.OutboundBuffered()
		if n > 0 && !t.stalled(n, cc.el.e.now(), cc.el.cfg.BackendTimeout) {
			return false
		}
		gone = n > 0 // stalled: given up
	}
	if gone {
		syscall.Close(t.clFD)
		cc.transferEnded(false, false)
		if !be.closed {
			be.client = nil
			be.closeNow()
		}
		return true
	}
	fd, err := be.c.Dup()
	if err != nil {
		return false
	}
	t.beFD = fd
	be.state = beDetached
	_ = be.c.Close()
	// Queued after the close: the goroutine starts once gnet's fd is gone.
	_ = cc.el.gl.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		t.start()
		return nil
	}))
	return true
}

func closeFDs(fds ...int) {
	for _, fd := range fds {
		if fd > 0 {
			syscall.Close(fd)
		}
	}
}

// runUpload is the goroutine's work for an upload.
func (t *transfer) runUpload(be, cl net.Conn) {
	err := t.copyRequestBody(be, cl)
	if err != nil {
		closeConns(be, cl)
		t.done(false)
		return
	}
	gl := t.el.gl
	ch, err := gl.Enroll(gnet.NewContext(context.Background(), t.cc), cl)
	if err != nil {
		closeConns(be, cl)
		t.done(false)
		return
	}
	if r := <-ch; r.Err != nil {
		be.Close()
		return // the client's OnClose books the end
	}
	t.be.reattach = true
	if ch, err = gl.Enroll(gnet.NewContext(context.Background(), t.be), be); err != nil {
		be.Close()
		t.backendLost()
	} else if r := <-ch; r.Err != nil {
		t.backendLost()
	}
}

// backendLost tells the loop that the backend could not be re-enrolled.
func (t *transfer) backendLost() {
	_ = t.el.gl.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		if cc := t.cc; !cc.closed && cc.px.be == t.be {
			cc.px.be = nil
			cc.failRequest(502)
		}
		return nil
	}))
}

// copyRequestBody sends the carried bytes and then the rest of the body
// to the backend; bytes after the body's end go back to the client's carry.
func (t *transfer) copyRequestBody(be, cl net.Conn) error {
	cfg := t.el.e.live.Load()
	carry := t.carry
	t.carry = nil
	if t.cc.px.chunked {
		return t.copyChunkedUp(be, cl, carry)
	}
	n := int(min(int64(len(carry)), t.bodyLeft))
	t.received += int64(n)
	if err := t.writeUp(be, carry[:n]); err != nil {
		return err
	}
	t.carry = carry[n:]
	t.bodyLeft -= int64(n)
	for t.bodyLeft > 0 {
		_ = cl.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		_ = be.SetWriteDeadline(time.Now().Add(cfg.BackendTimeout))
		m, err := io.CopyN(be, cl, min(t.bodyLeft, copyChunk))
		t.received += m
		t.bodyLeft -= m
		if err != nil {
			return err
		}
	}
	return nil
}

// copyChunkedUp decodes the client's chunks and re-emits them canonically.
func (t *transfer) copyChunkedUp(be, cl net.Conn, pending []byte) error {
	cfg := t.el.e.live.Load()
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, 64<<10)
	var acc []byte // undecoded bytes: a partial chunk line, then new input
	for {
		p := pending
		out = out[:0]
		for len(p) > 0 {
			m, data, done, err := t.chunked.Decode(p)
			if err != nil {
				return err
			}
			t.received += int64(m)
			if len(data) > 0 {
				out = httpparse.AppendChunkHeader(out, len(data))
				out = append(out, data...)
				out = append(out, "\r\n"...)
			}
			p = p[m:]
			if done {
				out = append(out, httpparse.LastChunk...)
				t.carry = append([]byte(nil), p...)
				return t.writeUp(be, out)
			}
			if m == 0 {
				break
			}
		}
		if err := t.writeUp(be, out); err != nil {
			return err
		}
		_ = cl.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		n, err := cl.Read(buf)
		if err != nil && n == 0 {
			return err
		}
		acc = append(acc[:0], p...) // p may lie inside acc: append moves safely
		acc = append(acc, buf[:n]...)
		pending = acc
	}
}

func (t *transfer) writeUp(be net.Conn, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	_ = be.SetWriteDeadline(time.Now().Add(t.el.e.live.Load().BackendTimeout))
	_, err := be.Write(p)
	return err
}
