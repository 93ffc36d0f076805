package hostmap

import (
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Sharding: a key goes to the shard named by the top shardBits of the
// xxhash of its hostname; the low bits pick its home slot in that shard.
const (
	shardBits  = 10
	numShards  = 1 << shardBits
	shardShift = 64 - shardBits
)

// Map maps rule keys (a bare hostname "ep.io" or a protocol-qualified one
// "http://ep.io" / "https://ep.io") to values.
//
// Keys must already be in the form NormalizeKey returns; the map compares
// them byte for byte and keeps the key strings it is given. The zero Map is
// empty and ready to use; New returns one too. A Map must not be copied
// after first use.
//
// Get, Match, Len and Range are lock-free, do not allocate and are safe for
// concurrent use with each other and with writers. Set, Delete and Replace
// serialise on a mutex among themselves; a writer never blocks readers.
type Map[V any] struct {
	mu   sync.Mutex // serialises writers
	root atomic.Pointer[root[V]]
}

// root is one whole content of a Map. Replace builds a new root off to the
// side and publishes it with one store; Set and Delete change the current
// one shard by shard.
type root[V any] struct {
	shards [numShards]atomic.Pointer[table[V]]
	counts [numShards]shardCount // written and read only under Map.mu
	n      atomic.Int64          // live keys, written only under Map.mu
}

// shardCount tracks a shard's live keys and tombstones for its writer.
type shardCount struct {
	live, tombs int
}

// Entry is one key of a Map with its value, as given to Replace.
type Entry[V any] struct {
	// Key is a rule key in NormalizeKey form.
	Key string
	// Value is what Get and Match return for Key.
	Value V
	// Subdomains says whether Match applies the key to subdomains of its
	// hostname too.
	Subdomains bool
}

// New returns an empty Map.
func New[V any]() *Map[V] {
	m := &Map[V]{}
	m.root.Store(&root[V]{})
	return m
}

// writable returns the root for a writer, creating it for a zero Map. The
// caller holds m.mu.
func (m *Map[V]) writable() *root[V] {
	r := m.root.Load()
	if r == nil {
		r = &root[V]{}
		m.root.Store(r)
	}
	return r
}

// Get returns the value stored under exactly key, which must already be
// normalised, and the key's subdomains flag. It does not apply the §3 suffix
// walk; see Match for that. Get is lock-free and does not allocate.
func (m *Map[V]) Get(key string) (v V, subdomains bool, ok bool) {
	r := m.root.Load()
	if r == nil {
		return v, false, false
	}
	k, host := splitKey(key)
	h := xxhash.Sum64String(host)
	t := r.shards[h>>shardShift].Load()
	if t == nil {
		return v, false, false
	}
	e, _ := lookup(t, h, host, k, k)
	if e == nil {
		return v, false, false
	}
	return e.value, e.subdomains, true
}

// Set inserts key with value v, or replaces the value and subdomains flag
// of an existing key, in O(1) amortised time: it touches only key's shard
// and at worst rebuilds that shard's table. Readers see the old or the new
// entry, never a mix. key must already be normalised (NormalizeKey).
func (m *Map[V]) Set(key string, v V, subdomains bool) {
	k, host := splitKey(key)
	e := &entry[V]{key: key, value: v, kind: k, subdomains: subdomains}
	h := xxhash.Sum64String(host)
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.writable()
	if r.insert(h, e) {
		r.n.Add(1)
	}
}

// insert stores e in its shard of r and reports whether its key is new.
// The caller holds Map.mu and r is either published or being built.
func (r *root[V]) insert(h uint64, e *entry[V]) bool {
	sh, c := &r.shards[h>>shardShift], &r.counts[h>>shardShift]
	t := sh.Load()
	if t == nil {
		t = newTable[V](minSlots)
		sh.Store(t)
	}
	found, free := t.locate(h, e.kind, e.host())
	switch {
	case found >= 0:
		t.slots[found].e.Store(e)
		return false
	case t.slots[free].e.Load() == &t.tomb:
		c.tombs--
		t.put(free, h, e)
	case full(len(t.slots), c.live+c.tombs):
		nt := t.rebuild(slotsFor(c.live + 1))
		nt.putNew(h, e)
		c.tombs = 0
		sh.Store(nt)
	default:
		t.put(free, h, e)
	}
	c.live++
	return true
}

// Delete removes key, which must already be normalised, and returns the
// value it had. Readers that started before Delete may still see the key.
// A shard whose table becomes mostly empty is rebuilt smaller, so churn does
// not grow memory without bound.
func (m *Map[V]) Delete(key string) (old V, ok bool) {
	k, host := splitKey(key)
	h := xxhash.Sum64String(host)
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.root.Load()
	if r == nil {
		return old, false
	}
	sh, c := &r.shards[h>>shardShift], &r.counts[h>>shardShift]
	t := sh.Load()
	if t == nil {
		return old, false
	}
	found, _ := t.locate(h, k, host)
	if found < 0 {
		return old, false
	}
	old = t.slots[found].e.Load().value
	t.slots[found].e.Store(&t.tomb)
	c.live--
	c.tombs++
	r.n.Add(-1)
	if len(t.slots) > minSlots && c.live*shrinkDen < len(t.slots) {
		sh.Store(t.rebuild(slotsFor(c.live)))
		c.tombs = 0
	}
	return old, true
}

// Len returns the number of keys. It is lock-free.
func (m *Map[V]) Len() int {
	r := m.root.Load()
	if r == nil {
		return 0
	}
	return int(r.n.Load())
}

// Range calls fn for each key in no particular order until fn returns
// false. It takes no lock, so fn may call any method of m.
//
// Range works on the content current when it starts: a Replace during the
// call is not seen. Without concurrent Set or Delete it visits exactly the
// keys present. With them, every key present and unchanged for the whole
// call is visited exactly once; a key set or deleted meanwhile may be
// visited or not, with its old or its new value. A caller that needs an
// exact snapshot under writes (an export) must stop its own writers first.
func (m *Map[V]) Range(fn func(key string, v V, subdomains bool) bool) {
	r := m.root.Load()
	if r == nil {
		return
	}
	for si := range r.shards {
		t := r.shards[si].Load()
		if t == nil {
			continue
		}
		for i := range t.slots {
			p := t.slots[i].e.Load()
			if p == nil || p == &t.tomb {
				continue
			}
			if !fn(p.key, p.value, p.subdomains) {
				return
			}
		}
	}
}
