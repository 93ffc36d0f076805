package loop

import (
	"errors"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/panjf2000/gnet/v2"
)

// beState is where a backend connection is in its response cycle.
type beState uint8

const (
	beConnecting beState = iota // dialing or enrolling; c is nil
	beIdle                      // in the pool
	beHead                      // waiting for (more of) a response head
	beBody                      // relaying a response body
	beTunnel                    // after 101: relaying bytes both ways
	beDetached                  // handed to a transfer goroutine (detach.go)
)

// backendConn is one connection to a backend, on the event loop of the
// client it serves. All methods run on that loop.
type backendConn struct {
	c      gnet.Conn
	el     *eventLoop
	addr   string
	client *clientConn // nil when idle or when its client left
	state  beState
	closed bool // OnClose ran
	pooled bool // in el.pool
	// reattach: back from an upload transfer, still serving its client
	reattach bool

	idleSince int64

	parser   httpparse.Parser
	resp     httpparse.Response
	framing  respFraming
	bodyLeft int64
	chunked  httpparse.ChunkedDecoder
	dechunk  bool // the client speaks HTTP/1.0: send chunk data, close at the end
	headReq  bool // the request was HEAD
	minor    int  // the client's HTTP minor version
}

// startResponse prepares for the response to a new request.
func (be *backendConn) startResponse(clientMinor int, headReq bool) {
	be.state = beHead
	be.minor = clientMinor
	be.headReq = headReq
	be.parser.Reset()
	be.parser.Limits = be.el.cfg.Limits
}

// opened runs in OnOpen of an enrolled backend connection.
func (be *backendConn) opened(c gnet.Conn) {
	be.c = c
	be.closed = false
	if be.state == beConnecting {
		defer be.el.dialEnded(be.addr)
	}
	cc := be.client
	if be.reattach {
		be.reattach = false
		be.state = beHead
		if cc == nil || cc.closed || cc.px.be != be {
			be.client = nil
			be.closeNow()
		}
		return
	}
	be.state = beIdle
	switch {
	case cc == nil || cc.closed || cc.px.be != be:
		// The client left or gave up while we dialed: keep the connection.
		be.client = nil
		if !be.el.release(be) {
			be.closeNow()
		}
	default:
		cc.attach(be)
	}
}

// dialFailed runs (through Execute) when the connection could not be made.
func (be *backendConn) dialFailed() {
	defer be.el.dialEnded(be.addr)
	cc := be.client
	be.client = nil
	if cc == nil || cc.closed || cc.px.be != be {
		return
	}
	cc.connectFailed()
}

// onTraffic relays response bytes to the client.
func (be *backendConn) onTraffic() gnet.Action {
	cc := be.client
	if cc == nil || be.state == beIdle {
		return gnet.Close // bytes nobody asked for: the connection is unusable
	}
	if cc.state == stateDetached {
		return gnet.None // an upload is being handed off (handOffUpload decides)
	}
	be.el.proxyWait.push(cc, be.el.e.now()+int64(be.el.cfg.BackendTimeout))
	for {
		buf, _ := be.c.Peek(-1)
		if len(buf) == 0 {
			if be.state == beTunnel {
				return be.detach(cc, true)
			}
			return gnet.None
		}
		var n int
		var done bool
		var err error
		switch be.state {
		case beHead:
			n, done, err = be.relayHead(cc, buf)
		case beBody:
			n, done, err = be.relayBody(cc, buf)
		case beTunnel:
			n = len(buf)
			cc.write(buf)
		}
		if cc.closed || be.client == nil {
			return gnet.Close
		}
		if err != nil {
			return be.fail(cc, err)
		}
		if n == 0 {
			return gnet.None
		}
		_, _ = be.c.Discard(n)
		if done {
			return be.finish(cc)
		}
		if be.state == beBody && cc.px.bodySent && (cc.c.OutboundBuffered() > highWater ||
			be.framing == frameLength && be.bodyLeft > bigBody) {
			return be.detach(cc, false)
		}
	}
}

var errBadResponse = errors.New("invalid response from backend")

// relayHead parses a response head and sends the client its rewritten form
// and, in the same write, the body bytes already here.
func (be *backendConn) relayHead(cc *clientConn, buf []byte) (int, bool, error) {
	n, err := be.parser.ParseResponse(buf, &be.resp)
	if errors.Is(err, httpparse.ErrNeedMore) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, errBadResponse
	}
	resp := &be.resp
	el := cc.el
	if resp.Status < 200 && resp.Status != 101 {
		// Interim answers go to HTTP/1.1 clients only (RFC 9110 §15.2).
		if be.minor >= 1 {
			cc.write(appendResponseHead(el.out[:0], resp, frameNone, true, 1))
		}
		be.parser.Reset()
		return n, false, nil
	}
	if resp.Status == 101 && !cc.px.upgrade {
		return 0, false, errBadResponse
	}
	be.chooseFraming(cc)
	if el.e.draining.Load() {
		cc.px.keep = false // shutting down: this is the connection's last answer
	}
	out := appendResponseHead(el.out[:0], resp, be.framing, cc.px.keep, be.minor)
	cc.px.answered = true
	if resp.Status == 101 {
		be.state = beTunnel
		cc.state = stateTunnel
		cc.write(out)
		return n, false, nil
	}
	be.state = beBody
	if be.framing == frameNone {
		cc.write(out)
		return n, true, nil
	}
	m, done, err := be.appendBody(&out, buf[n:])
	cc.write(out)
	return n + m, done, err
}

// chooseFraming decides how the body reaches the client (RFC 9112 §6.3).
func (be *backendConn) chooseFraming(cc *clientConn) {
	resp := &be.resp
	be.dechunk = false
	switch resp.BodyKind(be.headReq) {
	case httpparse.BodyNone:
		be.framing = frameNone
	case httpparse.BodyContentLength:
		be.framing = frameLength
		be.bodyLeft = resp.ContentLength
		if be.bodyLeft == 0 {
			be.framing = frameNone
		}
	case httpparse.BodyChunked:
		be.framing = frameChunked
		be.chunked.Reset()
		if be.minor == 0 { // HTTP/1.0 has no chunked coding
			be.framing, be.dechunk = frameClose, true
			cc.px.keep = false
		}
	default:
		be.framing = frameClose
		cc.px.keep = false
	}
}

// relayBody sends body bytes to the client.
func (be *backendConn) relayBody(cc *clientConn, buf []byte) (int, bool, error) {
	out := cc.el.out[:0]
	n, done, err := be.appendBody(&out, buf)
	if len(out) > 0 {
		cc.write(out)
	}
	return n, done, err
}

// appendBody appends to *out the body bytes at the start of buf that belong
// to this response and reports how many it consumed and whether the body is
// complete. Chunked bodies are checked by the decoder and relayed as sent
// (or as plain data to an HTTP/1.0 client).
func (be *backendConn) appendBody(out *[]byte, buf []byte) (int, bool, error) {
	switch be.framing {
	case frameLength:
		n := int(min(int64(len(buf)), be.bodyLeft))
		*out = append(*out, buf[:n]...)
		be.bodyLeft -= int64(n)
		return n, be.bodyLeft == 0, nil
	case frameClose:
		if !be.dechunk {
			*out = append(*out, buf...)
			return len(buf), false, nil
		}
	}
	n := 0
	for n < len(buf) {
		m, data, done, err := be.chunked.Decode(buf[n:])
		if err != nil {
			return n, false, errBadResponse
		}
		if be.dechunk {
			*out = append(*out, data...)
		} else {
			*out = append(*out, buf[n:n+m]...)
		}
		n += m
		if done {
			return n, true, nil
		}
		if m == 0 {
			break
		}
	}
	return n, false, nil
}

// finish ends a complete response: the backend connection goes back to
// the pool when it can carry another request, and the client moves on.
func (be *backendConn) finish(cc *clientConn) gnet.Action {
	be.client = nil
	reusable := be.resp.KeepAlive && cc.px.bodySent && be.c.InboundBuffered() == 0 && be.framing != frameClose
	be.state = beIdle
	action := gnet.None
	if !reusable || !be.el.release(be) {
		action = gnet.Close
	}
	cc.proxyDone(true)
	return action
}

// fail ends a response that went wrong (bad head, bad chunk): a client that
// has seen nothing gets 502, one that has seen part of a response is cut
// off so that it cannot mistake it for a whole one.
func (be *backendConn) fail(cc *clientConn, err error) gnet.Action {
	be.client = nil
	cc.px.be = nil
	if cc.px.answered {
		cc.px.end(false)
		cc.closeNow()
		return gnet.Close
	}
	cc.failRequest(502)
	return gnet.Close
}

// onClose handles the backend closing its connection.
func (be *backendConn) onClose() {
	be.closed = true
	if be.state == beDetached {
		return // the transfer owns the connection now
	}
	if be.pooled {
		be.el.pool.remove(be)
	}
	cc := be.client
	be.client = nil
	if cc == nil || cc.closed || cc.px.be != be {
		return
	}
	cc.px.be = nil
	switch {
	case be.state == beBody && be.framing == frameClose && !be.dechunk:
		cc.proxyDone(true) // the close is the end of this body
	case be.state == beTunnel:
		cc.px.end(true)
		cc.closeWhenFlushed()
	case cc.px.answered:
		cc.px.end(false)
		cc.closeNow() // a body cut short must not look complete
	default:
		// Sent, no answer: not retried, the backend may have acted on it.
		cc.failRequest(502)
	}
}

// closeNow closes the connection from outside its own callbacks.
func (be *backendConn) closeNow() {
	if be.closed || be.c == nil {
		return
	}
	be.client = nil
	closeOnLoop(be.c)
}

// failRequest answers a proxied request with an empty error status (502
// bad response, 504 no response in time) and closes the client connection
// once it is written: its request body may still be on the way.
func (cc *clientConn) failRequest(status int) {
	p := &cc.px
	out := actions.AppendEmpty(cc.el.bout[:0], status, false)
	cc.el.bout = out[:0]
	p.slot.Sent(len(out))
	p.end(true)
	p.be = nil
	_, _ = cc.c.Write(out)
	cc.closeWhenFlushed()
}

// write sends bytes of a response to the client, counting them.
func (cc *clientConn) write(p []byte) {
	if cc.closed {
		return
	}
	cc.px.slot.Sent(len(p))
	_, _ = cc.c.Write(p)
}
