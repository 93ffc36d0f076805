package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mantrid/mantrid/actions"
)

// A journal file holds records, each
//
//	u32 length of the payload, u32 CRC-32C of the payload, payload
//
// with the payload
//
//	u64 revision, u8 op, u16 length, key,
//	set only: u8 flags, packed rule, u16 backends × (u16 length, address)
//
// The packed rule of a record names its backends by their index in the
// record's own list. A journal file is named after the revision its first
// record follows: journal.%016x.
const (
	journalPrefix = "journal."
	opSet         = 1
	opDelete      = 2
	recordHead    = 8
	// maxRecord bounds a record's payload: a key, and a rule of
	// actions.MaxBackends backends of the longest addresses.
	maxRecord = 1 << 20
)

// record is one decoded journal record.
type record struct {
	rev  uint64
	op   uint8
	key  string
	subs bool
	rule actions.Packed
	// addrs are the dial addresses the rule's backend ids index.
	addrs []string
}

// appendRecord appends the record of a change to dst: a set when r is not
// nil, else a delete.
func appendRecord(dst []byte, rev uint64, key string, r *actions.Rule) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, recordHead)...)
	dst = binary.LittleEndian.AppendUint64(dst, rev)
	op := uint8(opDelete)
	if r != nil {
		op = opSet
	}
	dst = append(dst, op)
	dst = appendStr(dst, key)
	if r != nil {
		flags := uint8(0)
		if r.Subdomains {
			flags = flagSubs
		}
		dst = append(dst, flags)
		var addrs []string
		dst = actions.AppendPacked(dst, r, func(addr string) uint32 {
			if i := slices.Index(addrs, addr); i >= 0 {
				return uint32(i)
			}
			addrs = append(addrs, strings.Clone(addr))
			return uint32(len(addrs) - 1)
		})
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(addrs)))
		for _, a := range addrs {
			dst = appendStr(dst, a)
		}
	}
	payload := dst[start+recordHead:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// scanJournal decodes the records of a journal file's data in order and
// calls fn for each. It returns how many bytes hold whole, intact records:
// less than len(data) when the file ends in a torn record (a crash during
// an append that was never acknowledged) or in damage it cannot tell from
// one. An error from fn stops the scan and is returned.
func scanJournal(data []byte, fn func(*record) error) (int, error) {
	off := 0
	var rec record
	for len(data)-off >= recordHead {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > maxRecord || len(data)-off-recordHead < n {
			return off, nil
		}
		payload := data[off+recordHead : off+recordHead+n]
		if crc32.Checksum(payload, castagnoli) != sum || !decodeRecord(payload, &rec) {
			return off, nil
		}
		if err := fn(&rec); err != nil {
			return off, err
		}
		off += recordHead + n
	}
	return off, nil
}

// decodeRecord decodes and checks one payload into rec, reusing its
// memory; the strings are copies.
func decodeRecord(p []byte, rec *record) bool {
	if len(p) < 11 {
		return false
	}
	rec.rev, rec.op = binary.LittleEndian.Uint64(p), p[8]
	key, rest, ok := cutStr(p[9:])
	if !ok || !canonicalKey(key) {
		return false
	}
	rec.key = string(key)
	switch {
	case rec.op == opDelete:
		return len(rest) == 0
	case rec.op != opSet || len(rest) < 1 || rest[0]&^flagSubs != 0:
		return false
	}
	rec.subs = rest[0]&flagSubs != 0
	rest = rest[1:]
	if len(rest) < 8 {
		return false
	}
	n := actions.Packed(rest).Len()
	if len(rest) < n+2 {
		return false
	}
	rec.rule, rest = actions.Packed(rest[:n]), rest[n:]
	count := int(binary.LittleEndian.Uint16(rest))
	rest = rest[2:]
	rec.addrs = rec.addrs[:0]
	for range count {
		var a []byte
		if a, rest, ok = cutStr(rest); !ok || !actions.CheckBackendAddr(string(a)) {
			return false
		}
		rec.addrs = append(rec.addrs, string(a))
	}
	_, err := actions.CheckPacked(rec.rule, uint32(count))
	return err == nil && len(rest) == 0
}

// cutStr splits a length-prefixed string off the front of b.
func cutStr(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.LittleEndian.Uint16(b))
	if len(b)-2 < n {
		return nil, nil, false
	}
	return b[2 : 2+n], b[2+n:], true
}

// Rule returns the record's rule as an actions.Rule.
func (rec *record) Rule() *actions.Rule {
	return rec.rule.Rule(rec.subs, func(id uint32) string { return rec.addrs[id] })
}

// journalName returns the name of the journal file whose first record
// follows revision rev.
func journalName(rev uint64) string { return fmt.Sprintf("%s%016x", journalPrefix, rev) }

// journalFiles lists the journal files of dir with the revision each
// follows, oldest first. Names that only look like journals are errors,
// so that nothing is skipped silently.
func journalFiles(dir string) ([]string, []uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	var revs []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, journalPrefix) || strings.Contains(name, ".torn-") {
			continue
		}
		rev, err := strconv.ParseUint(strings.TrimPrefix(name, journalPrefix), 16, 64)
		if err != nil || len(name) != len(journalPrefix)+16 {
			return nil, nil, fmt.Errorf("%s: not a journal file name", filepath.Join(dir, name))
		}
		names, revs = append(names, name), append(revs, rev)
	}
	return names, revs, nil
}
