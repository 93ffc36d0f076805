package store

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// The stats file: every host's counters that are not all zero, and those
// of unmatched requests under the empty key.
//
//	"MANTRIDC" u32 version u32 entries
//	entries × (u16 length, key, uvarint completed, uvarint sent, uvarint received)
//	"MANTRIDE" u32 CRC-32C of everything before it
//
// open_requests is not kept: a new process has none open.
const (
	statsName    = "stats"
	statsMagic   = "MANTRIDC"
	statsVersion = 1
)

// statEntry is one host's counters in the stats file.
type statEntry struct {
	key    string
	counts actions.Counts
}

// statsOf collects the counters worth keeping: unmatched requests' first,
// then every host's that are not all zero. It takes no lock (see
// hostmap.Table.Range).
func statsOf(t *hostmap.Table) []statEntry {
	out := []statEntry{{key: "", counts: t.Counts(0)}}
	t.EachCounted(func(key string, c actions.Counts) {
		out = append(out, statEntry{key: key, counts: c})
	})
	return out
}

// encodeStats writes entries as a stats file. Negative counters are
// written as 0.
func encodeStats(out io.Writer, entries []statEntry) error {
	w := newWriter(out)
	w.bytes([]byte(statsMagic))
	w.u32(statsVersion)
	w.u32(uint32(len(entries)))
	for _, e := range entries {
		w.str(e.key)
		w.uvarint(uint64(max(e.counts.CompletedRequests, 0)))
		w.uvarint(uint64(max(e.counts.BytesSent, 0)))
		w.uvarint(uint64(max(e.counts.BytesReceived, 0)))
	}
	return w.trailer(snapEnd)
}

// decodeStats reads a stats file and calls fn for each entry.
func decodeStats(in io.Reader, fn func(key string, c actions.Counts)) error {
	r := newReader(in)
	if m := r.bytes(len(statsMagic)); r.err == nil && string(m) != statsMagic {
		return damaged("not a Mantrid stats file")
	}
	version, n := r.u32(), r.u32()
	switch {
	case r.err != nil:
		return r.err
	case version != statsVersion:
		return fmt.Errorf("stats version %d: this Mantrid reads version %d", version, statsVersion)
	case n > maxCount:
		return damaged("header announces %d entries", n)
	}
	for range n {
		key := string(r.str())
		c := actions.Counts{CompletedRequests: int64(r.uvarint()), BytesSent: int64(r.uvarint()), BytesReceived: int64(r.uvarint())}
		if r.err != nil {
			return r.err
		}
		if c.CompletedRequests < 0 || c.BytesSent < 0 || c.BytesReceived < 0 {
			return damaged("counter out of range")
		}
		fn(key, c)
	}
	return r.trailer(snapEnd)
}

// restoreStats loads the stats file at path into t; a missing file is no
// error. Entries of hosts without a rule are ignored.
func restoreStats(path string, t *hostmap.Table) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	err = decodeStats(f, func(key string, c actions.Counts) {
		if key == "" {
			t.SetUnmatchedCounts(c)
		} else {
			t.SetCounts(key, c)
		}
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
