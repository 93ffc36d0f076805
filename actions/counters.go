package actions

import "sync/atomic"

// Counter arrays grow in chunks of countersChunk hosts, allocated when a
// loop first counts a host of the chunk (or a base is first set in it), so
// a million hosts that see no traffic cost no counter memory.
const (
	countersChunkBits = 10
	countersChunk     = 1 << countersChunkBits
)

// Counters holds the counters of many hosts in flat, pointer-free arrays
// indexed by a host's stat id (README: Statistics): one array of Slots per event loop,
// written only by that loop, and one array of bases (counts carried over
// from a store, or the zero point of a reused id), written only by the
// rule table's writer. A host's counts are its base plus its slot in every
// loop.
//
// Slot may be called only by the loop it names; Sum, Open and the
// readers are safe for concurrent use with everything; SetBase must be
// called by one goroutine at a time (the table's writer).
type Counters struct {
	loops []chunks
	base  chunks
}

// chunks is an array of Slots that grows by chunks, readable while one
// writer grows it.
type chunks struct {
	dir atomic.Pointer[[]atomic.Pointer[[countersChunk]Slot]]
	_   [56]byte // one writer per chunks value: keep them on their own cache lines
}

// at returns element id, or nil when its chunk does not exist.
func (c *chunks) at(id uint32) *Slot {
	dir := c.dir.Load()
	ci := int(id >> countersChunkBits)
	if dir == nil || ci >= len(*dir) {
		return nil
	}
	ch := (*dir)[ci].Load()
	if ch == nil {
		return nil
	}
	return &ch[id&(countersChunk-1)]
}

// make returns element id, creating its chunk. Only the single writer of c
// may call it.
func (c *chunks) make(id uint32) *Slot {
	if e := c.at(id); e != nil {
		return e
	}
	ci := int(id >> countersChunkBits)
	dir := c.dir.Load()
	if dir == nil || ci >= len(*dir) {
		n := max(ci+1, 2*lenOf(dir), 16)
		grown := make([]atomic.Pointer[[countersChunk]Slot], n)
		if dir != nil {
			for i := range *dir {
				grown[i].Store((*dir)[i].Load())
			}
		}
		c.dir.Store(&grown)
		dir = &grown
	}
	ch := (*dir)[ci].Load()
	if ch == nil {
		ch = new([countersChunk]Slot)
		(*dir)[ci].Store(ch)
	}
	return &ch[id&(countersChunk-1)]
}

func lenOf(dir *[]atomic.Pointer[[countersChunk]Slot]) int {
	if dir == nil {
		return 0
	}
	return len(*dir)
}

// NewCounters returns counters for loops event loops (at least 1).
func NewCounters(loops int) *Counters {
	return &Counters{loops: make([]chunks, max(loops, 1))}
}

// Loops returns the number of event loops the counters serve.
func (c *Counters) Loops() int { return len(c.loops) }

// Slot returns loop's Slot for stat id, allocating its chunk on first use.
// Only event loop number loop may call it, and it owns the Slot.
func (c *Counters) Slot(loop int, id uint32) *Slot { return c.loops[loop].make(id) }

// live returns the sum of id's slots over the loops.
func (c *Counters) live(id uint32) Counts {
	var total Counts
	for i := range c.loops {
		if s := c.loops[i].at(id); s != nil {
			total = total.Add(s.counts())
		}
	}
	return total
}

// Sum returns id's counts: its base plus what every loop counted. Counters
// written concurrently may be a request apart from each other; each is
// exact once traffic stops.
func (c *Counters) Sum(id uint32) Counts {
	total := c.live(id)
	if b := c.base.at(id); b != nil {
		total = total.Add(b.counts())
	}
	return total
}

// Open returns id's open_requests as the loops count them, without its
// base: 0 when no request of the host is under way.
func (c *Counters) Open(id uint32) int64 {
	n := int64(0)
	for i := range c.loops {
		if s := c.loops[i].at(id); s != nil {
			n += s.open.Load()
		}
	}
	return n
}

// SetBase makes id's counts equal to want from now on, whatever the loops
// counted for it before: the base becomes want minus their counts. The
// table's writer calls it for a host it loads with stored counts and for a
// new host that reuses the id of a deleted one. open_requests in want is
// ignored (a new process, or a new host, has none open).
func (c *Counters) SetBase(id uint32, want Counts) {
	want.OpenRequests = 0
	b := want.Sub(c.live(id))
	if b.IsZero() && c.base.at(id) == nil {
		return
	}
	s := c.base.make(id)
	s.open.Store(b.OpenRequests)
	s.completed.Store(b.CompletedRequests)
	s.sent.Store(b.BytesSent)
	s.received.Store(b.BytesReceived)
}

// Touched reports whether id may have counts: false when neither a loop
// nor the base has the chunk that would hold them, so that they are zero
// without reading them. A scan for the hosts that have counts skips a
// million that never saw traffic at the cost of a few loads each.
func (c *Counters) Touched(id uint32) bool {
	for i := range c.loops {
		if c.loops[i].has(id) {
			return true
		}
	}
	return c.base.has(id)
}

// has reports whether the chunk of id exists.
func (c *chunks) has(id uint32) bool {
	dir := c.dir.Load()
	ci := int(id >> countersChunkBits)
	return dir != nil && ci < len(*dir) && (*dir)[ci].Load() != nil
}

// Total returns the sum of every host's counts, bases included. It reads
// only the chunks that exist, so it is cheap while few hosts see traffic;
// a saver compares totals to skip saves when nothing moved.
func (c *Counters) Total() Counts {
	var total Counts
	for i := range c.loops {
		total = total.Add(c.loops[i].total())
	}
	return total.Add(c.base.total())
}

// total sums every element of every existing chunk.
func (c *chunks) total() Counts {
	var sum Counts
	dir := c.dir.Load()
	if dir == nil {
		return sum
	}
	for i := range *dir {
		ch := (*dir)[i].Load()
		if ch == nil {
			continue
		}
		for j := range ch {
			sum = sum.Add(ch[j].counts())
		}
	}
	return sum
}
