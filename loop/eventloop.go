package loop

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// eventLoop is Mantrid's state for one gnet event loop. Its fields are
// touched only on that loop, except idx and gl which never change.
type eventLoop struct {
	e   *Engine
	idx int // this loop's index into the per-loop counters (actions.Counters)
	gl  gnet.EventLoop
	cfg *Config // the settings this loop runs on; replaced only by reconfigure

	out  []byte // responses gathered during one callback, written once
	bout []byte // bytes for a backend, or an answer outside a client callback
	host []byte // scratch for the normalised request host

	headWait  timerList // connections reading a request head (head_timeout)
	idleWait  timerList // connections idle between requests (idle_timeout)
	proxyWait timerList // requests waiting for their backend (backend_timeout)

	pool       pool          // idle backend connections
	parked     []*clientConn // requests held by spin on this loop (Engine.held counts all)
	waitInput  int           // input bytes a waiting request keeps in memory (waitInputFor)
	wakeBuf    []*clientConn // scratch for wake
	flushWait  []*clientConn // connections to close once their output is out
	detachWait []*clientConn // clients to hand to a transfer once their output is out
	flushPoll  bool          // a flushWait poll is scheduled
	flushFn    gnet.RunnableFunc

	lnKind map[net.Addr]bool // listener address → internal (internalListener)

	sweepFn     gnet.RunnableFunc // prebuilt so that a sweep does not allocate
	closeIdleFn gnet.RunnableFunc // closes every idle connection (shutdown)
}

// newEventLoop makes the state of a loop seen for the first time; the
// caller holds e.loopsMu, which orders it with Reconfigure.
func newEventLoop(e *Engine, idx int, gl gnet.EventLoop) *eventLoop {
	cfg := e.live.Load()
	el := &eventLoop{e: e, idx: idx, gl: gl, cfg: cfg, out: make([]byte, 0, 16<<10), bout: make([]byte, 0, 16<<10),
		host: make([]byte, 0, 256), pool: newPool(cfg.MaxIdlePerBackend, cfg.MaxDialsPerBackend),
		waitInput: waitInputFor(*cfg)}
	el.flushFn = func(context.Context) error {
		el.flushPoll = false
		el.checkFlushed()
		return nil
	}
	el.sweepFn = func(context.Context) error {
		el.sweep()
		return nil
	}
	el.closeIdleFn = func(context.Context) error {
		el.closeIdle()
		return nil
	}
	return el
}

// reconfigure puts next in force on this loop (Engine.Reconfigure). The
// connections waiting on a timer have their deadlines moved by the change
// of that timer's duration: every member of a list shares one duration,
// so the lists stay ordered.
func (el *eventLoop) reconfigure(next *Config) {
	old := el.cfg
	el.headWait.shift(int64(next.HeadTimeout - old.HeadTimeout))
	el.idleWait.shift(int64(next.IdleTimeout - old.IdleTimeout))
	el.proxyWait.shift(int64(next.BackendTimeout - old.BackendTimeout))
	el.pool.maxIdle = next.MaxIdlePerBackend
	el.pool.maxDials = max(next.MaxDialsPerBackend, 1)
	el.waitInput = waitInputFor(*next)
	el.cfg = next
}

// drainIdle is how long a keep-alive connection must have been idle before
// a drain (Shutdown) closes it. A busy client sends its next request within
// moments and gets its answer with Connection: close, whereas closing the
// connection under a request already on its way resets that request, and
// RFC 9112 §9.5 leaves it to the client to retry it or fail.
const drainIdle = 250 * time.Millisecond

// closeIdle closes the connections idle for drainIdle or longer that have
// no request waiting to be read (one that does is answered with
// Connection: close at the next read event instead).
func (el *eventLoop) closeIdle() {
	cutoff := el.e.now() + int64(el.cfg.IdleTimeout) - int64(drainIdle)
	el.idleWait.expire(cutoff, func(cc *clientConn) {
		if !inputWaiting(cc.c) {
			cc.closeNow()
		}
	})
}

// inputWaiting reports whether the kernel holds unread bytes for c.
func inputWaiting(c gnet.Conn) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(c.Fd(), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == nil && n > 0
}

// sweep ends connections whose head or idle deadline has passed: a partial
// head gets 408 and a close, an idle keep-alive connection just a close.
// It runs on the loop, entered through Execute from the engine's ticker.
func (el *eventLoop) sweep() {
	now := el.e.now()
	el.headWait.expire(now, func(cc *clientConn) { cc.headTimeout() })
	el.idleWait.expire(now, func(cc *clientConn) { cc.closeNow() })
	el.proxyWait.expire(now, func(cc *clientConn) { cc.backendTimeout() })
	el.pool.expire(now - int64(el.cfg.BackendIdleTimeout))
	if len(el.parked) > 0 {
		el.checkParked(now)
	}
}

// armFlushPoll schedules a check of flushWait in a millisecond.
func (el *eventLoop) armFlushPoll() {
	if el.flushPoll {
		return
	}
	el.flushPoll = true
	time.AfterFunc(time.Millisecond, func() { _ = el.gl.Execute(context.Background(), el.flushFn) })
}

// checkFlushed closes the connections of flushWait whose output is out,
// and keeps polling while some remain. A client that reads nothing is
// closed by its idle timeout.
func (el *eventLoop) checkFlushed() {
	el.flushWait = retain(el.flushWait, func(cc *clientConn) bool {
		switch {
		case cc.closed:
			return false
		case cc.c.OutboundBuffered() == 0:
			cc.closeNow()
			return false
		}
		return true
	})
	el.detachWait = retain(el.detachWait, func(cc *clientConn) bool {
		switch {
		case cc.xfer != nil && cc.xfer.upload && cc.state == stateDetached:
			return !cc.handOffUpload()
		case cc.closed || cc.state != stateDetaching:
			return false
		case cc.c.OutboundBuffered() == 0:
			cc.handOff()
			return false
		case cc.xfer.stalled(cc.c.OutboundBuffered(), el.e.now(), el.cfg.IdleTimeout):
			// The client took nothing for idle_timeout. Its OnClose
			// (stateDetaching) releases the backend and ends the request.
			_ = cc.c.Close()
			return false
		}
		return true
	})
	if len(el.flushWait)+len(el.detachWait) > 0 {
		el.armFlushPoll()
	}
}

// retain keeps, in place and in order, the connections of list for which
// wait returns true (it may act on the others), and clears the tail.
func retain(list []*clientConn, wait func(*clientConn) bool) []*clientConn {
	kept := list[:0]
	for _, cc := range list {
		if wait(cc) {
			kept = append(kept, cc)
		}
	}
	clear(list[len(kept):])
	return kept
}

// loopFor returns the eventLoop for gl, creating it on first sight.
// Safe for concurrent use: the common case is one atomic load and a scan of
// a slice as long as the number of loops.
func (e *Engine) loopFor(gl gnet.EventLoop) *eventLoop {
	if p := e.loops.Load(); p != nil {
		for _, el := range *p {
			if el.gl == gl {
				return el
			}
		}
	}
	e.loopsMu.Lock()
	defer e.loopsMu.Unlock()
	var cur []*eventLoop
	if p := e.loops.Load(); p != nil {
		cur = *p
	}
	for _, el := range cur {
		if el.gl == gl {
			return el
		}
	}
	el := newEventLoop(e, len(cur), gl)
	next := append(append([]*eventLoop(nil), cur...), el)
	e.loops.Store(&next)
	return el
}

// loopCloser is what gnet's connections have with Mantrid's gnet patch
// (third_party/gnet/PATCHES.md).
type loopCloser interface{ CloseOnLoop() }

// closeOnLoop closes c once the loop has handled its current batch of
// events, without a trip through gnet's task queue (an eventfd write and
// a closure per close). Call it on c's loop only.
func closeOnLoop(c gnet.Conn) {
	if lc, ok := c.(loopCloser); ok {
		lc.CloseOnLoop()
		return
	}
	_ = c.Close()
}
