package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// The snapshot file: a header, the backend addresses the rules name by
// index, the hosts, and a trailer.
//
//	"MANTRIDS" u32 version u32 0 u64 revision u32 backends u32 hosts
//	backends × (u16 length, address)
//	hosts × (u16 length, key, u8 flags, packed rule)
//	"MANTRIDE" u32 CRC-32C of everything before it
//
// Integers are little-endian; flags bit 0 is the subdomains flag; packed
// rules are actions.Packed, their backend ids indexes into the list above.
const (
	snapName    = "rules.snap"
	snapMagic   = "MANTRIDS"
	snapEnd     = "MANTRIDE"
	snapVersion = 1
	flagSubs    = 1
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
}

// encodeSnapshot writes c at revision rev.
func encodeSnapshot(out io.Writer, c content, rev uint64) error {
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
	for i := range c.Len() {
		h := c.Hit(i)
		w.str(c.Key(i))
		flags := uint8(0)
		if h.Subdomains {
			flags = flagSubs
		}
		w.u8(flags)
		w.bytes(h.Rule)
	}
	return w.trailer(snapEnd)
}

// decodeSnapshot reads a snapshot into b and returns its revision. It
// checks everything: the header, each address and key, each packed rule
// (actions.CheckPacked), duplicate keys and the checksum; any problem is
// an error wrapping errDamaged, and b must then be dropped.
func decodeSnapshot(in io.Reader, b *hostmap.Builder) (uint64, error) {
	r := newReader(in)
	if m := r.bytes(len(snapMagic)); r.err == nil && string(m) != snapMagic {
		return 0, damaged("not a Mantrid rules snapshot")
	}
	version, _, rev := r.u32(), r.u32(), r.u64()
	nb, nh := r.u32(), r.u32()
	switch {
	case r.err != nil:
		return 0, r.err
	case version != snapVersion:
		return 0, fmt.Errorf("snapshot version %d: this Mantrid reads version %d", version, snapVersion)
	case nb > maxCount || nh > maxCount:
		return 0, damaged("header announces %d backends and %d hosts", nb, nh)
	}
	addrs := make([]byte, 0, 16*int(nb)) // "10.0.0.1:8000" and the like
	ends := make([]int, nb)
	for i := range ends {
		addr := r.str()
		if r.err != nil {
			return 0, r.err
		}
		if !actions.CheckBackendAddr(view(addr)) {
			return 0, damaged("backend %d is not a host:port address", i)
		}
		addrs = append(addrs, addr...)
		ends[i] = len(addrs)
	}
	ids := b.Backends(int(nb), func(i int) string {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return view(addrs[start:ends[i]])
	})
	var key, rule []byte
	for i := range nh {
		key = append(key[:0], r.str()...)
		if r.err == nil && !canonicalKey(key) {
			return 0, damaged("host %d: key is not a normalised rule key", i)
		}
		flags := r.u8()
		p, err := readPacked(r, ids, rule[:0])
		if err != nil {
			return 0, fmt.Errorf("host %d: %w", i, err)
		}
		rule = p
		if flags&^flagSubs != 0 {
			return 0, damaged("host %d: unknown flags %#x", i, flags)
		}
		b.AddPacked(key, p, flags&flagSubs != 0)
	}
	if err := r.trailer(snapEnd); err != nil {
		return 0, err
	}
	if err := b.Finish(); err != nil {
		return 0, damaged("%v", err)
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

// readPacked reads one packed rule whose backend ids index ids into dst,
// checks it, and returns it with its ids mapped through ids.
func readPacked(r *reader, ids []uint32, dst []byte) (actions.Packed, error) {
	head := r.bytes(8)
	if r.err != nil {
		return nil, r.err
	}
	n := actions.Packed(head).Len()
	if n > 1<<16 {
		return nil, damaged("packed rule of %d bytes", n)
	}
	dst = append(dst, head...)
	rest := r.bytes(n - 8)
	if r.err != nil {
		return nil, r.err
	}
	p := actions.Packed(append(dst, rest...))
	if _, err := actions.CheckPacked(p, uint32(len(ids))); err != nil {
		return nil, damaged("%v", err)
	}
	if p.Kind() == actions.Proxy {
		for i := range p.Backends() {
			p.SetBackend(i, ids[p.Backend(i)])
		}
	}
	return p, nil
}

// canonicalKey reports whether key is a rule key in the form NormalizeKey
// returns.
func canonicalKey(key []byte) bool {
	k, err := hostmap.NormalizeKey(view(key))
	return err == nil && k == view(key)
}

// readSnapshotFile loads the snapshot at path into b. A missing file gives
// an error satisfying errors.Is(err, os.ErrNotExist).
func readSnapshotFile(path string, b *hostmap.Builder) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rev, err := decodeSnapshot(f, b)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return rev, err
}
