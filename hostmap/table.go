package hostmap

import "sync/atomic"

// Table geometry. A shard's table has a power-of-two number of slots, at
// least minSlots. Writers keep live keys plus tombstones at or below
// maxLoadNum/maxLoadDen of the slots, so every probe sequence ends at an
// empty slot; a rebuilt table holds its live keys at or below
// targetLoadNum/targetLoadDen, which leaves room for a number of writes
// proportional to its size before the next rebuild (amortised O(1)).
const (
	minSlots      = 8
	maxLoadNum    = 3
	maxLoadDen    = 4
	targetLoadNum = 5
	targetLoadDen = 8
	shrinkDen     = 8 // shrink when live keys fall below slots/shrinkDen
)

// entry is one key and its value. Entries are immutable once published:
// changing a key's value publishes a new entry into the same slot.
type entry[V any] struct {
	key        string // the stored key, protocol prefix included
	value      V
	kind       kind // protocol prefix length; key[kind:] is the hostname
	subdomains bool
}

// host returns the entry's hostname, the key without its protocol prefix.
func (e *entry[V]) host() string { return e.key[e.kind:] }

// slot is one cell of an open-addressing table. e is nil for an empty slot
// (the end of every probe sequence through it), the table's tomb for a
// deleted key, else a live entry whose hostname hashes to hash.
//
// Writers store hash before e, so a reader that loads a live e and then
// hash sees that entry's hash, unless the slot has since been reused for
// another key; then the key it loaded was deleted during the lookup and
// skipping it is correct. Within one table a slot never goes from non-nil
// back to nil and a key never moves (a new value is stored in its slot), so
// every slot between a key's home and its own stays non-nil and a lookup
// never misses a key present throughout it. A rebuild publishes a new table
// and leaves the old one frozen with every key it held, so a reader still
// walking the old one misses nothing either.
type slot[V any] struct {
	e    atomic.Pointer[entry[V]]
	hash atomic.Uint64
}

// table is one shard's open-addressing table with linear probing. Its size
// and tomb never change; a shard grows or shrinks by building a new table
// and publishing it. Only the writer holding Map.mu stores into slots.
type table[V any] struct {
	slots []slot[V]
	mask  uint64
	tomb  entry[V] // &tomb marks a deleted slot
}

// newTable returns an empty table of n slots, a power of two.
func newTable[V any](n int) *table[V] {
	return &table[V]{slots: make([]slot[V], n), mask: uint64(n - 1)}
}

// slotsFor returns the table size for n live keys after a rebuild.
func slotsFor(n int) int {
	size := minSlots
	for n*targetLoadDen > size*targetLoadNum {
		size *= 2
	}
	return size
}

// full reports whether a table of n slots with used live or deleted slots
// must be rebuilt before one more empty slot is taken.
func full(n, used int) bool {
	return (used+1)*maxLoadDen > n*maxLoadNum
}

// lookup probes t for hostname host, which hashes to h, and returns its
// entries of kinds k1 and k2 (nil where absent). It takes no lock and may
// run concurrently with a writer.
func lookup[V any, S ~string | ~[]byte](t *table[V], h uint64, host S, k1, k2 kind) (e1, e2 *entry[V]) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		p := s.e.Load()
		if p == nil {
			return e1, e2
		}
		if p == &t.tomb || s.hash.Load() != h || p.host() != string(host) {
			continue
		}
		if p.kind == k1 {
			e1 = p
		}
		if p.kind == k2 {
			e2 = p
		}
		if e1 != nil && e2 != nil {
			return e1, e2
		}
	}
}

// locate returns the slot holding the key (k, host), or -1, and the first
// slot where it could be inserted: a tombstone or the empty slot ending the
// probe sequence. Only the writer calls it.
func (t *table[V]) locate(h uint64, k kind, host string) (found, free int) {
	free = -1
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		p := s.e.Load()
		switch {
		case p == nil:
			if free < 0 {
				free = int(i)
			}
			return -1, free
		case p == &t.tomb:
			if free < 0 {
				free = int(i)
			}
		case s.hash.Load() == h && p.kind == k && p.host() == host:
			return int(i), free
		}
	}
}

// put stores e, whose hostname hashes to h, into slot i: hash first, then
// the entry, as slot's comment requires.
func (t *table[V]) put(i int, h uint64, e *entry[V]) {
	t.slots[i].hash.Store(h)
	t.slots[i].e.Store(e)
}

// putNew stores e into a table that holds no tombstone and not e's key,
// such as one being built.
func (t *table[V]) putNew(h uint64, e *entry[V]) {
	i := h & t.mask
	for t.slots[i].e.Load() != nil {
		i = (i + 1) & t.mask
	}
	t.put(int(i), h, e)
}

// rebuild returns a new unpublished table of n slots holding t's live
// entries (the entry pointers, not copies), without tombstones.
func (t *table[V]) rebuild(n int) *table[V] {
	nt := newTable[V](n)
	for i := range t.slots {
		s := &t.slots[i]
		if p := s.e.Load(); p != nil && p != &t.tomb {
			nt.putNew(s.hash.Load(), p)
		}
	}
	return nt
}
