package hostmap

import (
	"errors"
	"math/bits"

	"github.com/cespare/xxhash/v2"
	"github.com/mantrid/mantrid/actions"
)

// ErrNotFresh is returned by LoadBackends when the builder already holds
// backends or keys.
var ErrNotFresh = errors.New("hostmap: bulk load into a builder that is not empty")

// LoadBackends stores n backend addresses, addr(0) to addr(n-1), as ids 0
// to n-1 of a fresh builder — so that packed rules given to AddPacked may
// name them by those ids — and indexes them for interning in the order of
// their places in the index. Addresses are stored as given, without
// looking for repeats: a store gives the list it wrote from a table, whose
// addresses were distinct.
func (b *Builder) LoadBackends(n int, addr func(i int) []byte) error {
	bt, a := &b.r.backends, &b.r.arena
	if bt.n != 0 || len(b.pending) != 0 {
		return ErrNotFresh
	}
	hs := make([]uint32, n)
	for i := range n {
		s := addr(i)
		bt.setRef(uint32(i), a.putString(view(s)))
		hs[i] = uint32(xxhash.Sum64(s))
	}
	bt.n = uint32(n)
	bt.reserve(0)
	mask := uint64(len(bt.index) - 1)
	order, _ := bucketOrder(n, bits.Len64(mask), func(i int) uint64 { return uint64(hs[i]) & mask })
	for _, i := range order {
		h := uint64(hs[i])
		j := h & mask
		for bt.index[j] != 0 {
			j = (j + 1) & mask
		}
		bt.index[j] = h<<32 | uint64(i+1)
	}
	return nil
}

// ErrNotOrdered is returned by AddOrdered for a key of a shard before the
// one being filled.
var ErrNotOrdered = errors.New("hostmap: keys out of shard order")

// StartOrdered readies a fresh builder for AddOrdered: sizes gives how many
// keys each shard will get (a Cut's ShardSizes, as a store wrote them), so
// that every shard is made at its final size.
func (b *Builder) StartOrdered(sizes []int) error {
	if len(b.pending) != 0 || b.r.n.Load() != 0 || len(sizes) != numShards {
		return ErrNotFresh
	}
	b.ordered, b.shard = sizes, -1
	return nil
}

// AddOrdered adds packed rule p under key, as AddPacked does, set at
// revision rev (0: the content's, see SetRev), for keys
// that come shard after shard as StartOrdered announced: each goes
// straight into its shard, which is filled while it is in cache, and
// nothing else is kept per key. A key of an earlier shard gives
// ErrNotOrdered, one given twice a *DuplicateKeyError; the builder must
// then be dropped. Finish ends the load.
func (b *Builder) AddOrdered(key []byte, p actions.Packed, subs bool, rev uint64) error {
	r := b.r
	k, host := splitKey(view(key))
	hb := bytesOf(host)
	h := hashOf(hb)
	si := int(h >> shardShift)
	if si < b.shard || b.ordered == nil {
		return ErrNotOrdered
	}
	if si > b.shard {
		b.shard = si
		r.shards[si].Store(newShard(slotsFor(b.ordered[si])))
	}
	sh := r.shards[si].Load()
	found, free := sh.locate(&r.arena, h, k, hb)
	if found >= 0 {
		return &DuplicateKeyError{Key: string(key), Index: int(r.n.Load())}
	}
	c := &r.counts[si]
	if full(len(sh.slots), c.live) {
		return ErrNotOrdered // more keys than announced
	}
	ref := r.arena.putRule(rev, p)
	sh.put(free, keyWord(r.arena.putString(view(key)), k, h), valWord(ref, 0, subs))
	c.live++
	r.n.Add(1)
	return nil
}

// bucketOrder returns 0..n-1 ordered by bucket(i), a number below 2^width,
// keeping the order within a bucket: a counting sort on the bucket's top 12
// bits, which is all the locality needs. starts[c] is where the indexes of
// those top bits c begin (starts[c+1] where they end). bucket is called
// once per index.
func bucketOrder(n, width int, bucket func(i int) uint64) (order []int32, starts []int32) {
	shift := max(width-12, 0)
	tops := make([]uint16, n)
	count := make([]int32, 1<<12+1)
	for i := range n {
		tops[i] = uint16(bucket(i) >> shift)
		count[tops[i]+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	starts = append([]int32(nil), count...)
	order = make([]int32, n)
	for i, c := range tops {
		order[count[c]] = int32(i)
		count[c]++
	}
	return order, starts
}
