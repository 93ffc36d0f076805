package hostmap

import (
	"sort"
	"time"
	"unsafe"

	"github.com/mantrid/mantrid/actions"
)

// Builder builds a whole new content for a table off to the side, for
// Replace: the rules of a bulk PUT, or a store's file at start. Keys and
// rules are appended to the new arena as they come; the index is built in
// one pass by Finish, shard after shard, so that building a million keys
// touches memory in order instead of at random. Its keys are not visible
// to readers of the table until Replace. A Builder is used by one
// goroutine at a time, and only once.
type Builder struct {
	t        *Table
	r        *root
	scratch  []byte
	pending  []pendingKey // the keys in the order added
	finished bool
	err      error // Finish's answer
	dups     []int // Finish's positions of the later appearances of keys
	ordered  []int // StartOrdered's shard sizes, for AddOrdered
	shard    int   // the shard AddOrdered is filling
}

// pendingKey is a key added to a Builder: the hash of its hostname, its
// key and value words.
type pendingKey struct {
	h, key, val uint64
}

// DuplicateKeyError is Finish's error for a key given twice. It matches
// ErrDuplicateKey.
type DuplicateKeyError struct {
	// Key is the rule key, as given.
	Key string
	// Index is the position of its second appearance among the keys
	// added (the first key added is 0).
	Index int
}

func (e *DuplicateKeyError) Error() string { return "hostmap: rule key given twice: " + e.Key }
func (e *DuplicateKeyError) Unwrap() error { return ErrDuplicateKey }

// NewBuilder returns an empty Builder for t; sizeHint, the number of keys
// expected, sizes its lists up front.
func (t *Table) NewBuilder(sizeHint int) *Builder { return t.newBuilder(sizeHint) }

func (t *Table) newBuilder(sizeHint int) *Builder {
	return &Builder{t: t, r: &root{}, pending: make([]pendingKey, 0, max(sizeHint, 0))}
}

// Len returns the number of keys added.
func (b *Builder) Len() int {
	if b.ordered != nil {
		return int(b.r.n.Load())
	}
	return len(b.pending)
}

// Add adds rule r under key, which must already be normalised
// (NormalizeKey), at the content's revision (SetRev). A key given twice
// is reported by Finish.
func (b *Builder) Add(key string, r *actions.Rule) { b.AddRev(key, r, 0) }

// AddRev adds rule r under key as Add does, as set at revision rev; rev 0
// stands for the content's revision (SetRev).
func (b *Builder) AddRev(key string, r *actions.Rule, rev uint64) {
	b.scratch = actions.AppendPacked(b.scratch[:0], r, b.Backend)
	b.add(bytesOf(key), b.scratch, r.Subdomains, 0, rev)
}

// SetRev makes rev the revision of the content's rules added without one
// of their own (Add, AddPacked, AddOrdered with rev 0): a store gives the
// revision at which it commits a bulk replace, before Cut and Replace.
func (b *Builder) SetRev(rev uint64) { b.r.rev = rev }

// Backend interns a backend's dial address in the content being built and
// returns its id, for the rules given to AddPacked.
func (b *Builder) Backend(addr string) uint32 { return b.r.backends.intern(&b.r.arena, addr) }

// AddPacked adds packed rule p under key, which must already be normalised
// (NormalizeKey), with the subdomains flag subs. p must be valid
// (actions.CheckPacked) and name its backends by ids that Backend
// returned. A key given twice is reported by Finish. key and p are copied.
func (b *Builder) AddPacked(key []byte, p actions.Packed, subs bool) {
	b.add(key, p, subs, 0, 0)
}

// add stores key and packed rule p, set at revision rev, with stat id
// stat.
func (b *Builder) add(key []byte, p []byte, subs bool, stat uint32, rev uint64) {
	k, host := splitKey(unsafe.String(unsafe.SliceData(key), len(key)))
	h := hashOf(bytesOf(host))
	r := &b.r.arena
	ref := r.putRule(rev, p)
	nameRef := r.putString(unsafe.String(unsafe.SliceData(key), len(key)))
	b.pending = append(b.pending, pendingKey{h, keyWord(nameRef, k, h), valWord(ref, stat, subs)})
}

// Finish builds the index of the keys added and reports the first key
// given twice, as a *DuplicateKeyError: the one whose second appearance
// comes first (Duplicates lists them all). The content then holds each
// key's first rule. Finish may be called more than once; keys added after
// it are not seen.
//
// The keys are first copied into shard order (a counting sort whose 1024
// output streams stay in cache), then each shard is filled from them in
// one go, so that a million keys cost a few sequential passes over memory
// rather than a million random accesses.
func (b *Builder) Finish() error {
	if b.finished {
		return b.err
	}
	b.finished = true
	if b.ordered != nil { // loaded with AddOrdered: the index is built
		return nil
	}
	starts := make([]int, numShards+1)
	for i := range b.pending {
		starts[b.pending[i].h>>shardShift+1]++
	}
	for si := 1; si <= numShards; si++ {
		starts[si] += starts[si-1]
	}
	sorted := make([]pendingKey, len(b.pending))
	next := append([]int(nil), starts[:numShards]...)
	for _, e := range b.pending {
		si := e.h >> shardShift
		sorted[next[si]] = e
		next[si]++
	}
	r := b.r
	var dups []uint64
	for si := range numShards {
		keys := sorted[starts[si]:starts[si+1]]
		if len(keys) == 0 {
			continue
		}
		sh := newShard(slotsFor(len(keys)))
		for i := range keys {
			e := &keys[i]
			if found, free := sh.locateWord(&r.arena, e.h, e.key); found < 0 {
				sh.put(free, e.key, e.val)
				r.counts[si].live++
			} else {
				dups = append(dups, e.key)
			}
		}
		r.shards[si].Store(sh)
		r.n.Add(int64(r.counts[si].live))
	}
	if len(dups) > 0 {
		// Arena references grow in the order keys were added.
		sort.Slice(dups, func(i, j int) bool { return refOf(dups[i]) < refOf(dups[j]) })
		b.dups = make([]int, len(dups))
		for i, w := range dups {
			b.dups[i] = sort.Search(len(b.pending), func(j int) bool { return refOf(b.pending[j].key) >= refOf(w) })
		}
		b.err = &DuplicateKeyError{Key: r.key(dups[0]), Index: b.dups[0]}
	}
	return b.err
}

// Duplicates returns, after Finish, the position among the keys added of
// every appearance of a key after its first (the first key added is 0), in
// ascending order; nil when no key was given twice. Those appearances are
// not in the content. The slice belongs to b.
func (b *Builder) Duplicates() []int { return b.dups }

// copyFrom adds the key of words (key, val) of old root rt, with its stat
// id and revision, interning its backends again.
func (b *Builder) copyFrom(rt *root, key, val uint64) {
	rev, p := rt.arena.rule(ruleOf(val))
	b.scratch = append(b.scratch[:0], p[:p.Len()]...)
	if p.Kind() == actions.Proxy {
		q := actions.Packed(b.scratch)
		for i := range p.Backends() {
			q.SetBackend(i, b.Backend(rt.backends.addr(&rt.arena, p.Backend(i))))
		}
	}
	b.add(rt.arena.str(refOf(key)), b.scratch, subsOf(val), statOf(val), rev)
}

// Replace makes the builder's content the table's, atomically: readers see
// the old content or the new, never a mix. Keys in both keep their stat
// ids, and so their counters; new keys get fresh ones; the ids of keys
// that are gone are released (see Reclaim). Replace finishes b if its
// owner has not (a key given twice then keeps its first rule). b must not
// be used afterwards.
func (t *Table) Replace(b *Builder) {
	b.Finish()
	t.mu.Lock()
	defer t.mu.Unlock()
	old, nr := t.root.Load(), b.r
	b.r, b.pending = nil, nil
	kept, empty := int64(0), old.n.Load() == 0
	nr.eachSlot(func(s *slot) {
		stat, ok := uint32(0), false
		if !empty {
			stat, ok = old.statOfKey(&nr.arena, s.key.Load())
		}
		if ok {
			kept++
		} else {
			stat = t.ids.take(t.counters)
		}
		s.val.Store(withStat(s.val.Load(), stat))
	})
	if kept < old.n.Load() {
		now := time.Now()
		old.each(func(w, v uint64) {
			if _, ok := nr.statOfKey(&old.arena, w); !ok {
				t.ids.release(statOf(v), now)
			}
		})
	}
	t.root.Store(nr)
}

// eachSlot calls fn for every slot of r holding a live key.
func (r *root) eachSlot(fn func(s *slot)) {
	for si := range r.shards {
		sh := r.shards[si].Load()
		if sh == nil {
			continue
		}
		for i := range sh.slots {
			if w := sh.slots[i].key.Load(); w != 0 && w != tomb {
				fn(&sh.slots[i])
			}
		}
	}
}

// statOfKey returns the stat id of the key that key word w names in arena
// a, if r holds that key.
func (r *root) statOfKey(a *arena, w uint64) (uint32, bool) {
	host := hostAt(a, w)
	h := hashOf(host)
	sh := r.shards[h>>shardShift].Load()
	if sh == nil {
		return 0, false
	}
	k := kindOf(w)
	e, _ := lookup(sh, &r.arena, h, host, k, k)
	return statOf(e.val), e.ok
}
