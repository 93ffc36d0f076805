package hostmap

import "github.com/cespare/xxhash/v2"

// Replace swaps in a whole new content atomically: readers see either the
// old or the new set, never a mix. It builds the new tables off to the side,
// without holding the writer mutex, and publishes them with one atomic
// store; a Set or Delete that completes before that store is overwritten
// with the rest of the old content. Keys must already be normalised; when a
// key repeats, its last entry wins. Entries are copied, so entries may be
// reused after Replace returns; the key strings are kept.
func (m *Map[V]) Replace(entries []Entry[V]) {
	r := buildRoot(entries)
	m.mu.Lock()
	m.root.Store(r)
	m.mu.Unlock()
}

// buildRoot builds an unpublished root holding entries. Entries are sorted
// by shard first (a counting sort), then each shard's table is built from
// one contiguous slab of entries, which keeps the build cache-friendly and
// makes one allocation per shard instead of one per key.
func buildRoot[V any](entries []Entry[V]) *root[V] {
	var count, next [numShards]int
	for i := range entries {
		_, host := splitKey(entries[i].Key)
		count[xxhash.Sum64String(host)>>shardShift]++
	}
	slabs := make([][]entry[V], numShards)
	for si := range slabs {
		if count[si] > 0 {
			slabs[si] = make([]entry[V], count[si])
		}
	}
	hashes := make([]uint64, len(entries))
	base := 0
	for si := range next {
		next[si] = base
		base += count[si]
	}
	starts := next
	for i := range entries {
		in := &entries[i]
		k, host := splitKey(in.Key)
		h := xxhash.Sum64String(host)
		si := h >> shardShift
		slabs[si][next[si]-starts[si]] = entry[V]{key: in.Key, value: in.Value, kind: k, subdomains: in.Subdomains}
		hashes[next[si]] = h
		next[si]++
	}
	r := &root[V]{}
	total := 0
	for si, slab := range slabs {
		if len(slab) > 0 {
			total += r.buildShard(si, slab, hashes[starts[si]:next[si]])
		}
	}
	r.n.Store(int64(total))
	return r
}

// buildShard fills shard si of an unpublished root from slab, whose
// entries' hostnames hash to hashes, and returns its number of keys.
func (r *root[V]) buildShard(si int, slab []entry[V], hashes []uint64) int {
	t := newTable[V](slotsFor(len(slab)))
	live := 0
	for i := range slab {
		e := &slab[i]
		found, free := t.locate(hashes[i], e.kind, e.host())
		if found >= 0 {
			t.slots[found].e.Store(e)
			continue
		}
		t.put(free, hashes[i], e)
		live++
	}
	r.shards[si].Store(t)
	r.counts[si] = shardCount{live: live}
	return live
}
