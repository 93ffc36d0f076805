package loop

import (
	"context"

	"github.com/panjf2000/gnet/v2"
)

// eventLoop is Mantrid's state for one gnet event loop. Its fields are
// touched only on that loop, except idx and gl which never change.
type eventLoop struct {
	e   *Engine
	idx int // index into per-loop counters (actions.Stats slots)
	gl  gnet.EventLoop

	out  []byte // responses gathered during one callback, written once
	host []byte // scratch for the normalised request host

	headWait timerList // connections reading a request head (head_timeout)
	idleWait timerList // connections idle between requests (idle_timeout)

	sweepFn     gnet.RunnableFunc // prebuilt so that a sweep does not allocate
	closeIdleFn gnet.RunnableFunc // closes every idle connection (shutdown)
}

func newEventLoop(e *Engine, idx int, gl gnet.EventLoop) *eventLoop {
	el := &eventLoop{e: e, idx: idx, gl: gl, out: make([]byte, 0, 16<<10), host: make([]byte, 0, 256)}
	el.sweepFn = func(context.Context) error {
		el.sweep()
		return nil
	}
	el.closeIdleFn = func(context.Context) error {
		el.idleWait.expire(1<<62, func(cc *clientConn) { cc.closeNow() })
		return nil
	}
	return el
}

// sweep ends connections whose head or idle deadline has passed: a partial
// head gets 408 and a close, an idle keep-alive connection just a close.
// It runs on the loop, entered through Execute from the engine's ticker.
func (el *eventLoop) sweep() {
	now := el.e.now()
	el.headWait.expire(now, func(cc *clientConn) { cc.headTimeout() })
	el.idleWait.expire(now, func(cc *clientConn) { cc.closeNow() })
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
