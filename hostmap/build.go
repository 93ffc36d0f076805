package hostmap

import (
	"time"
	"unsafe"

	"github.com/mantrid/mantrid/actions"
)

// Builder builds a whole new content for a table off to the side, for
// Replace: the rules of a bulk PUT, or a store's file at start. Its keys
// are not visible to readers of the table until Replace. A Builder is used
// by one goroutine at a time, and only once.
type Builder struct {
	t       *Table
	r       *root
	scratch []byte
	order   []cutEntry // the keys in the order added, for Cut
}

// NewBuilder returns an empty Builder for t; sizeHint, the number of keys
// expected, sizes its index up front.
func (t *Table) NewBuilder(sizeHint int) *Builder { return t.newBuilder(sizeHint) }

func (t *Table) newBuilder(sizeHint int) *Builder {
	r := &root{}
	// Shards of a large content are sized up front, with room for the
	// usual spread of keys between shards; small ones grow as keys come.
	if avg := sizeHint / numShards; avg >= 64 {
		per := slotsFor(avg + avg/8)
		for si := range r.shards {
			r.shards[si].Store(newShard(per))
		}
	}
	return &Builder{t: t, r: r, order: make([]cutEntry, 0, sizeHint)}
}

// Len returns the number of keys added.
func (b *Builder) Len() int { return int(b.r.n.Load()) }

// Add adds rule r under key, which must already be normalised
// (NormalizeKey). A key added before gives ErrDuplicateKey.
func (b *Builder) Add(key string, r *actions.Rule) error {
	b.scratch = actions.AppendPacked(b.scratch[:0], r, b.Backend)
	return b.add(bytesOf(key), b.scratch, r.Subdomains, 0)
}

// Backend interns a backend's dial address in the content being built and
// returns its id, for the rules given to AddPacked.
func (b *Builder) Backend(addr string) uint32 { return b.r.backends.intern(&b.r.arena, addr) }

// AddPacked adds packed rule p under key, which must already be normalised
// (NormalizeKey), with the subdomains flag subs. p must be valid
// (actions.CheckPacked) and name its backends by ids that Backend
// returned. A key added before gives ErrDuplicateKey. key and p are copied.
func (b *Builder) AddPacked(key []byte, p actions.Packed, subs bool) error {
	return b.add(key, p, subs, 0)
}

// add stores key and packed rule p with stat id stat.
func (b *Builder) add(key []byte, p []byte, subs bool, stat uint32) error {
	k, host := splitKey(unsafe.String(unsafe.SliceData(key), len(key)))
	hb := bytesOf(host)
	h := hashOf(hb)
	r := b.r
	si := h >> shardShift
	sh := r.shard(si)
	found, free := sh.locate(&r.arena, h, k, hb)
	if found >= 0 {
		return ErrDuplicateKey
	}
	ref, dst := r.arena.alloc(len(p))
	copy(dst, p)
	nameRef := r.arena.putString(unsafe.String(unsafe.SliceData(key), len(key)))
	kw, vw := keyWord(nameRef, k, h), valWord(ref, stat, subs)
	r.insert(si, sh, free, h, kw, vw)
	b.order = append(b.order, cutEntry{kw, vw})
	return nil
}

// copyFrom adds the key of words (key, val) of old root rt, with its stat
// id, interning its backends again.
func (b *Builder) copyFrom(rt *root, key, val uint64) {
	p := actions.Packed(rt.arena.at(ruleOf(val)))
	b.scratch = append(b.scratch[:0], p[:p.Len()]...)
	if p.Kind() == actions.Proxy {
		q := actions.Packed(b.scratch)
		for i := range p.Backends() {
			q.SetBackend(i, b.Backend(rt.backends.addr(&rt.arena, p.Backend(i))))
		}
	}
	b.add(rt.arena.str(refOf(key)), b.scratch, subsOf(val), statOf(val))
}

// Replace makes the builder's content the table's, atomically: readers see
// the old content or the new, never a mix. Keys in both keep their stat
// ids, and so their counters; new keys get fresh ones; the ids of keys
// that are gone are released (see Reclaim). b must not be used afterwards.
func (t *Table) Replace(b *Builder) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, nr := t.root.Load(), b.r
	b.r, b.order = nil, nil
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
