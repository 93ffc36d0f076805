package loop

// A timerList is an intrusive doubly linked list of connections that share
// one timeout duration. A connection is appended with deadline now+d, so the
// list stays ordered by deadline and a sweep only looks at its front:
// insert, remove and the per-sweep work are O(1) per connection touched.
// A connection sits in at most one list. All methods run on the owning loop.
type timerList struct {
	head, tail *clientConn
	n          int
}

// timerLinks are the list fields embedded in a clientConn.
type timerLinks struct {
	prev, next *clientConn
	list       *timerList
	deadline   int64 // monotonic nanoseconds since engine start
}

// push appends cc with the given deadline, moving it from any other list.
func (l *timerList) push(cc *clientConn, deadline int64) {
	if cc.t.list != nil {
		cc.t.list.remove(cc)
	}
	cc.t.deadline = deadline
	cc.t.list = l
	cc.t.prev = l.tail
	cc.t.next = nil
	if l.tail != nil {
		l.tail.t.next = cc
	} else {
		l.head = cc
	}
	l.tail = cc
	l.n++
}

// remove unlinks cc from l; cc must be in l.
func (l *timerList) remove(cc *clientConn) {
	if cc.t.prev != nil {
		cc.t.prev.t.next = cc.t.next
	} else {
		l.head = cc.t.next
	}
	if cc.t.next != nil {
		cc.t.next.t.prev = cc.t.prev
	} else {
		l.tail = cc.t.prev
	}
	cc.t = timerLinks{}
	l.n--
}

// unlink removes cc from whatever list holds it.
func unlink(cc *clientConn) {
	if cc.t.list != nil {
		cc.t.list.remove(cc)
	}
}

// expire removes and passes to fn every connection whose deadline is at or
// before now, front first. fn may touch other lists but not l's remaining
// members.
func (l *timerList) expire(now int64, fn func(*clientConn)) {
	for l.head != nil && l.head.t.deadline <= now {
		cc := l.head
		l.remove(cc)
		fn(cc)
	}
}

// shift moves every deadline in l by d nanoseconds (a change of the list's
// timeout), which keeps the list ordered.
func (l *timerList) shift(d int64) {
	if d == 0 {
		return
	}
	for cc := l.head; cc != nil; cc = cc.t.next {
		cc.t.deadline += d
	}
}
