package hostmap

import (
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// refChunk is how many ids one chunk of a backendTable's reference array
// holds.
const refChunk = 4096

// backendTable interns the backends' dial addresses of one table
// generation: a hosting platform points many hosts at the same few
// backends, so each distinct address is stored once in the arena and
// packed rules name it by id. Ids are handed out in order from 0 and never
// change or go away within a generation; a rebuilt table interns again.
//
// The writer (holding Table.mu, or a Builder's owner) interns; readers
// resolve ids of rules they found through a slot, which the writer
// published after interning their addresses.
type backendTable struct {
	dir atomic.Pointer[[]*[refChunk]uint32] // id → arena reference
	n   uint32                              // ids handed out; writer only
	// index is open addressing by the address's hash: each entry holds the
	// hash's low 32 bits above id+1 (0: empty), so that a probe reads the
	// arena only when the hashes agree, and growing needs no rehash of the
	// addresses. Writer only.
	index []uint64
}

// intern returns the id of addr, storing it in a first.
func (b *backendTable) intern(a *arena, addr string) uint32 {
	b.reserve(1)
	return b.internHashed(a, addr, uint64(uint32(xxhash.Sum64String(addr))))
}

// reserve grows the index to take n more addresses.
func (b *backendTable) reserve(n int) {
	for 10*(int(b.n)+n) > 7*len(b.index) {
		b.growIndex(nil)
	}
}

// internHashed interns addr, whose hash's low 32 bits are h, in an index
// with room for it.
func (b *backendTable) internHashed(a *arena, addr string, h uint64) uint32 {
	mask := uint64(len(b.index) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := b.index[i]
		if e == 0 {
			id := b.n
			b.setRef(id, a.putString(addr))
			b.n++
			b.index[i] = h<<32 | uint64(id+1)
			return id
		}
		if e>>32 == h && string(a.str(b.ref(uint32(e)-1))) == addr {
			return uint32(e) - 1
		}
	}
}

// growIndex doubles the interning index, which stays at most 70 % full
// (and at most 2^32 entries, so that the stored hash bits place them).
func (b *backendTable) growIndex(_ *arena) {
	next := make([]uint64, max(2*len(b.index), 64))
	mask := uint64(len(next) - 1)
	for _, e := range b.index {
		if e == 0 {
			continue
		}
		i := (e >> 32) & mask
		for next[i] != 0 {
			i = (i + 1) & mask
		}
		next[i] = e
	}
	b.index = next
}

// setRef records id's arena reference, adding a chunk when needed.
func (b *backendTable) setRef(id, ref uint32) {
	dir := b.dir.Load()
	ci := int(id / refChunk)
	if dir == nil || ci >= len(*dir) {
		var old []*[refChunk]uint32
		if dir != nil {
			old = *dir
		}
		next := append(make([]*[refChunk]uint32, 0, len(old)+1), old...)
		next = append(next, new([refChunk]uint32))
		b.dir.Store(&next)
		dir = &next
	}
	(*dir)[ci][id%refChunk] = ref
}

// ref returns id's arena reference.
func (b *backendTable) ref(id uint32) uint32 {
	return (*b.dir.Load())[id/refChunk][id%refChunk]
}

// addr returns the dial address of id. The string shares the arena's
// memory, which never changes.
func (b *backendTable) addr(a *arena, id uint32) string {
	s := a.str(b.ref(id))
	return unsafe.String(unsafe.SliceData(s), len(s))
}
