package hostmap

import (
	"time"

	"github.com/mantrid/mantrid/actions"
)

// idPool hands out stat ids. Id 0 is the unmatched requests'; the others go
// to hosts. A deleted host's id is pending until Reclaim finds that no
// request of that host can count any more; only then is it free to reuse.
// Written only under Table.mu.
type idPool struct {
	next    uint32 // the lowest id never handed out
	free    []uint32
	pending []pendingID
}

// pendingID is a released id waiting to be reused.
type pendingID struct {
	id      uint32
	since   time.Time      // when it was released
	seen    actions.Counts // its counts at the previous Reclaim
	checked bool           // seen is set
}

// take returns an id for a new host, with its counts at zero.
func (p *idPool) take(c *actions.Counters) uint32 {
	if n := len(p.free); n > 0 {
		id := p.free[n-1]
		p.free = p.free[:n-1]
		c.SetBase(id, actions.Counts{})
		return id
	}
	if p.next > MaxStatID {
		panic("hostmap: out of stat ids")
	}
	p.next++
	return p.next - 1
}

// release marks id as no longer any host's.
func (p *idPool) release(id uint32, now time.Time) {
	p.pending = append(p.pending, pendingID{id: id, since: now})
}

// Reclaim makes the ids of deleted hosts reusable once it is safe: released
// at least minAge before now, no request open on them in any event loop,
// and their counts unchanged since the previous Reclaim (a request whose
// answer is sent may still be reading its body). An event loop takes a
// host's id and opens its request within one callback, so after minAge
// every request that could still count on the id shows as open. It returns
// how many ids became free. The owner calls it now and then (every few
// seconds); without it, deleted hosts' ids are simply not reused.
func (t *Table) Reclaim(now time.Time, minAge time.Duration) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &t.ids
	kept, freed := p.pending[:0], 0
	for _, e := range p.pending {
		c := t.counters.Sum(e.id)
		old := now.Sub(e.since) >= minAge
		if old && e.checked && c == e.seen && t.counters.Open(e.id) == 0 {
			p.free = append(p.free, e.id)
			freed++
			continue
		}
		if old {
			e.seen, e.checked = c, true
		}
		kept = append(kept, e)
	}
	clear(p.pending[len(kept):])
	p.pending = kept
	return freed
}
