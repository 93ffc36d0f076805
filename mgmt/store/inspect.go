package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mantrid/mantrid/hostmap"
)

// Inspection is what Inspect found in a store folder.
type Inspection struct {
	// Revision is the revision of the last whole change.
	Revision uint64
	// Journals is the number of journal files.
	Journals int
	// TornBytes counts the bytes after the last whole record of the
	// journal files: a write cut short, which Open sets aside.
	TornBytes int
	// StatsErr is why the stats file cannot be read (Open sets it aside
	// and starts the counters from zero); nil when it reads whole or is
	// missing.
	StatsErr error
}

// Exists reports whether dir holds a store: a snapshot, or anything that
// looks like a journal (which Open refuses without a snapshot).
func Exists(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, snapName)); err == nil {
		return true
	}
	names, _, err := journalFiles(dir)
	return err != nil && !errors.Is(err, os.ErrNotExist) || len(names) > 0
}

// Inspect reads the store in dir into table as Open would, but changes
// nothing and takes no lock, so that it can run beside the process that
// holds the store (mantrid --check): the snapshot, the whole records of
// every journal file and the stats file. A torn last record is counted,
// not cut, and a damaged stats file is reported in StatsErr; any other
// damage is the error Open would give. A change committed meanwhile may be
// missed, and a snapshot written meanwhile, which removes the journal
// files it covers, makes Inspect fail with a missing file: run it again.
func Inspect(dir string, table *hostmap.Table) (Inspection, error) {
	var in Inspection
	names, _, err := journalFiles(dir)
	if err != nil {
		return in, fmt.Errorf("store: %w", err)
	}
	in.Journals = len(names)
	snap := filepath.Join(dir, snapName)
	b := table.NewBuilder(0)
	rev, err := readSnapshotFile(snap, b)
	if errors.Is(err, os.ErrNotExist) && len(names) > 0 {
		return in, fmt.Errorf("store %s: journal files without %s: the store is damaged", dir, snapName)
	}
	if err != nil {
		return in, fmt.Errorf("store: %w", err)
	}
	table.Replace(b)
	in.Revision = rev
	for _, name := range names {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return in, fmt.Errorf("store: %w", err)
		}
		good, err := scanJournal(data, func(rec *record) error {
			if rec.rev <= in.Revision {
				return nil
			}
			in.Revision = rec.rev
			if rec.op == opDelete {
				table.Delete(rec.key)
			} else {
				table.SetRev(rec.key, rec.Rule(), rec.rev)
			}
			return nil
		})
		if err != nil {
			return in, fmt.Errorf("store: %s: %w", path, err)
		}
		in.TornBytes += len(data) - good
	}
	if in.Revision == 0 && table.Len() > 0 {
		in.Revision = 1 // as Open counts an older Mantrid's seed
	}
	if err := restoreStats(filepath.Join(dir, statsName), table); err != nil && !errors.Is(err, os.ErrNotExist) {
		in.StatsErr = err
	}
	return in, nil
}
