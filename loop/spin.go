package loop

import (
	"context"
	"strings"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/static"
	"github.com/panjf2000/gnet/v2"
)

// spinState is a request held by a spin rule (README: Rules). Its bytes stay
// unconsumed in gnet's inbound buffer, untouched, with any pipelined
// requests behind it; past maxWaitInput of them the client is not read
// any more (pace), so a held upload of any size waits in the kernel's
// socket buffers and at the client. When it is released its head is
// parsed and routed again, so that it reaches the new action with its
// body intact. Loop-owned.
type spinState struct {
	active   bool   // the current request is held (or being re-routed)
	gen      uint64 // tells this request's timeout from a later one's
	index    int    // position in eventLoop.parked
	host     []byte // normalised request host, for matching rule changes
	https    bool
	seen     hostmap.Hit // what the host matched when parked
	slot     *actions.Slot
	headLen  int
	interval int64 // check_interval, ns
	checkAt  int64 // next fallback check, engine ns
	isHead   bool  // the held request is HEAD (its bytes may move)
	keep     bool  // the held request asked to keep the connection
}

// park holds the current request (its head is headLen bytes, not consumed).
// The first time a request is parked its timeout starts; later re-parks
// (a rule change that left it on spin) keep that timeout. A new request
// finds no room once max_spin requests are held on all loops together:
// one atomic add on the engine's count per park and per unpark, which
// only spin's requests pay.
func (cc *clientConn) park(h *hostmap.Hit, slot *actions.Slot, headLen int, https bool) bool {
	el := cc.el
	sp := &cc.sp
	held := el.e.held.Add(1)
	if !sp.active {
		if held > int64(el.cfg.MaxParked) {
			el.e.held.Add(-1)
			return false
		}
		sp.active = true
		sp.gen++
		gen := sp.gen
		time.AfterFunc(h.Rule.Timeout(), func() {
			_ = el.gl.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				if !cc.closed && cc.state == stateSpin && cc.sp.gen == gen {
					cc.spinTimeout()
				}
				return nil
			}))
		})
	}
	sp.slot, sp.headLen, sp.https, sp.seen = slot, headLen, https, *h
	sp.isHead, sp.keep = isHEAD(cc.req.Method), cc.req.KeepAlive
	sp.host = append(sp.host[:0], el.host...)
	sp.interval = int64(h.Rule.CheckInterval())
	sp.checkAt = el.e.now() + sp.interval
	cc.state = stateSpin
	unlink(cc)
	sp.index = len(el.parked)
	el.parked = append(el.parked, cc)
	return true
}

// unpark removes cc from the held requests.
func (cc *clientConn) unpark() {
	el := cc.el
	el.e.held.Add(-1)
	i := cc.sp.index
	last := len(el.parked) - 1
	el.parked[i] = el.parked[last]
	el.parked[i].sp.index = i
	el.parked[last] = nil
	el.parked = el.parked[:last]
}

// release re-routes a held request: it is parsed again from the buffer
// and served by whatever its rule now says (possibly spin again).
func (cc *clientConn) release() {
	cc.unpark()
	cc.sp.slot.Unbegin(cc.sp.headLen)
	cc.state = stateHead
	cc.resume()
}

// spinTimeout answers a request held past its rule's timeout with the
// timeout page (README: Rules).
func (cc *clientConn) spinTimeout() {
	cc.unpark()
	cc.sp.active = false
	cc.consume(cc.sp.headLen)
	keep := cc.sp.keep && !cc.el.e.draining.Load()
	out := cc.appendPage(cc.el.bout[:0], static.Timeout, keep, cc.sp.isHead)
	cc.el.bout = out[:0]
	slot := cc.sp.slot
	slot.Sent(len(out))
	slot.End(true)
	cc.afterLocalAnswer(slot, keep, cc.req.Chunked, cc.req.ContentLength)
	_, _ = cc.c.Write(out)
	cc.resume()
}

// spinOverflow ends a held request whose client has sent more than
// max_pipelined bytes past its head while held although reading did not
// stop (pace: a connection without PauseRead): holding them would cost
// memory without bound (README: Spin). It gets the timeout page, as at the
// spin timeout, and the connection closes once that is written.
func (cc *clientConn) spinOverflow() {
	cc.unpark()
	cc.sp.active = false
	out := cc.appendPage(cc.el.bout[:0], static.Timeout, false, cc.sp.isHead)
	cc.el.bout = out[:0]
	slot := cc.sp.slot
	slot.Sent(len(out))
	slot.End(true)
	_, _ = cc.c.Write(out)
	if !cc.closed {
		cc.closeWhenFlushed()
	}
}

// spinGone forgets a held request whose client left: it is never forwarded.
func (cc *clientConn) spinGone() {
	cc.unpark()
	cc.sp.active = false
	cc.sp.slot.End(false)
}

// wake re-routes the held requests that a change of rule key may concern:
// those whose host is key or under it ("" for every host).
func (el *eventLoop) wake(key string) {
	bare := key
	if i := strings.Index(key, "://"); i >= 0 {
		bare = key[i+3:]
	}
	el.eachHeld(func(cc *clientConn) {
		h := string(cc.sp.host)
		if key == "" || h == bare || strings.HasSuffix(h, bare) && len(h) > len(bare) && h[len(h)-len(bare)-1] == '.' {
			cc.release()
		}
	})
}

// eachHeld calls fn for every held request, on a snapshot of the list (fn
// may release requests, which changes it), skipping those that a previous
// call has already moved on or closed.
func (el *eventLoop) eachHeld(fn func(cc *clientConn)) {
	held := append(el.wakeBuf[:0], el.parked...)
	for _, cc := range held {
		if !cc.closed && cc.state == stateSpin {
			fn(cc)
		}
	}
	clear(held)
	el.wakeBuf = held[:0]
}

// timeoutParked answers every held request with the timeout page (at
// shutdown).
func (el *eventLoop) timeoutParked() {
	el.eachHeld((*clientConn).spinTimeout)
}

// checkParked is the check_interval fallback: a held request whose host now
// matches another rule than when it was parked is released.
func (el *eventLoop) checkParked(now int64) {
	el.eachHeld(func(cc *clientConn) {
		if cc.sp.checkAt > now {
			return
		}
		cc.sp.checkAt = now + cc.sp.interval
		if h, _ := el.e.rules.Match(cc.sp.host, cc.sp.https); !h.Same(&cc.sp.seen) {
			cc.release()
		}
	})
}
