package loop

// pool keeps idle keep-alive backend connections of one event loop, per
// backend address, newest last (reused first: the one least likely to have
// been closed by the backend). All methods run on the owning loop.
type pool struct {
	idle    map[string][]*backendConn
	n       int
	maxIdle int // per address

	// Connection attempts under way per address, capped at maxDials; the
	// requests beyond the cap wait, oldest first, for an attempt to end or
	// a connection to come free. Without the cap, releasing a thousand
	// held requests (spin) opens a thousand connections at once, and a
	// backend with a short accept backlog drops the SYNs: those requests
	// wait for TCP's 1 s retransmission.
	dialing  map[string]int
	waiting  map[string][]waiter
	maxDials int
}

// waiter is a request waiting for a connection to its backend; gen tells
// it from a later request on the same client connection.
type waiter struct {
	cc  *clientConn
	gen uint64
}

func newPool(maxIdle, maxDials int) pool {
	return pool{idle: map[string][]*backendConn{}, maxIdle: maxIdle,
		dialing: map[string]int{}, waiting: map[string][]waiter{}, maxDials: max(maxDials, 1)}
}

// nextWaiter takes the oldest request still waiting for addr, or nil.
func (p *pool) nextWaiter(addr string) *clientConn {
	q := p.waiting[addr]
	for len(q) > 0 {
		w := q[0]
		q[0] = waiter{}
		q = q[1:]
		cc := w.cc
		if !cc.closed && cc.state == stateProxy && cc.px.gen == w.gen && cc.px.queued {
			cc.px.queued = false
			p.setWaiting(addr, q)
			return cc
		}
	}
	p.setWaiting(addr, q)
	return nil
}

func (p *pool) setWaiting(addr string, q []waiter) {
	if len(q) == 0 {
		delete(p.waiting, addr)
		return
	}
	p.waiting[addr] = q
}

// get takes the newest idle connection to addr, or nil.
func (p *pool) get(addr string) *backendConn {
	list := p.idle[addr]
	if len(list) == 0 {
		return nil
	}
	be := list[len(list)-1]
	list[len(list)-1] = nil
	p.idle[addr] = list[:len(list)-1]
	p.n--
	be.pooled = false
	return be
}

// put keeps be for reuse; it reports false (and keeps nothing) when addr
// already has maxIdle idle connections.
func (p *pool) put(be *backendConn, now int64) bool {
	list := p.idle[be.addr]
	if len(list) >= p.maxIdle {
		return false
	}
	be.pooled = true
	be.idleSince = now
	p.idle[be.addr] = append(list, be)
	p.n++
	return true
}

// remove drops be (closed by the backend while idle).
func (p *pool) remove(be *backendConn) {
	list := p.idle[be.addr]
	for i, x := range list {
		if x == be {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			p.idle[be.addr] = list[:len(list)-1]
			p.n--
			be.pooled = false
			return
		}
	}
}

// expire closes connections idle since before cutoff. Lists are ordered by
// idleSince, oldest first.
func (p *pool) expire(cutoff int64) {
	for addr, list := range p.idle {
		i := 0
		for i < len(list) && list[i].idleSince < cutoff {
			list[i].pooled = false
			list[i].closeNow()
			i++
		}
		if i > 0 {
			n := copy(list, list[i:])
			clear(list[n:])
			p.idle[addr] = list[:n]
			p.n -= i
		}
		if len(p.idle[addr]) == 0 {
			delete(p.idle, addr)
		}
	}
}
