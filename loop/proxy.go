package loop

import (
	"context"
	"math/rand/v2"
	"net"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/static"
	"github.com/panjf2000/gnet/v2"
)

// proxyState is the client side of one proxied request. It lives in the
// clientConn and is reset for each request; all of it is loop-owned.
type proxyState struct {
	rule     hostmap.Hit // the host's rule when the request arrived
	slot     *actions.Slot
	head     []byte // the head to send, built once (reused buffer)
	be       *backendConn
	attempt  int
	tried    uint64 // backends (by index, first 64) that failed this request
	choice   int    // index of the backend being tried
	gen      uint64 // tells a request's timers from a later request's
	bodyLeft int64  // Content-Length body bytes still to send
	chunked  bool   // the body is chunked (decoded by cc.chunked)
	bodySent bool   // the whole request reached the backend
	answered bool   // a response byte reached the client
	keep     bool   // the client keeps its connection after this response
	minor    int    // the client's HTTP minor version
	isHead   bool
	upgrade  bool
	ended    bool // the request's counters are closed (end ran)
	queued   bool // waiting for a connection attempt to end (pool.waiting)
}

// end closes the request's counters once: open_requests − 1, and
// completed_requests + 1 when completed.
func (p *proxyState) end(completed bool) {
	if !p.ended {
		p.ended = true
		p.slot.End(completed)
	}
}

// prepareProxy readies the parsed request (cc.req) for a backend: it copies
// everything it needs out of the request, whose bytes the caller then
// consumes before calling connect.
func (cc *clientConn) prepareProxy(slot *actions.Slot, rule *hostmap.Hit, keepAlive bool) {
	req := &cc.req
	p := &cc.px
	p.rule, p.slot, p.be, p.attempt, p.ended, p.tried, p.queued = *rule, slot, nil, 0, false, 0, false
	cc.badBody = false
	p.gen++
	if p.head == nil { // the connection's first request: size it once
		p.head = make([]byte, 0, requestHeadSize(req))
	}
	p.head = appendRequestHead(p.head[:0], req, cc.internal, cc.remoteIP)
	p.chunked = req.Chunked
	p.bodyLeft = max(req.ContentLength, 0)
	p.bodySent = !req.Chunked && p.bodyLeft == 0
	p.answered = false
	p.keep = keepAlive
	p.minor = req.Minor
	p.isHead = isHEAD(req.Method)
	p.upgrade = req.Upgrade
	cc.chunked.Reset()
	cc.state = stateProxy
	unlink(cc)
}

// connect picks a backend at random (SPEC §4: no stickiness), avoiding
// those that already failed for this request while others remain, and uses
// an idle pooled connection to it, or dials one.
func (cc *clientConn) connect() {
	p := &cc.px
	p.attempt++
	p.choice = pickBackend(p.rule.Rule.Backends(), p.tried)
	addr := p.rule.BackendAddr(p.choice)
	el := cc.el
	if be := el.pool.get(addr); be != nil {
		cc.attach(be)
		return
	}
	if el.pool.dialing[addr] >= el.pool.maxDials {
		p.queued = true
		el.pool.waiting[addr] = append(el.pool.waiting[addr], waiter{cc, p.gen})
		el.proxyWait.push(cc, el.e.now()+int64(el.cfg.BackendTimeout))
		return
	}
	cc.dial(addr)
}

// dialEnded books the end of a connection attempt to addr and lets the
// oldest waiting requests start theirs, unless Mantrid is shutting down:
// then the waiting requests end with the rest (grace_period).
func (el *eventLoop) dialEnded(addr string) {
	if el.pool.dialing[addr]--; el.pool.dialing[addr] <= 0 {
		delete(el.pool.dialing, addr)
	}
	for el.pool.dialing[addr] < el.pool.maxDials && !el.e.draining.Load() && !el.e.stopping.Load() {
		cc := el.pool.nextWaiter(addr)
		if cc == nil {
			return
		}
		cc.dial(addr)
	}
}

// release gives an idle backend connection to the oldest request waiting
// for its address, or to the pool; false: neither wanted it.
func (el *eventLoop) release(be *backendConn) bool {
	if cc := el.pool.nextWaiter(be.addr); cc != nil {
		cc.attach(be)
		return true
	}
	return el.pool.put(be, el.e.now())
}

// dial connects to addr off the loop (with the connect timeout) and enrolls
// the connection on this loop; OnOpen then attaches it. Failures come back
// to the loop through Execute.
func (cc *clientConn) dial(addr string) {
	el := cc.el
	e := el.e
	be := &backendConn{el: el, addr: addr, client: cc, state: beConnecting}
	cc.px.be = be
	el.pool.dialing[addr]++
	e.dials.Add(1)
	timeout := el.cfg.ConnectTimeout
	go func() {
		defer e.dials.Done()
		conn, err := net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			var ch <-chan gnet.RegisteredResult
			ch, err = el.gl.Enroll(gnet.NewContext(context.Background(), be), conn)
			if err != nil {
				conn.Close()
			} else if r := <-ch; r.Err != nil {
				err = r.Err
			}
		}
		if err != nil {
			_ = el.gl.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				be.dialFailed()
				return nil
			}))
		}
	}()
}

// attach starts the request on be: the head and whatever body is at hand
// go out in one write.
func (cc *clientConn) attach(be *backendConn) {
	el := cc.el
	be.client = cc
	be.startResponse(cc.px.minor, cc.px.isHead)
	cc.px.be = be
	out := append(el.bout[:0], cc.px.head...)
	if !cc.px.bodySent {
		buf := cc.input()
		var n int
		out, n = cc.appendBody(out, buf)
		cc.consume(n)
	}
	el.bout = out[:0]
	if cc.badBody {
		// Nothing was sent yet: the request is refused whole (SPEC §9.1)
		// and the backend connection, still clean, is kept.
		cc.badBody = false
		be.client, be.state, cc.px.be = nil, beIdle, nil
		if !el.pool.put(be, el.e.now()) {
			be.closeNow()
		}
		cc.failRequest(400)
		return
	}
	el.proxyWait.push(cc, el.e.now()+int64(el.cfg.BackendTimeout))
	_, _ = be.c.Write(out)
	if cc.readPaused { // the body moves now: read the client again
		cc.pace()
	}
}

// appendBody appends to out the request body bytes found at the start of
// buf, re-framed canonically (chunks re-emitted without extensions or
// trailers), and returns how many bytes of buf it consumed. It marks the
// body sent when its end is reached.
func (cc *clientConn) appendBody(out, buf []byte) ([]byte, int) {
	p := &cc.px
	if !p.chunked {
		n := int(min(int64(len(buf)), p.bodyLeft))
		out = append(out, buf[:n]...)
		p.bodyLeft -= int64(n)
		p.bodySent = p.bodyLeft == 0
		p.slot.Received(n)
		return out, n
	}
	n := 0
	for n < len(buf) && !p.bodySent {
		m, data, done, err := cc.chunked.Decode(buf[n:])
		n += m
		if err != nil {
			// The head is out already: the backend cannot be told the
			// request is bad, so both connections end (SPEC §9.3: a close).
			cc.badBody = true
			break
		}
		if len(data) > 0 {
			out = httpparse.AppendChunkHeader(out, len(data))
			out = append(out, data...)
			out = append(out, "\r\n"...)
		}
		if done {
			out = append(out, httpparse.LastChunk...)
			p.bodySent = true
		}
		if m == 0 {
			break
		}
	}
	p.slot.Received(n)
	return out, n
}

// sendBody forwards request body bytes that arrived after the head. It
// returns the bytes of buf consumed.
func (cc *clientConn) sendBody(buf []byte) int {
	be := cc.px.be
	if be == nil || be.state == beConnecting {
		return 0 // sent with the head once connected
	}
	out, n := cc.appendBody(cc.el.bout[:0], buf)
	cc.el.bout = out[:0]
	if len(out) > 0 {
		_, _ = be.c.Write(out)
	}
	switch {
	case cc.badBody:
		// The head and the good chunks are out: the backend's half request
		// is dropped with its connection; the client, which has seen no
		// answer yet, gets 400 and a close.
		cc.badBody = false
		cc.px.be, be.client = nil, nil
		be.closeNow()
		cc.failRequest(400)
	case !cc.px.bodySent && !be.closed && be.c.OutboundBuffered() > highWater:
		// The backend reads more slowly than the client sends.
		cc.consume(n)
		cc.detachUpload()
		return 0
	case n > 0 && cc.state == stateProxy && cc.px.be == be:
		// The backend's silence counts from the last request byte it got
		// (README, backend_timeout): a body that keeps coming, however
		// slowly, is not cut off with a 504; one that stops is, once
		// backend_timeout has passed.
		cc.el.proxyWait.push(cc, cc.el.e.now()+int64(cc.el.cfg.BackendTimeout))
	}
	return n
}

// connectFailed runs when no connection to the chosen backend could be
// made; nothing was sent, so another attempt is safe (SPEC §9.2). After the
// last attempt the client gets the timeout page.
func (cc *clientConn) connectFailed() {
	p := &cc.px
	p.be = nil
	if p.choice < 64 {
		p.tried |= 1 << p.choice
	}
	if p.attempt >= p.rule.Rule.Attempts() {
		cc.answerLocally(static.Timeout)
		return
	}
	delay := p.rule.Rule.Delay()
	if delay <= 0 {
		cc.connect()
		return
	}
	gen, el := p.gen, cc.el
	time.AfterFunc(delay, func() {
		_ = el.gl.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			if !cc.closed && cc.state == stateProxy && cc.px.gen == gen && cc.px.be == nil {
				cc.connect()
			}
			return nil
		}))
	})
}

// answerLocally ends a proxied request that never reached a backend with a
// page of Mantrid's own, then reads and drops the request body as for any
// local answer. It runs outside the client's traffic callback.
func (cc *clientConn) answerLocally(page string) {
	p := &cc.px
	keep := p.keep
	out := cc.appendPage(cc.el.bout[:0], page, keep, p.isHead)
	cc.el.bout = out[:0]
	p.slot.Sent(len(out))
	p.end(true)
	// Nothing of the body was read yet (no backend was ever attached).
	cc.afterLocalAnswer(p.slot, keep, p.chunked, p.bodyLeft)
	_, _ = cc.c.Write(out)
	cc.resume()
}

// proxyDone ends the proxied request once its response is complete (or
// failed, completed false) and carries on with the client's next request.
func (cc *clientConn) proxyDone(completed bool) {
	p := &cc.px
	p.be = nil
	p.end(completed)
	unlink(cc)
	if completed && p.keep && p.bodySent {
		cc.state = stateHead
		cc.resume()
		return
	}
	cc.state = stateClosing
	cc.closeWhenFlushed()
}

// abortProxy lets go of the backend of a request that cannot finish: the
// client left, or its body was malformed.
func (cc *clientConn) abortProxy() {
	if be := cc.px.be; be != nil {
		cc.px.be = nil
		be.client = nil
		if be.state != beConnecting {
			be.closeNow()
		}
	}
	if cc.px.slot != nil {
		cc.px.end(false)
	}
}

// resume serves what the client has buffered, from outside its traffic
// callback (a backend's callback, a timer).
func (cc *clientConn) resume() {
	if cc.closed {
		return
	}
	if cc.onTraffic() == gnet.Close && !cc.closed {
		cc.closeWhenFlushed()
	}
}

// closeWhenFlushed closes the connection once gnet has written everything
// queued for it (gnet's close drops what does not fit the socket: DESIGN.md
// fact 5). It polls every millisecond while it waits.
func (cc *clientConn) closeWhenFlushed() {
	if cc.closed {
		return
	}
	cc.state = stateClosing
	if cc.c.OutboundBuffered() == 0 {
		cc.closeNow()
		return
	}
	cc.el.idleWait.push(cc, cc.el.e.now()+int64(cc.el.cfg.IdleTimeout))
	cc.el.flushWait = append(cc.el.flushWait, cc)
	cc.el.armFlushPoll()
}

// backendTimeout ends a request whose backend went quiet for
// backend_timeout: 504 if the client has seen nothing yet, else a close.
func (cc *clientConn) backendTimeout() {
	if cc.closed || cc.state != stateProxy {
		return
	}
	be := cc.px.be
	cc.px.be = nil
	if be != nil {
		be.client = nil
		be.closeNow()
	}
	if cc.px.answered {
		cc.px.end(false)
		cc.closeNow()
		return
	}
	cc.failRequest(504)
}

// pickBackend returns a random index in [0, n) whose bit is not set in
// tried, or any random index when every one of the first 64 was tried.
func pickBackend(n int, tried uint64) int {
	untried := 0
	for i := range min(n, 64) {
		if tried&(1<<i) == 0 {
			untried++
		}
	}
	if untried == 0 || n > 64 && tried == 0 {
		return rand.IntN(n)
	}
	k := rand.IntN(untried)
	for i := range min(n, 64) {
		if tried&(1<<i) == 0 {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return rand.IntN(n)
}
