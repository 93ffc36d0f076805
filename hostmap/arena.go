package hostmap

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/mantrid/mantrid/actions"
)

// Arena geometry. A reference to arena bytes is one uint32: the chunk index
// in its top arenaIndexBits bits and the offset in the chunk below. Chunks
// start small, so a table of ten rules does not cost a megabyte, and double
// up to maxChunk.
const (
	arenaOffsetBits = 20
	maxChunk        = 1 << arenaOffsetBits // 1 MiB
	arenaIndexBits  = 32 - arenaOffsetBits // 4096 chunks: 4 GiB
	firstChunk      = 4 << 10
	// maxItem bounds one item; a packed proxy rule with the most backends
	// is 16 + 4·1024 bytes.
	maxItem = 8 << 10
)

// arena is append-only memory for one table generation: rule keys and
// packed rules. Nothing in it is ever overwritten, so a reader holding a
// slice of it sees the same bytes for as long as it holds the slice, and
// the garbage collector keeps a chunk alive while anything points into it.
// Chunks hold no pointers, so the collector never scans them. Only the
// writer appends; readers find chunks through dir, which the writer
// replaces (never changes) when it adds one.
type arena struct {
	dir  atomic.Pointer[[][]byte]
	used int   // bytes used in the last chunk; writer only
	size int64 // bytes handed out in all; writer only
}

// alloc returns a reference to n fresh bytes and the bytes to fill before
// the reference is published. n must be at most maxItem. Reference 0 is
// never handed out, so it can mean "none".
func (a *arena) alloc(n int) (uint32, []byte) {
	dir := a.dir.Load()
	if dir == nil || a.used+n > cap((*dir)[len(*dir)-1]) {
		dir = a.grow(dir, n)
	}
	ci := len(*dir) - 1
	off := a.used
	a.used += n
	a.size += int64(n)
	return uint32(ci)<<arenaOffsetBits | uint32(off), (*dir)[ci][off : off+n : off+n]
}

// grow adds a chunk with room for n bytes and publishes the new directory.
func (a *arena) grow(dir *[][]byte, n int) *[][]byte {
	size := firstChunk
	var chunks [][]byte
	if dir != nil {
		chunks = *dir
		size = min(2*cap(chunks[len(chunks)-1]), maxChunk)
	}
	if len(chunks) == 1<<arenaIndexBits {
		panic("hostmap: arena full (4 GiB of rule keys and rules)")
	}
	next := make([][]byte, len(chunks)+1)
	copy(next, chunks)
	next[len(chunks)] = make([]byte, max(size, n))
	a.used = 0
	if len(chunks) == 0 {
		a.used = 8 // reference 0 stays unused
	}
	a.dir.Store(&next)
	return &next
}

// at returns the arena from reference ref to the end of its chunk.
func (a *arena) at(ref uint32) []byte {
	return (*a.dir.Load())[ref>>arenaOffsetBits][ref&(maxChunk-1):]
}

// putString stores s with a two-byte length in front and returns its
// reference.
func (a *arena) putString(s string) uint32 {
	ref, b := a.alloc(2 + len(s))
	binary.LittleEndian.PutUint16(b, uint16(len(s)))
	copy(b[2:], s)
	return ref
}

// str returns the string stored at ref by putString. It shares the arena's
// memory, which never changes.
func (a *arena) str(ref uint32) []byte {
	b := a.at(ref)
	n := int(binary.LittleEndian.Uint16(b))
	return b[2 : 2+n : 2+n]
}

// revSize is the size of the revision in front of each packed rule.
const revSize = 8

// putRule stores a rule record — revision rev, then packed rule p — and
// returns its reference. A record is what a slot's value word names: the
// revision costs 8 bytes a rule and no pointer.
func (a *arena) putRule(rev uint64, p []byte) uint32 {
	ref, b := a.alloc(revSize + len(p))
	binary.LittleEndian.PutUint64(b, rev)
	copy(b[revSize:], p)
	return ref
}

// rule returns the revision and the packed rule (to the end of its chunk;
// Packed.Len gives its length) of the record at ref.
func (a *arena) rule(ref uint32) (uint64, actions.Packed) {
	b := a.at(ref)
	return binary.LittleEndian.Uint64(b), actions.Packed(b[revSize:])
}
