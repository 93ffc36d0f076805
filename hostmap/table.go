package hostmap

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mantrid/mantrid/actions"
)

// ErrDuplicateKey is matched by Builder.Finish's error for a key given
// twice.
var ErrDuplicateKey = errors.New("hostmap: rule key given twice")

// compactMin is the least garbage, in arena bytes, that makes a table
// rebuild itself; below it a small table never bothers.
const compactMin = 4 << 20

// Table is Mantrid's rule table: rule keys (a bare hostname "ep.io" or a
// protocol-qualified one "http://ep.io" / "https://ep.io", in NormalizeKey
// form) mapped to packed rules, with each host's counters.
//
// A rule costs a few dozen bytes and no Go pointer: keys and packed rules
// sit in a byte arena, backends' addresses are interned once per table,
// the index is 1024 shards of open-addressing slots of two integers, and
// counters are flat arrays indexed by the host's stat id (actions.Counters).
// A host keeps its stat id, and so its counters, while it has a rule: when
// the rule changes and across Replace; its counters go with it when it is
// deleted, and the id is reused only once no request of the old host can
// still count (see Reclaim). Stat id 0 counts the requests that match no
// rule.
//
// Readers (Match, Get, Len, Range, Cut's methods, Counts) never lock, never
// allocate and are safe for concurrent use with each other and with one
// writer. Writers (Set, Delete, Replace, SetCounts, Reclaim, Cut) serialise
// on a mutex that readers never take. A change is visible to every reader
// that starts after the writer returns. Replace publishes a whole new table
// with one atomic store, so readers see the old set or the new one, never a
// mix. Set and Delete change one key in O(1) amortised time; the table
// rebuilds itself (as Replace does) when replaced and deleted rules take
// more of its arena than live ones.
type Table struct {
	mu       sync.Mutex // serialises writers
	root     atomic.Pointer[root]
	counters *actions.Counters
	ids      idPool // writer only
	scratch  []byte // writer only: a rule being packed
}

// root is one generation of a table: its index, its arena and its interned
// backends. Replace and rebuilds make a new root; Set and Delete change
// the current one in place.
type root struct {
	shards   [numShards]atomic.Pointer[shard]
	counts   [numShards]shardCount // writer only
	arena    arena
	backends backendTable
	n        atomic.Int64 // live keys
	garbage  int64        // arena bytes of replaced or deleted keys and rules; writer only
	rev      uint64       // the revision of rules stored without one; set before r is published
}

// New returns an empty table whose counters serve loops event loops.
func New(loops int) *Table {
	t := &Table{counters: actions.NewCounters(loops), ids: idPool{next: 1}}
	t.root.Store(&root{})
	return t
}

// Counters returns the table's counters. Event loop i counts through
// Counters().Slot(i, hit.Stat); other goroutines read them with Counts.
func (t *Table) Counters() *actions.Counters { return t.counters }

// Counts returns the counts of stat id stat (0: unmatched requests).
func (t *Table) Counts(stat uint32) actions.Counts { return t.counters.Sum(stat) }

// Len returns the number of keys.
func (t *Table) Len() int { return int(t.root.Load().n.Load()) }

// Get returns the rule stored under exactly key, which must already be
// normalised. It does not apply the §3 suffix walk; see Match for that.
func (t *Table) Get(key string) (Hit, bool) {
	r := t.root.Load()
	k, host := splitKey(key)
	b := bytesOf(host)
	h := hashOf(b)
	sh := r.shards[h>>shardShift].Load()
	if sh == nil {
		return Hit{}, false
	}
	e, _ := lookup(sh, &r.arena, h, b, k, k)
	if !e.ok {
		return Hit{}, false
	}
	return r.hit(e), true
}

// Set stores rule r under key with no revision of its own (SetRev with
// rev 0).
func (t *Table) Set(key string, r *actions.Rule) (created bool) { return t.SetRev(key, r, 0) }

// SetRev stores rule r under key, which must already be normalised
// (NormalizeKey), as set at revision rev (Hit.Rev), and reports whether
// the key is new. A new key gets a stat id with zero counts; an existing
// one keeps its id and counts. rev 0 stands for the revision of the
// table's content (Builder.SetRev).
func (t *Table) SetRev(key string, r *actions.Rule, rev uint64) (created bool) {
	k, host := splitKey(key)
	hb := bytesOf(host)
	h := hashOf(hb)
	t.mu.Lock()
	defer t.mu.Unlock()
	rt := t.root.Load()
	ref := t.packRule(rt, r, rev)
	si := h >> shardShift
	sh := rt.shard(si)
	found, free := sh.locate(&rt.arena, h, k, hb)
	if found >= 0 {
		s := &sh.slots[found]
		old := s.val.Load()
		s.val.Store(valWord(ref, statOf(old), r.Subdomains))
		rt.garbage += int64(rt.ruleLen(old))
		t.compactIfWasteful(rt)
		return false
	}
	stat := t.ids.take(t.counters)
	rt.insert(si, sh, free, h, keyWord(rt.arena.putString(key), k, h), valWord(ref, stat, r.Subdomains))
	return true
}

// packRule stores r, set at revision rev, in rt's arena and returns the
// reference of its record.
func (t *Table) packRule(rt *root, r *actions.Rule, rev uint64) uint32 {
	t.scratch = actions.AppendPacked(t.scratch[:0], r, func(addr string) uint32 {
		return rt.backends.intern(&rt.arena, addr)
	})
	return rt.arena.putRule(rev, t.scratch)
}

// Delete removes key, which must already be normalised, and reports
// whether it was there. Readers that started before Delete may still see
// the key. A shard that becomes mostly empty is rebuilt smaller, so churn
// does not grow memory without bound.
func (t *Table) Delete(key string) bool {
	k, host := splitKey(key)
	hb := bytesOf(host)
	h := hashOf(hb)
	t.mu.Lock()
	defer t.mu.Unlock()
	rt := t.root.Load()
	si := h >> shardShift
	sh := rt.shards[si].Load()
	if sh == nil {
		return false
	}
	found, _ := sh.locate(&rt.arena, h, k, hb)
	if found < 0 {
		return false
	}
	s := &sh.slots[found]
	v := s.val.Load()
	s.key.Store(tomb)
	c := &rt.counts[si]
	c.live--
	c.tombs++
	rt.n.Add(-1)
	rt.garbage += int64(rt.ruleLen(v) + 2 + len(key))
	t.ids.release(statOf(v), time.Now())
	if len(sh.slots) > minSlots && c.live*shrinkDen < len(sh.slots) {
		rt.shards[si].Store(sh.rebuild(&rt.arena, slotsFor(c.live)))
		c.tombs = 0
	}
	t.compactIfWasteful(rt)
	return true
}

// shard returns shard si of a root being written, creating it.
func (r *root) shard(si uint64) *shard {
	sh := r.shards[si].Load()
	if sh == nil {
		sh = newShard(minSlots)
		r.shards[si].Store(sh)
	}
	return sh
}

// insert adds a key that shard si (sh) does not hold: into slot free, or
// into a rebuilt shard when sh is too full.
func (r *root) insert(si uint64, sh *shard, free int, h, key, val uint64) {
	c := &r.counts[si]
	if full(len(sh.slots), c.live+c.tombs) {
		ns := sh.rebuild(&r.arena, slotsFor(c.live+1))
		ns.putNew(h, key, val)
		c.tombs = 0
		r.shards[si].Store(ns)
	} else {
		sh.put(free, key, val)
	}
	c.live++
	r.n.Add(1)
}

// ruleLen returns the length of the rule record of value word v.
func (r *root) ruleLen(v uint64) int {
	_, p := r.arena.rule(ruleOf(v))
	return revSize + p.Len()
}

// hit returns the Hit of a key found in r.
func (r *root) hit(e entry) Hit {
	rev, p := r.arena.rule(ruleOf(e.val))
	if rev == 0 {
		rev = r.rev
	}
	return Hit{Rule: p[:p.Len():p.Len()], Subdomains: subsOf(e.val), Stat: statOf(e.val), Rev: rev, root: r, key: e.key, val: e.val}
}

// compactIfWasteful rebuilds the table when garbage outweighs what is
// live. The caller holds t.mu.
func (t *Table) compactIfWasteful(rt *root) {
	if rt.garbage < compactMin || rt.garbage < rt.arena.size-rt.garbage {
		return
	}
	b := t.newBuilder(int(rt.n.Load()))
	b.r.rev = rt.rev
	rt.each(func(key, val uint64) {
		b.copyFrom(rt, key, val)
	})
	b.Finish()
	t.root.Store(b.r)
}

// each calls fn with the key and value words of every live key of r. The
// caller holds Table.mu, or r is frozen.
func (r *root) each(fn func(key, val uint64)) {
	for si := range r.shards {
		sh := r.shards[si].Load()
		if sh == nil {
			continue
		}
		for i := range sh.slots {
			s := &sh.slots[i]
			if w := s.key.Load(); w != 0 && w != tomb {
				fn(w, s.val.Load())
			}
		}
	}
}

// SetCounts makes the counts of key's host equal to c (open_requests
// aside), as a store restores them at start; it reports whether key has a
// rule.
func (t *Table) SetCounts(key string, c actions.Counts) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	h, ok := t.Get(key)
	if ok {
		t.counters.SetBase(h.Stat, c)
	}
	return ok
}

// SetUnmatchedCounts makes the counts of requests that matched no rule
// (stat id 0) equal to c.
func (t *Table) SetUnmatchedCounts(c actions.Counts) {
	t.mu.Lock()
	t.counters.SetBase(0, c)
	t.mu.Unlock()
}
