package hostmap

import (
	"unsafe"

	"github.com/mantrid/mantrid/actions"
)

// Range calls fn for each key, in no particular order, until fn returns
// false. It takes no lock, so fn may call any method of t, writers
// included.
//
// Range works on the content current when it starts: a Replace during the
// call is not seen. Without concurrent Set or Delete it visits exactly the
// keys present. With them, every key present and unchanged for the whole
// call is visited exactly once; a key set or deleted meanwhile may be
// visited or not, with its old or its new rule. Cut gives an exact list.
// The key string shares the table's memory and stays valid.
func (t *Table) Range(fn func(key string, h Hit) bool) {
	r := t.root.Load()
	for si := range r.shards {
		sh := r.shards[si].Load()
		if sh == nil {
			continue
		}
		for i := range sh.slots {
			s := &sh.slots[i]
			w := s.key.Load()
			if w == 0 || w == tomb {
				continue
			}
			if !fn(r.key(w), r.hit(entry{w, s.val.Load(), true})) {
				return
			}
		}
	}
}

// EachCounted calls fn with the key and the counts of every key whose
// counts, open requests left out, are not zero. It reads the slots in
// order and a key's counters only where they may be set
// (actions.Counters.Touched), and the key itself only when they are: a
// store saving the counters of a million hosts, few of them with traffic,
// pays little more than one pass over the slots. Like Range it sees a
// key changed meanwhile either way.
func (t *Table) EachCounted(fn func(key string, c actions.Counts)) {
	r := t.root.Load()
	for si := range r.shards {
		sh := r.shards[si].Load()
		if sh == nil {
			continue
		}
		for i := range sh.slots {
			s := &sh.slots[i]
			w := s.key.Load()
			if w == 0 || w == tomb {
				continue
			}
			id := statOf(s.val.Load())
			if !t.counters.Touched(id) {
				continue
			}
			c := t.counters.Sum(id)
			c.OpenRequests = 0
			if !c.IsZero() {
				fn(r.key(w), c)
			}
		}
	}
}

// key returns the key of key word w as a string sharing the arena.
func (r *root) key(w uint64) string {
	b := r.arena.str(refOf(w))
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Cut is an exact list of a table's keys and rules at one moment, for
// answers and files that must not show half of a change: the list of every
// rule, a store's snapshot. It costs 16 bytes a key and holds the table
// generation it was cut from, whatever the table does afterwards. Its keys
// come shard after shard (ShardSizes), so that a store that writes them in
// this order can load them with AddOrdered.
type Cut struct {
	r        *root
	ents     []cutEntry
	backends uint32
	sizes    []int
}

type cutEntry struct{ key, val uint64 }

// Cut returns the table's content now. It holds the writer mutex while it
// copies two integers per key.
func (t *Table) Cut() *Cut {
	t.mu.Lock()
	defer t.mu.Unlock()
	return cutOf(t.root.Load())
}

// cutOf lists the keys of r, shard after shard.
func cutOf(r *root) *Cut {
	c := &Cut{r: r, ents: make([]cutEntry, 0, r.n.Load()), backends: r.backends.n, sizes: make([]int, numShards)}
	for si := range r.shards {
		before := len(c.ents)
		if sh := r.shards[si].Load(); sh != nil {
			for i := range sh.slots {
				s := &sh.slots[i]
				if w := s.key.Load(); w != 0 && w != tomb {
					c.ents = append(c.ents, cutEntry{w, s.val.Load()})
				}
			}
		}
		c.sizes[si] = len(c.ents) - before
	}
	return c
}

// ShardSizes returns how many of the cut's keys each shard holds, in
// order: the first ShardSizes()[0] keys are shard 0's, and so on.
func (c *Cut) ShardSizes() []int { return c.sizes }

// Len returns the number of keys.
func (c *Cut) Len() int { return len(c.ents) }

// Key returns the i-th key. The string shares the table's memory.
func (c *Cut) Key(i int) string { return c.r.key(c.ents[i].key) }

// Hit returns the i-th key's rule.
func (c *Cut) Hit(i int) Hit { return c.r.hit(entry{c.ents[i].key, c.ents[i].val, true}) }

// Backends returns how many backend addresses the cut's table generation
// interned; the ids of its rules' backends are below it.
func (c *Cut) Backends() uint32 { return c.backends }

// BackendAddr returns the dial address of backend id.
func (c *Cut) BackendAddr(id uint32) string { return c.r.backends.addr(&c.r.arena, id) }

// Cut returns the builder's content, for a store to write before the
// builder is given to Replace; it stays valid afterwards. It finishes the
// builder first (see Finish).
func (b *Builder) Cut() *Cut {
	b.Finish()
	return cutOf(b.r)
}
