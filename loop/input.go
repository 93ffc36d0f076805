package loop

// The client's input is gnet's inbound buffer, except after a detached
// transfer: bytes the client sent ahead (pipelined) were carried across it
// in cc.carry and must be served before anything newer. While carry is
// set, new bytes from gnet are appended to it, so a request split between
// the two is seen whole.

// input returns the bytes waiting to be served. They alias gnet's buffer
// (valid until consume or the end of the callback) or cc.carry.
func (cc *clientConn) input() []byte {
	if cc.carry == nil {
		buf, _ := cc.c.Peek(-1)
		return buf
	}
	if n := cc.c.InboundBuffered(); n > 0 {
		buf, _ := cc.c.Peek(-1)
		cc.carry = append(cc.carry, buf...)
		_, _ = cc.c.Discard(n)
	}
	return cc.carry
}

// consume drops n bytes from the front of the input.
func (cc *clientConn) consume(n int) {
	if cc.carry == nil {
		_, _ = cc.c.Discard(n)
		return
	}
	cc.carry = cc.carry[n:]
	if len(cc.carry) == 0 {
		cc.carry = nil
	}
}

// buffered returns how many input bytes wait.
func (cc *clientConn) buffered() int { return len(cc.carry) + cc.c.InboundBuffered() }

// maxWaitInput is how many bytes past its head a waiting request keeps in
// memory: a request held by spin (its body, and requests pipelined behind
// it), or a proxied request whose body cannot move yet (its backend
// connection is not up). Beyond it Mantrid stops reading the client until
// the request moves on, and the rest of what the client sends waits in the
// kernel's socket buffers and, once the TCP window is full, at the client.
// gnet reads up to 64 KiB at a time, so a waiting request holds at most
// about twice this. MaxPipelined lowers it.
const maxWaitInput = 64 << 10

// waitInputFor returns the waiting-input bound for cfg: maxWaitInput, or
// MaxPipelined if that is smaller.
func waitInputFor(cfg Config) int { return max(min(maxWaitInput, cfg.MaxPipelined), 1) }

// readPauser is what gnet's connections have with Mantrid's gnet patch
// (third_party/gnet/PATCHES.md): reading stops and starts again, with
// what was read kept.
type readPauser interface {
	PauseRead() error
	ResumeRead() error
}

// inputWaits reports a request that waits with more than the bound of its
// input buffered (see maxWaitInput): the client is not to be read more.
func (cc *clientConn) inputWaits() bool {
	switch cc.state {
	case stateSpin:
		return cc.buffered() > cc.sp.headLen+cc.el.waitInput
	case stateProxy:
		be := cc.px.be
		return !cc.px.bodySent && (be == nil || be.state == beConnecting) && cc.buffered() > cc.el.waitInput
	}
	return false
}

// pace stops reading the client while inputWaits, and reads it again once
// the request has moved on (released, answered, its backend reached). A
// paused client that hangs up is still closed (OnClose). Connections
// without PauseRead are read on: a held request then ends when its input
// passes max_pipelined (spinOverflow).
func (cc *clientConn) pace() {
	if cc.closed || cc.inputWaits() == cc.readPaused {
		return
	}
	rp, ok := cc.c.(readPauser)
	if !ok {
		return
	}
	var err error
	if cc.readPaused {
		err = rp.ResumeRead()
	} else {
		err = rp.PauseRead()
	}
	if err == nil {
		cc.readPaused = !cc.readPaused
	}
}
