package hostmap

import (
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Sharding: a key goes to the shard named by the top shardBits of the
// xxhash of its hostname; the low bits pick its home slot in that shard,
// and 24 bits in between are kept in the slot as a tag, so that a probe
// compares hostnames only when the tags agree.
const (
	shardBits  = 10
	numShards  = 1 << shardBits
	shardShift = 64 - shardBits
	tagShift   = 30
	tagBits    = 24
)

// Shard geometry. A shard has a power-of-two number of slots, at least
// minSlots. Writers keep live keys plus tombstones at or below
// maxLoadNum/maxLoadDen of the slots, so every probe sequence ends at an
// empty slot; a rebuilt shard holds its live keys at or below
// targetLoadNum/targetLoadDen, which leaves room for a number of writes
// proportional to its size before the next rebuild (amortised O(1)).
const (
	minSlots      = 8
	maxLoadNum    = 3
	maxLoadDen    = 4
	targetLoadNum = 5
	targetLoadDen = 8
	shrinkDen     = 4 // shrink when live keys fall below slots/shrinkDen
)

// A slot's key word: 0 for an empty slot (the end of every probe sequence
// through it), tomb for a deleted key, else the arena reference of the key
// (never 0) in the low 32 bits, the kind's code in bits 32–33 and the tag
// in bits 40–63.
const (
	kindShift = 32
	tomb      = 1 << 34
	wordTag   = 40
)

// A slot's value word: the arena reference of the packed rule in the low
// 32 bits, the host's stat id in bits 32–62 and the subdomains flag in bit
// 63.
const (
	statShift = 32
	statMask  = 1<<31 - 1
	subsBit   = 1 << 63
	// MaxStatID bounds stat ids, and so the number of hosts a table can
	// have had at once (deleted ones are reused).
	MaxStatID = statMask
)

// slot is one cell of a shard. The writer stores val before key, so a
// reader that loads a live key word and then the value word sees that
// key's value (or a later one of the same key). Within one shard a slot
// goes from empty to a key and from a key to tomb, never back, and a key
// never moves, so a lookup never misses a key present throughout it; a
// grown or shrunk shard is a new shard, and the old one stays frozen with
// every key it held for readers still walking it.
type slot struct {
	key atomic.Uint64
	val atomic.Uint64
}

// shard is one open-addressing table with linear probing. Its geometry
// never changes; only the writer holding Table.mu stores into slots.
type shard struct {
	slots []slot
	mask  uint64
}

// shardCount tracks a shard's live keys and tombstones for its writer.
type shardCount struct {
	live, tombs int
}

func newShard(n int) *shard {
	return &shard{slots: make([]slot, n), mask: uint64(n - 1)}
}

// slotsFor returns the shard size for n live keys after a rebuild.
func slotsFor(n int) int {
	size := minSlots
	for n*targetLoadDen > size*targetLoadNum {
		size *= 2
	}
	return size
}

// full reports whether a shard of n slots with used live or deleted slots
// must be rebuilt before one more empty slot is taken.
func full(n, used int) bool {
	return (used+1)*maxLoadDen > n*maxLoadNum
}

// hashOf hashes a hostname (a key without its protocol prefix).
func hashOf(host []byte) uint64 { return xxhash.Sum64(host) }

// keyWord builds a slot's key word.
func keyWord(ref uint32, k kind, h uint64) uint64 {
	return uint64(ref) | uint64(k.code())<<kindShift | (h>>tagShift)&(1<<tagBits-1)<<wordTag
}

// tagMatches reports whether key word w has h's tag and kind k.
func tagMatches(w, h uint64, k kind) bool {
	return w>>wordTag == (h>>tagShift)&(1<<tagBits-1) && kind(w>>kindShift&3).fromCode() == k
}

// valWord builds a slot's value word.
func valWord(rule, stat uint32, subdomains bool) uint64 {
	v := uint64(rule) | uint64(stat)<<statShift
	if subdomains {
		v |= subsBit
	}
	return v
}

func ruleOf(v uint64) uint32 { return uint32(v) }
func statOf(v uint64) uint32 { return uint32(v>>statShift) & statMask }
func subsOf(v uint64) bool   { return v&subsBit != 0 }
func refOf(w uint64) uint32  { return uint32(w) }
func kindOf(w uint64) kind   { return kind(w >> kindShift & 3).fromCode() }
func withStat(v uint64, stat uint32) uint64 {
	return v&^(statMask<<statShift) | uint64(stat)<<statShift
}

// hostAt returns the hostname of the key stored at ref (the key without its
// protocol prefix).
func hostAt(a *arena, w uint64) []byte {
	return a.str(refOf(w))[kindOf(w):]
}

// entry is a key found by lookup: its key and value words.
type entry struct {
	key, val uint64
	ok       bool
}

// lookup probes sh for hostname host, which hashes to h, and returns its
// keys of kinds k1 and k2 (ok false where absent). It takes no lock and may
// run concurrently with the writer.
func lookup(sh *shard, a *arena, h uint64, host []byte, k1, k2 kind) (e1, e2 entry) {
	tag := (h >> tagShift) & (1<<tagBits - 1)
	for i := h & sh.mask; ; i = (i + 1) & sh.mask {
		s := &sh.slots[i]
		w := s.key.Load()
		if w == 0 {
			return e1, e2
		}
		if w == tomb || w>>wordTag != tag || string(hostAt(a, w)) != string(host) {
			continue
		}
		switch kindOf(w) {
		case k1:
			e1 = entry{w, s.val.Load(), true}
			if k1 == k2 {
				e2 = e1
			}
		case k2:
			e2 = entry{w, s.val.Load(), true}
		}
		if e1.ok && e2.ok {
			return e1, e2
		}
	}
}

// locate returns the slot holding the key (k, host), or -1, and the empty
// slot ending its probe sequence, where it would be inserted. Tombstones
// are never reused: a slot that held a key goes back to empty only when the
// shard is rebuilt. Only the writer calls it.
func (sh *shard) locate(a *arena, h uint64, k kind, host []byte) (found, free int) {
	for i := h & sh.mask; ; i = (i + 1) & sh.mask {
		w := sh.slots[i].key.Load()
		switch {
		case w == 0:
			return -1, int(i)
		case w != tomb && tagMatches(w, h, k) && string(hostAt(a, w)) == string(host):
			return int(i), -1
		}
	}
}

// locateWord is locate for a key already in the arena, named by its key
// word w: it reads hostnames from the arena only for a slot whose tag and
// kind are w's.
func (sh *shard) locateWord(a *arena, h, w uint64) (found, free int) {
	for i := h & sh.mask; ; i = (i + 1) & sh.mask {
		x := sh.slots[i].key.Load()
		switch {
		case x == 0:
			return -1, int(i)
		case x != tomb && x>>wordTag == w>>wordTag && kindOf(x) == kindOf(w) &&
			string(hostAt(a, x)) == string(hostAt(a, w)):
			return int(i), -1
		}
	}
}

// put stores a key into empty slot i: its value first, then its key word,
// as slot's comment requires.
func (sh *shard) put(i int, key, val uint64) {
	sh.slots[i].val.Store(val)
	sh.slots[i].key.Store(key)
}

// putNew stores a key whose hostname hashes to h into a shard that does
// not hold it and has a free slot, such as one being built.
func (sh *shard) putNew(h, key, val uint64) {
	i := h & sh.mask
	for sh.slots[i].key.Load() != 0 {
		i = (i + 1) & sh.mask
	}
	sh.put(int(i), key, val)
}

// rebuild returns a new unpublished shard of n slots holding sh's live
// keys, without tombstones.
func (sh *shard) rebuild(a *arena, n int) *shard {
	ns := newShard(n)
	for i := range sh.slots {
		s := &sh.slots[i]
		if w := s.key.Load(); w != 0 && w != tomb {
			ns.putNew(hashOf(hostAt(a, w)), w, s.val.Load())
		}
	}
	return ns
}
