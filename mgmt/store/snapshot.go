package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// The snapshot file: a header, the backend addresses the rules name by
// index, how many hosts each of the table's 1024 shards holds, the hosts
// shard after shard, and a trailer.
//
//	"MANTRIDS" u32 version u32 0 u64 revision u32 backends u32 hosts
//	backends × (u16 length, address)
//	1024 × u32 hosts of the shard
//	hosts × (u16 length, key, u8 flags, u64 revision, packed rule)
//	"MANTRIDE" u32 CRC-32C of everything before it
//
// Integers are little-endian; flags bit 0 is the subdomains flag; a host's
// revision is the one its rule was last set at (hostmap.Hit.Rev); packed
// rules are actions.Packed, their backend ids indexes into the list above.
// Version 1, which Mantrid still reads, has no revision per host: its
// rules get the snapshot's.
// Written in the table's shard order, a million hosts load straight into
// their shards (hostmap.Builder.AddOrdered).
const (
	snapName    = "rules.snap"
	snapMagic   = "MANTRIDS"
	snapEnd     = "MANTRIDE"
	snapVersion = 2
	// snapVersionNoRevs is the version without a revision per host.
	snapVersionNoRevs = 1
	flagSubs          = 1
	// shards is the number of hostmap's shards, as the snapshot lists them.
	shards = 1024
	// revSize is the size of a host's revision in a version 2 snapshot.
	revSize = 8
	// maxCount bounds the counts a header may announce, so that a damaged
	// header cannot make the loader allocate without bound.
	maxCount = 1 << 28
)

// content is what a snapshot holds: a cut of a table or of a builder.
type content interface {
	Len() int
	Key(i int) string
	Hit(i int) hostmap.Hit
	Backends() uint32
	BackendAddr(id uint32) string
	ShardSizes() []int
}

// encodeSnapshot writes c at revision rev, pacing itself with p.
func encodeSnapshot(out io.Writer, c content, rev uint64, p *Pacer) error {
	w := newWriter(out)
	w.bytes([]byte(snapMagic))
	w.u32(snapVersion)
	w.u32(0)
	w.u64(rev)
	w.u32(c.Backends())
	w.u32(uint32(c.Len()))
	for id := range c.Backends() {
		w.str(c.BackendAddr(id))
	}
	for _, n := range c.ShardSizes() {
		w.u32(uint32(n))
	}
	for i := range c.Len() {
		p.Pace()
		h := c.Hit(i)
		w.str(c.Key(i))
		flags := uint8(0)
		if h.Subdomains {
			flags = flagSubs
		}
		w.u8(flags)
		w.u64(h.Rev)
		w.bytes(h.Rule)
	}
	return w.trailer(snapEnd)
}

// decodeSnapshot reads a snapshot, data, into b, a fresh builder, and
// returns its revision, which b's rules without one of their own get
// (all of them in a version 1 snapshot; 1 for a snapshot at revision 0);
// b is finished. It checks everything: the checksum,
// the header, each address and key, each packed rule
// (actions.CheckPacked) and duplicate keys; any problem is an error
// wrapping errDamaged, and b must then be dropped. It never panics,
// whatever data holds. Nothing b keeps aliases data.
//
// A restart waits for it, so it works on two cores: while it loads the
// structure into b, checking what b relies on (lengths, packed rules,
// shard order), a second goroutine computes the checksum and checks the
// addresses and keys (checkText). When both fail, the checksum's error is
// the one reported: a file that is damaged says so.
func decodeSnapshot(data []byte, b *hostmap.Builder) (uint64, error) {
	const head = len(snapMagic) + 4 + 4 + 8 + 4 + 4
	tail := len(snapEnd) + 4
	switch {
	case len(data) < head+tail || string(data[:len(snapMagic)]) != snapMagic:
		return 0, damaged("not a Mantrid rules snapshot")
	case string(data[len(data)-tail:len(data)-4]) != snapEnd:
		return 0, damaged("no end mark (truncated?)")
	}
	le := binary.LittleEndian
	version, rev := le.Uint32(data[8:]), le.Uint64(data[16:])
	nb, nh := le.Uint32(data[24:]), le.Uint32(data[28:])
	revs := revSize
	switch version {
	case snapVersion:
	case snapVersionNoRevs:
		revs = 0
	default:
		if crc32.Checksum(data[:len(data)-4], castagnoli) != le.Uint32(data[len(data)-4:]) {
			return 0, damaged("checksum mismatch")
		}
		return 0, fmt.Errorf("snapshot version %d: this Mantrid reads versions %d and %d", version, snapVersionNoRevs, snapVersion)
	}
	// A store seeded before revisions were kept per rule has its seed at
	// revision 0; its rules get 1, since no rule's revision (its ETag) is 0.
	b.SetRev(max(rev, 1))
	body := data[head : len(data)-tail]
	var failed atomic.Bool
	checked := make(chan error, 1)
	go func() {
		err := checkText(data, body, int(nb), int(nh), revs)
		if err != nil {
			failed.Store(true)
		}
		checked <- err
	}()
	err := loadStructure(body, nb, nh, revs, b, &failed)
	if cerr := <-checked; cerr != nil {
		return 0, cerr
	}
	if err != nil {
		return 0, err
	}
	return rev, nil
}

// loadStructure loads body, whose host records hold revs bytes of
// revision, into b, checking the counts, the lengths, the flags and the
// packed rules; it gives up early once failed is set.
func loadStructure(body []byte, nb, nh uint32, revs int, b *hostmap.Builder, failed *atomic.Bool) error {
	if nb > maxCount || nh > maxCount {
		return damaged("header announces %d backends and %d hosts", nb, nh)
	}
	at, err := loadBackends(body, int(nb), b)
	if err != nil {
		return err
	}
	sizes, at, err := shardSizes(body, at, int(nh))
	if err != nil {
		return err
	}
	if err := b.StartOrdered(sizes); err != nil {
		return err
	}
	if err := addHosts(body, at, int(nb), int(nh), revs, b, failed); err != nil {
		return err
	}
	if err := b.Finish(); err != nil {
		return damaged("%v", err)
	}
	return nil
}

// checkText computes data's checksum and then checks the text in body:
// each of the nb backend addresses (actions.CheckBackendAddr) and each of
// the nh host keys (a normalised rule key), whose records hold revs bytes
// of revision. It leaves lengths and counts that do not add up to
// loadStructure, which reports them.
func checkText(data, body []byte, nb, nh, revs int) error {
	if crc32.Checksum(data[:len(data)-4], castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return damaged("checksum mismatch")
	}
	at := 0
	for i := range nb {
		addr, _, ok := cutStr(body[at:])
		if !ok {
			return nil
		}
		if !actions.CheckBackendAddr(view(addr)) {
			return damaged("backend %d is not a host:port address", i)
		}
		at += 2 + len(addr)
	}
	at += 4 * shards
	for i := range nh {
		if at > len(body) {
			return nil
		}
		key, rest, ok := cutStr(body[at:])
		if !ok || len(rest) < 1+revs {
			return nil
		}
		if !canonicalKey(key) {
			return damaged("host %d: key is not a normalised rule key", i)
		}
		n, err := actions.CheckPacked(rest[1+revs:], uint32(nb))
		if err != nil {
			return nil
		}
		at += 2 + len(key) + 1 + revs + n
	}
	return nil
}

// loadBackends loads the n backend addresses at the start of body into b;
// it returns where the hosts start. checkText checks the addresses.
func loadBackends(body []byte, n int, b *hostmap.Builder) (int, error) {
	at := 0
	for i := range n {
		addr, _, ok := cutStr(body[at:])
		if !ok {
			return 0, damaged("backend %d: truncated", i)
		}
		at += 2 + len(addr)
	}
	next := 0
	err := b.LoadBackends(n, func(int) []byte {
		addr, _, _ := cutStr(body[next:])
		next += 2 + len(addr)
		return addr
	})
	return at, err
}

// shardSizes reads the hosts per shard at body[at:], which must add up to
// nh, and returns them with where the hosts start.
func shardSizes(body []byte, at, nh int) ([]int, int, error) {
	if len(body)-at < 4*shards {
		return nil, 0, damaged("truncated shard sizes")
	}
	sizes, sum := make([]int, shards), 0
	limit := max(64, 16*nh/shards) // hashing spreads keys evenly: far above any real shard
	for i := range sizes {
		sizes[i] = int(binary.LittleEndian.Uint32(body[at+4*i:]))
		if sizes[i] > limit {
			return nil, 0, damaged("shard %d holds %d of %d hosts", i, sizes[i], nh)
		}
		sum += sizes[i]
	}
	if sum != nh {
		return nil, 0, damaged("the shards hold %d hosts, the header says %d", sum, nh)
	}
	return sizes, at + 4*shards, nil
}

// addHosts checks the structure of the nh host records of body that start
// at at, with revs bytes of revision, their rules naming backends below
// nb, and adds them to b; it stops early once failed is set. checkText
// checks the keys.
func addHosts(body []byte, at, nb, nh, revs int, b *hostmap.Builder, failed *atomic.Bool) error {
	for i := range nh {
		if i&4095 == 0 && failed.Load() {
			return errGaveUp
		}
		key, rest, ok := cutStr(body[at:])
		switch {
		case !ok || len(rest) < 1+revs:
			return damaged("host %d: truncated", i)
		case len(key) == 0:
			return damaged("host %d: key is not a normalised rule key", i)
		case rest[0]&^flagSubs != 0:
			return damaged("host %d: unknown flags %#x", i, rest[0])
		}
		var rev uint64
		if revs > 0 {
			rev = binary.LittleEndian.Uint64(rest[1:])
		}
		p := rest[1+revs:]
		n, err := actions.CheckPacked(p, uint32(nb))
		if err != nil {
			return damaged("host %d: %v", i, err)
		}
		if err := b.AddOrdered(key, p[:n], rest[0]&flagSubs != 0, rev); err != nil {
			return damaged("host %d: %v", i, err)
		}
		at += 2 + len(key) + 1 + revs + n
	}
	if at != len(body) {
		return damaged("%d bytes after the last host", len(body)-at)
	}
	return nil
}

// errGaveUp ends a load whose text check failed; that check's error is
// the one reported.
var errGaveUp = errors.New("store: load given up")

// canonicalKey reports whether key is a rule key in the form NormalizeKey
// returns.
func canonicalKey(key []byte) bool {
	k, err := hostmap.NormalizeKey(view(key))
	return err == nil && k == view(key)
}

// readSnapshotFile loads the snapshot at path into b, a fresh builder. It
// maps the file instead of reading it: its pages are most likely in the
// page cache already, and copying 70 MB into new memory would cost more
// than decoding it. A missing file gives an error satisfying
// errors.Is(err, os.ErrNotExist).
func readSnapshotFile(path string, b *hostmap.Builder) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if fi.Size() == 0 || fi.Size() > math.MaxInt32 {
		return 0, fmt.Errorf("%s: %w", path, damaged("file of %d bytes", fi.Size()))
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	defer syscall.Munmap(data)
	rev, err := decodeSnapshot(data, b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return rev, nil
}

// view returns b as a string without copying, for calls that do not keep
// it.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
