package loop

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/panjf2000/gnet/v2"
)

// connState is where a client connection is in its request cycle.
type connState uint8

const (
	// stateHead: waiting for (more of) a request head.
	stateHead connState = iota
	// stateDiscard: a local answer was sent; the request's body is being
	// read and thrown away so that the next request starts at a boundary.
	stateDiscard
	// stateClosing: the last answer is written; the connection closes.
	stateClosing
	// stateProxy: a request is with a backend (cc.px); later bytes wait.
	stateProxy
	// stateSpin: a request is held by a spin rule (cc.sp); its bytes wait.
	stateSpin
	// stateTunnel: after 101, bytes go both ways unparsed.
	stateTunnel
	// stateDetaching: the response moves to a transfer goroutine once
	// gnet has written what it holds for the client.
	stateDetaching
	// stateDetached: the connection is off gnet, in a transfer (detach.go).
	stateDetached
)

// clientConn is one client connection. All methods run on its event loop.
type clientConn struct {
	c          gnet.Conn
	el         *eventLoop
	internal   bool // accepted on a bind_internal listener
	closed     bool // OnClose ran: never touch c again
	readPaused bool // c is not read: a waiting request has enough input (pace)
	state      connState

	parser  httpparse.Parser
	req     httpparse.Request
	chunked httpparse.ChunkedDecoder

	bodyLeft    int64         // stateDiscard with Content-Length: bytes still due
	bodyChunked bool          // stateDiscard with chunked framing
	closeAfter  bool          // close once the body is discarded
	slot        *actions.Slot // counters of the request being discarded

	remoteIP []byte     // the client's address, for X-Forwarded-For (in ipBuf)
	ipBuf    [45]byte   // longest IPv6 text, with an IPv4 tail
	px       proxyState // the request with a backend (stateProxy)
	sp       spinState  // the request held by spin (stateSpin)
	badBody  bool       // a proxied request's chunked body was malformed
	carry    []byte     // input carried across a detached transfer (input.go)
	xfer     *transfer  // the detached transfer under way

	t timerLinks
}

// newConnFields is how many header fields a new client connection has
// room for before its first request (curl sends 3, browsers 8–15).
const newConnFields = 8

func newClientConn(c gnet.Conn, el *eventLoop, internal bool) *clientConn {
	cc := &clientConn{c: c, el: el, internal: internal}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			cc.remoteIP = ip.Unmap().AppendTo(cc.ipBuf[:0])
		}
	}
	cc.parser.Limits = el.cfg.Limits
	// Room for a typical head's fields up front: one allocation each
	// instead of a doubling per few fields on every new connection.
	cc.parser.Grow(newConnFields)
	cc.req.Headers = make([]httpparse.Header, 0, newConnFields)
	cc.req.ContentLength = -1
	return cc
}

// OnOpen sets up a client connection accepted by gnet on this loop, or
// a backend connection enrolled by a dial.
func (e *Engine) OnOpen(c gnet.Conn) (out []byte, action gnet.Action) {
	defer e.recoverCallback(c, &action)
	switch x := c.Context().(type) {
	case *backendConn:
		x.opened(c)
		return nil, gnet.None
	case *clientConn: // back from a detached transfer
		x.c = c
		x.readPaused = false
		x.transferEnded(true, true)
		return nil, gnet.None
	}
	// A new connection from gnet's acceptor.
	el := e.loopFor(c.EventLoop())
	if e.conns.Add(1) > int64(el.cfg.MaxConnections) {
		e.conns.Add(-1)
		return overloaded, gnet.Close
	}
	cc := newClientConn(c, el, el.internalListener(c))
	c.SetContext(cc)
	el.headWait.push(cc, e.now()+int64(el.cfg.HeadTimeout))
	return nil, gnet.None
}

// OnClose forgets a connection: after it, nothing may write to c.
func (e *Engine) OnClose(c gnet.Conn, _ error) (action gnet.Action) {
	defer e.recoverCallback(c, &action)
	switch x := c.Context().(type) {
	case *clientConn:
		if x.onClose() {
			e.conns.Add(-1)
		}
		c.SetContext(nil)
	case *backendConn:
		x.onClose()
		c.SetContext(nil)
	}
	return gnet.None
}

// onClose forgets the connection: its backend request is abandoned, a held
// request is dropped (never forwarded). It reports whether the client
// connection is gone: one closed on gnet to go on in a transfer is not.
func (cc *clientConn) onClose() bool {
	cc.closed = true
	unlink(cc)
	switch cc.state {
	case stateProxy, stateTunnel:
		cc.abortProxy()
	case stateSpin:
		cc.spinGone()
	case stateDetaching:
		t := cc.xfer
		cc.xfer = nil
		cc.el.e.track(t, false)
		syscall.Close(t.beFD)
		cc.px.end(false)
	case stateDetached:
		t := cc.xfer
		// gnet's close is asynchronous: it may have read more after our
		// dup. Those bytes belong to the transfer; OnClose runs before
		// gnet drops its buffers.
		if buf := cc.input(); len(buf) > 0 {
			t.carry = append(t.carry, buf...)
		}
		cc.carry = nil
		if t.upload {
			return false // started once the backend is off gnet too
		}
		// gnet closes its fd right after this callback; start the copy then.
		_ = cc.el.gl.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			t.start()
			return nil
		}))
		return false
	}
	return true
}

// OnTraffic handles bytes from a client.
func (e *Engine) OnTraffic(c gnet.Conn) (action gnet.Action) {
	defer e.recoverCallback(c, &action)
	switch x := c.Context().(type) {
	case *clientConn:
		return x.onTraffic()
	case *backendConn:
		return x.onTraffic()
	}
	return gnet.Close
}

// recoverCallback is the one recover per callback (STYLE 9): a panic is
// logged and closes that connection only.
func (e *Engine) recoverCallback(c gnet.Conn, action *gnet.Action) {
	if r := recover(); r != nil {
		e.log.Error("internal error; closing the connection", "panic", r, "remote", c.RemoteAddr())
		*action = gnet.Close
	}
}

// onTraffic answers every complete request in the input, in order, and
// writes all answers with one Write.
func (cc *clientConn) onTraffic() gnet.Action {
	el := cc.el
	el.out = el.out[:0]
	piledUp := false
	for cc.state != stateClosing && !cc.closed {
		buf := cc.input()
		if len(buf) == 0 {
			break
		}
		var n int
		switch cc.state {
		case stateDiscard:
			n = cc.discard(buf)
		case stateHead:
			if piledUp = cc.answersPiledUp(); !piledUp {
				n = cc.serveHead(buf)
			}
		case stateProxy:
			if !cc.px.bodySent {
				n = cc.sendBody(buf)
			} else if len(buf) > el.cfg.MaxPipelined {
				cc.abortProxy() // a client piling up requests: SPEC §9.9
				cc.state = stateClosing
			}
		case stateSpin:
			// Its bytes stay buffered; reading stops past a bound.
			if cc.pace(); !cc.readPaused && len(buf) > cc.sp.headLen+el.cfg.MaxPipelined {
				cc.spinOverflow()
			}
		case stateTunnel:
			n = len(buf)
			cc.px.slot.Received(n)
			if be := cc.px.be; be != nil {
				_, _ = be.c.Write(buf)
			}
		}
		if n == 0 {
			break
		}
		cc.consume(n)
	}
	if cc.state == stateClosing && !cc.closed {
		// Nothing more is served: what the client still sends is dropped
		// rather than kept (gnet cannot stop reading it).
		cc.consume(len(cc.input()))
	}
	if piledUp {
		// Serve nothing more: the answers given so far go out, then the
		// connection closes (at once if the client sends more meanwhile,
		// see flush; at idle_timeout if it never reads). A client that
		// pipelines may find its later requests unanswered at a close
		// (RFC 9112 §9.3.2).
		if !cc.closed {
			cc.flushOut()
			cc.closeWhenFlushed()
		}
		return gnet.None
	}
	return cc.flush()
}

// answersPiledUp reports a client that sends requests without reading the
// answers: once more than max_pipelined bytes of them wait to be written,
// nothing more is served on its connection (SPEC §9.9; gnet's output
// buffer has no cap, DESIGN.md fact 4, and a 40-byte request can fetch a
// page of up to 1 MiB). Answers gathered in one callback are handed to gnet
// every highWater bytes, so that the kernel takes what it can first.
func (cc *clientConn) answersPiledUp() bool {
	if len(cc.el.out) > highWater {
		cc.flushOut()
	}
	return cc.closed || len(cc.el.out)+cc.c.OutboundBuffered() > cc.el.cfg.MaxPipelined
}

// flush writes the gathered answers and sets the timers for what comes next.
func (cc *clientConn) flush() gnet.Action {
	el := cc.el
	if len(el.out) > 0 {
		_, _ = cc.c.Write(el.out)
		if cc.closed {
			return gnet.None
		}
	}
	switch {
	case cc.closed:
		return gnet.None
	case cc.state == stateClosing:
		unlink(cc)
		return gnet.Close
	case cc.state >= stateProxy:
		// Their own timers run: backend wait, spin timeout.
		cc.pace()
		return gnet.None
	case cc.state == stateDiscard:
		el.idleWait.push(cc, el.e.now()+int64(el.cfg.IdleTimeout))
	case cc.buffered() > 0:
		if cc.t.list != &el.headWait { // head timeout runs from the first byte
			el.headWait.push(cc, el.e.now()+int64(el.cfg.HeadTimeout))
		}
	default:
		el.idleWait.push(cc, el.e.now()+int64(el.cfg.IdleTimeout))
	}
	if cc.readPaused { // the request that waited has moved on
		cc.pace()
	}
	return gnet.None
}

// serveHead parses a request head from buf and answers it. It returns the
// bytes consumed: 0 when the head is incomplete.
func (cc *clientConn) serveHead(buf []byte) int {
	n, err := cc.parser.ParseRequest(buf, &cc.req)
	if errors.Is(err, httpparse.ErrNeedMore) {
		return 0
	}
	if err != nil {
		cc.reject(err, len(buf))
		return len(buf)
	}
	cc.parser.Reset()
	return cc.answer(n)
}

// reject answers a request that could not be parsed and closes: nothing of
// it is trusted, not even its framing.
func (cc *clientConn) reject(err error, received int) {
	status := 400
	var pe *httpparse.Error
	if errors.As(err, &pe) {
		status = pe.Status
	}
	slot := cc.el.e.rules.Counters().Slot(cc.el.idx, 0)
	slot.Begin(received)
	before := len(cc.el.out)
	cc.el.out = actions.AppendEmpty(cc.el.out, status, false)
	slot.Sent(len(cc.el.out) - before)
	slot.End(true)
	cc.state = stateClosing
}

// headTimeout answers 408 to a connection whose head did not arrive in time.
// It runs from the loop's sweep.
func (cc *clientConn) headTimeout() {
	if cc.closed {
		return
	}
	if cc.buffered() > 0 { // a request had begun: tell the client why
		slot := cc.el.e.rules.Counters().Slot(cc.el.idx, 0)
		resp := actions.AppendEmpty(cc.el.out[:0], 408, false)
		slot.Begin(cc.buffered())
		_, _ = cc.c.Write(resp)
		slot.Sent(len(resp))
		slot.End(true)
	}
	cc.closeNow()
}

// closeNow closes the connection from outside a traffic callback.
func (cc *clientConn) closeNow() {
	if cc.closed {
		return
	}
	cc.state = stateClosing
	unlink(cc)
	closeOnLoop(cc.c)
}

// discard throws away request body bytes after a local answer. It returns
// the bytes consumed.
func (cc *clientConn) discard(buf []byte) int {
	var n int
	if cc.bodyChunked {
		for n < len(buf) {
			m, _, done, err := cc.chunked.Decode(buf[n:])
			n += m
			if err != nil {
				cc.state = stateClosing // the answer is out; framing is lost
				break
			}
			if done {
				cc.bodyDone()
				break
			}
			if m == 0 {
				break
			}
		}
	} else {
		n = int(min(int64(len(buf)), cc.bodyLeft))
		cc.bodyLeft -= int64(n)
		if cc.bodyLeft == 0 {
			cc.bodyDone()
		}
	}
	cc.slot.Received(n)
	return n
}

// bodyDone ends the discard state.
func (cc *clientConn) bodyDone() {
	cc.state = stateHead
	if cc.closeAfter {
		cc.state = stateClosing
	}
}
