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
