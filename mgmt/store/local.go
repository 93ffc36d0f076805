package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Defaults and bounds of Local.
const (
	// DefaultJournalLimit is how many bytes of journal make Local write a
	// new snapshot, when the snapshot itself is smaller.
	DefaultJournalLimit = 64 << 20
	// maxJournalFiles makes Local write a new snapshot when this many
	// journal files have piled up (one more per start).
	maxJournalFiles = 16
	// maxBatch bounds how many changes share one fsync.
	maxBatch = 1024
	// snapshotRetry is how long Local waits after a failed background
	// snapshot before it tries again.
	snapshotRetry = 30 * time.Second
	// reclaimAge is how long a deleted host's stat id waits before Maintain
	// lets it be reused (see hostmap.Table.Reclaim).
	reclaimAge = time.Minute
	opReplace  = 3
	opCompact  = 4 // no change: the committer looks whether a snapshot is due
)

// Options configures Open.
type Options struct {
	// Dir is the store folder; it is created if missing.
	Dir string
	// Table is the rule table the store fills at Open and feeds with every
	// committed change.
	Table *hostmap.Table
	// OnChange, when set, is called after each change is applied, with the
	// key, or "" after a Replace (every host may have changed).
	OnChange func(key string)
	// Logger receives what an operator should know; default: discard.
	Logger *slog.Logger
	// Seed, when set, fills a store that does not exist yet: it adds the
	// first rules to b and returns counters to restore by key ("" for
	// unmatched requests). It is how a legacy state file is imported.
	Seed func(b *hostmap.Builder) (map[string]actions.Counts, error)
	// JournalLimit is DefaultJournalLimit when 0.
	JournalLimit int64
	// Bulk runs snapshot writes; nil runs them as they are.
	Bulk *LowPriority
}

// Local is the Store on a local folder (see the package comment). Open
// loads it into the table; Close stops it.
type Local struct {
	dir      string
	table    *hostmap.Table
	onChange func(string)
	log      *slog.Logger
	limit    int64
	bulk     *LowPriority

	lock      *os.File
	reqs      chan *op
	quit      chan struct{}
	done      chan struct{} // closed when the committer has stopped
	closeOnce sync.Once
	bg        sync.WaitGroup // the background snapshot writer

	// Owned by the committer goroutine (and Open before it starts).
	journal *os.File
	jname   string
	jsize   int64
	rev     uint64
	buf     []byte

	revision atomic.Uint64 // rev, for readers
	jtotal   atomic.Int64  // bytes in all journal files
	jfiles   atomic.Int64  // journal files
	snapping atomic.Bool   // a background snapshot is being written
	snapFail atomic.Int64  // when the last background snapshot failed, Unix ns
	syncs    atomic.Int64  // journal fsyncs, for tests and logs

	snapMu   sync.Mutex // serialises writers of rules.snap
	snapRev  uint64     // revision of rules.snap; guarded by snapMu
	haveSnap bool       // rules.snap exists; guarded by snapMu

	statsMu   sync.Mutex // serialises stats saves
	statsMark actions.Counts
	statsSet  bool
}

// op is one change waiting for the committer.
type op struct {
	kind    uint8
	key     string
	rule    *actions.Rule
	cond    Cond
	build   *hostmap.Builder
	existed bool
	skip    bool
	rev     uint64 // the change's revision, once committed
	at      uint64 // the revision asked for (SetAt …), or 0 for the next
	err     error
	done    chan struct{}
}

// Open opens (or creates) the store in o.Dir, loads it into o.Table and
// starts committing. A store folder another process holds is an error, as
// is any damage to its files but a torn last journal record (set aside in
// a file next to the journal and logged).
func Open(o Options) (*Local, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.JournalLimit <= 0 {
		o.JournalLimit = DefaultJournalLimit
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("store folder %s cannot be used: %w", o.Dir, pathCause(err))
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	l := &Local{dir: o.Dir, table: o.Table, onChange: o.OnChange, log: o.Logger, limit: o.JournalLimit, bulk: o.Bulk, lock: lock,
		reqs: make(chan *op, maxBatch), quit: make(chan struct{}), done: make(chan struct{})}
	if err := l.load(o.Seed); err != nil {
		lock.Close()
		return nil, err
	}
	l.revision.Store(l.rev)
	go l.run()
	if l.compactDue() {
		l.enqueueSnapshot()
	}
	return l, nil
}

// load fills the table from the folder, seeding a new store, and opens the
// journal for appending.
func (l *Local) load(seed func(*hostmap.Builder) (map[string]actions.Counts, error)) error {
	removeTemporaries(l.dir)
	names, _, err := journalFiles(l.dir)
	if err != nil {
		return err
	}
	snap := filepath.Join(l.dir, snapName)
	if _, err := os.Stat(snap); errors.Is(err, os.ErrNotExist) {
		if len(names) > 0 {
			return fmt.Errorf("store %s: journal files without %s: the store is damaged", l.dir, snapName)
		}
		if err := l.create(seed); err != nil {
			return err
		}
	} else if err := l.loadSnapshot(snap); err != nil {
		return err
	}
	if err := l.replay(names); err != nil {
		return err
	}
	if l.rev == 0 && l.table.Len() > 0 {
		// A store seeded before revisions were kept per rule: its seed,
		// whose rules read as revision 1 (decodeSnapshot), is change 1.
		l.rev = 1
	}
	if err := restoreStats(filepath.Join(l.dir, statsName), l.table); err != nil {
		l.setAside(filepath.Join(l.dir, statsName), "damaged")
		l.log.Error("stats file damaged; set aside, counters start from zero", "err", err)
	}
	return l.openJournal(names)
}

// create makes a new store: the seed's content, at revision 1, or nothing,
// at revision 0. The stats file is written before the snapshot, whose
// presence means the store exists, so that a crash in between seeds again
// at the next start.
func (l *Local) create(seed func(*hostmap.Builder) (map[string]actions.Counts, error)) error {
	b := l.table.NewBuilder(0)
	var stats map[string]actions.Counts
	if seed != nil {
		var err error
		if stats, err = seed(b); err != nil {
			return err
		}
	}
	if b.Len() > 0 {
		l.rev = 1 // a rule's revision, its ETag, is never 0
	}
	b.SetRev(l.rev)
	cut := b.Cut()
	l.table.Replace(b)
	for key, c := range stats {
		if key == "" {
			l.table.SetUnmatchedCounts(c)
		} else {
			l.table.SetCounts(key, c)
		}
	}
	if _, err := l.SaveStats(true); err != nil {
		return err
	}
	if err := l.writeSnapshot(cut, l.rev, nil); err != nil {
		return err
	}
	l.log.Info("store created", "dir", l.dir, "rules", cut.Len())
	return nil
}

// loadSnapshot loads rules.snap into the table.
func (l *Local) loadSnapshot(path string) error {
	b := l.table.NewBuilder(0)
	rev, err := readSnapshotFile(path, b)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	l.table.Replace(b)
	l.rev, l.snapRev, l.haveSnap = rev, rev, true
	return nil
}

// replay applies the journal files' records that follow the snapshot.
func (l *Local) replay(names []string) error {
	var total int64
	for _, name := range names {
		path := filepath.Join(l.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		good, err := scanJournal(data, l.applyRecord)
		if err != nil {
			return fmt.Errorf("store: %s: %w", path, err)
		}
		if good < len(data) {
			if err := l.cutTornTail(path, data, good); err != nil {
				return err
			}
		}
		total += int64(good)
	}
	l.jtotal.Store(total)
	l.jfiles.Store(int64(len(names)))
	return nil
}

// applyRecord applies one journal record at start, unless the snapshot
// already holds it.
func (l *Local) applyRecord(rec *record) error {
	if rec.rev <= l.rev {
		return nil
	}
	l.rev = rec.rev
	if rec.op == opDelete {
		l.table.Delete(rec.key)
		return nil
	}
	l.table.SetRev(rec.key, rec.Rule(), rec.rev)
	return nil
}

// cutTornTail sets aside the bytes of a journal file after its last whole
// record, in a file next to it, and truncates the journal there.
func (l *Local) cutTornTail(path string, data []byte, good int) error {
	aside := fmt.Sprintf("%s.torn-%d", path, time.Now().Unix())
	if err := os.WriteFile(aside, data[good:], 0o644); err != nil {
		return fmt.Errorf("store: keeping the torn end of %s: %w", path, err)
	}
	if err := os.Truncate(path, int64(good)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	l.log.Warn("journal ends in an unfinished record (a crash during a write that was never acknowledged); set aside",
		"journal", path, "bytes", len(data)-good, "kept_in", aside)
	return syncDir(l.dir)
}

// setAside renames a file that cannot be used so that nothing is lost.
func (l *Local) setAside(path, why string) {
	_ = os.Rename(path, fmt.Sprintf("%s.%s-%d", path, why, time.Now().Unix()))
}

// openJournal opens the newest journal file for appending, or creates one.
func (l *Local) openJournal(names []string) error {
	name := journalName(l.rev)
	if len(names) > 0 {
		name = names[len(names)-1]
	}
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("store: %w", err)
	}
	if len(names) == 0 {
		l.jfiles.Store(1)
		if err := syncDir(l.dir); err != nil {
			f.Close()
			return fmt.Errorf("store: %w", err)
		}
	}
	l.journal, l.jname, l.jsize = f, name, fi.Size()
	return nil
}

// Revision returns the revision of the last committed change: it grows by
// one with each change, and a bulk replace is one change.
func (l *Local) Revision() uint64 { return l.revision.Load() }

// Set implements Store.
func (l *Local) Set(ctx context.Context, key string, r *actions.Rule, c Cond) (uint64, error) {
	o, err := l.submit(ctx, &op{kind: opSet, key: key, rule: r, cond: c})
	return o.rev, err
}

// Delete implements Store.
func (l *Local) Delete(ctx context.Context, key string, c Cond) (bool, uint64, error) {
	o, err := l.submit(ctx, &op{kind: opDelete, key: key, cond: c})
	return o.existed, o.rev, err
}

// Replace implements Store.
func (l *Local) Replace(ctx context.Context, b *hostmap.Builder) (uint64, error) {
	o, err := l.submit(ctx, &op{kind: opReplace, build: b})
	return o.rev, err
}

// SetAt, DeleteAt and ReplaceAt commit like Set, Delete and Replace, with
// the change at revision at, or at the next revision if at is not above
// the store's (revisions only grow). A store that follows another's
// revisions (etcdstore: etcd's) uses them, so that a rule's revision, its
// ETag, is the same on every node.
func (l *Local) SetAt(ctx context.Context, key string, r *actions.Rule, at uint64) (uint64, error) {
	o, err := l.submit(ctx, &op{kind: opSet, key: key, rule: r, at: at})
	return o.rev, err
}

// DeleteAt: see SetAt.
func (l *Local) DeleteAt(ctx context.Context, key string, at uint64) (bool, uint64, error) {
	o, err := l.submit(ctx, &op{kind: opDelete, key: key, at: at})
	return o.existed, o.rev, err
}

// ReplaceAt: see SetAt. Rules of b given a revision (Builder.AddRev) keep
// it; the others get the replace's.
func (l *Local) ReplaceAt(ctx context.Context, b *hostmap.Builder, at uint64) (uint64, error) {
	o, err := l.submit(ctx, &op{kind: opReplace, build: b, at: at})
	return o.rev, err
}

// submit hands o to the committer and waits for it. Once queued, a change
// is committed even if ctx ends: the caller only stops waiting.
func (l *Local) submit(ctx context.Context, o *op) (*op, error) {
	o.done = make(chan struct{})
	select {
	case l.reqs <- o:
	case <-ctx.Done():
		return o, ctx.Err()
	case <-l.quit:
		return o, ErrClosed
	}
	select {
	case <-o.done:
		return o, o.err
	case <-l.done:
		select {
		case <-o.done:
			return o, o.err
		default:
			return o, ErrClosed
		}
	}
}

// run is the committer: it takes every change queued, commits them with
// one journal append and one fsync, applies them, and answers.
func (l *Local) run() {
	defer close(l.done)
	batch := make([]*op, 0, maxBatch)
	for {
		select {
		case o := <-l.reqs:
			batch = append(batch[:0], o)
		case <-l.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case o := <-l.reqs:
				batch = append(batch, o)
			default:
				break more
			}
		}
		l.commit(batch)
		clear(batch)
	}
}

// commit commits a batch: runs of single-host changes together, each
// replace on its own, in order.
func (l *Local) commit(batch []*op) {
	for i := 0; i < len(batch); {
		switch batch[i].kind {
		case opReplace:
			l.replace(batch[i])
			i++
			continue
		case opCompact:
			close(batch[i].done)
			i++
			continue
		}
		j := i
		for j < len(batch) && batch[j].kind != opReplace && batch[j].kind != opCompact {
			j++
		}
		l.commitChanges(batch[i:j])
		i = j
	}
	l.revision.Store(l.rev)
	if l.compactDue() {
		l.startSnapshot()
	}
}

// commitChanges journals single-host changes with one fsync, then applies
// them and answers each. Each change's Cond is checked here, in commit
// order, against the rules as the changes before it leave them.
func (l *Local) commitChanges(ops []*op) {
	buf, rev := l.buf[:0], l.rev
	var present map[string]uint64 // keys changed earlier in this batch: their revision, 0 once deleted
	for _, o := range ops {
		exists, at := l.lookup(o.key, present)
		if !o.cond.Holds(exists, at) {
			o.skip, o.err = true, &PreconditionError{Key: o.key, Exists: exists, Rev: at}
			continue
		}
		if o.kind == opDelete {
			o.existed = exists
			if o.skip = !o.existed; o.skip {
				continue
			}
		}
		rev = max(rev+1, o.at)
		o.rev = rev
		buf = appendRecord(buf, rev, o.key, o.rule)
		if len(ops) > 1 {
			if present == nil {
				present = map[string]uint64{}
			}
			present[o.key] = 0
			if o.kind == opSet {
				present[o.key] = rev
			}
		}
	}
	l.buf = buf
	if len(buf) > 0 {
		if err := l.append(buf); err != nil {
			l.log.Error("cannot write the journal; rule changes are refused until it works again", "err", err)
			for _, o := range ops {
				o.err, o.rev = fmt.Errorf("%w: %v", ErrUnavailable, err), 0
				close(o.done)
			}
			return
		}
	}
	l.rev = rev
	for _, o := range ops {
		if !o.skip {
			l.apply(o)
		}
		close(o.done)
	}
}

// lookup reports whether key has a rule and its revision, counting the
// changes of the batch not yet applied.
func (l *Local) lookup(key string, present map[string]uint64) (bool, uint64) {
	if rev, ok := present[key]; ok {
		return rev != 0, rev
	}
	h, ok := l.table.Get(key)
	return ok, h.Rev
}

// apply applies a committed single-host change to the table.
func (l *Local) apply(o *op) {
	if o.kind == opDelete {
		l.table.Delete(o.key)
	} else {
		l.table.SetRev(o.key, o.rule, o.rev)
	}
	if l.onChange != nil {
		l.onChange(o.key)
	}
}

// append writes journal records and fsyncs them. On failure it cuts the
// journal back to where it was, so that no record that was refused can be
// replayed at the next start.
func (l *Local) append(b []byte) error {
	_, err := l.journal.Write(b)
	if err == nil {
		err = l.journal.Sync()
		l.syncs.Add(1)
	}
	if err != nil {
		_ = l.journal.Truncate(l.jsize)
		return err
	}
	l.jsize += int64(len(b))
	l.jtotal.Add(int64(len(b)))
	return nil
}

// replace commits a bulk replace: a new snapshot, durable before the table
// changes, then a fresh journal. The snapshot is written, and the table
// replaced, as bulk work (Options.Bulk), as is the background snapshot.
func (l *Local) replace(o *op) {
	defer close(o.done)
	var err error
	rev := max(l.rev+1, o.at)
	o.build.SetRev(rev)
	l.bulk.Run(func(p *Pacer) {
		if err = l.writeSnapshot(o.build.Cut(), rev, p); err == nil {
			l.table.Replace(o.build)
		}
	})
	if err != nil {
		l.log.Error("cannot write the rules snapshot; the bulk replace is refused", "err", err)
		o.err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		return
	}
	l.rev, o.rev = rev, rev
	l.rotate(true)
	if l.onChange != nil {
		l.onChange("")
	}
}

// compactDue reports whether the journal has grown enough to be folded
// into a new snapshot.
func (l *Local) compactDue() bool {
	if l.snapping.Load() || time.Since(time.Unix(0, l.snapFail.Load())) < snapshotRetry {
		return false
	}
	if l.jfiles.Load() > maxJournalFiles {
		return true
	}
	total := l.jtotal.Load()
	return total > l.limit && total > l.snapSize()
}

// snapSize returns the size of rules.snap, or 0.
func (l *Local) snapSize() int64 {
	fi, err := os.Stat(filepath.Join(l.dir, snapName))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// enqueueSnapshot asks the committer to start a background snapshot.
func (l *Local) enqueueSnapshot() {
	go l.submit(context.Background(), &op{kind: opCompact})
}

// startSnapshot cuts the table at the current revision, moves appends to a
// new journal file, and writes the snapshot in the background; when it is
// durable the journal files it covers are removed.
func (l *Local) startSnapshot() {
	cut, rev := l.table.Cut(), l.rev
	old := l.rotate(false)
	l.snapping.Store(true)
	l.bg.Go(func() {
		defer l.snapping.Store(false)
		start := time.Now()
		var err error
		l.bulk.Run(func(p *Pacer) { err = l.writeSnapshot(cut, rev, p) })
		if err != nil {
			l.log.Error("cannot write the rules snapshot; the journal keeps growing until it works", "err", err)
			l.snapFail.Store(time.Now().UnixNano())
			return
		}
		l.removeJournals(old)
		l.log.Info("rules snapshot written", "rules", cut.Len(), "revision", rev, "took", time.Since(start).Round(time.Millisecond))
	})
}

// rotate moves appends to a new journal file named after the current
// revision and returns the names of the older files. With deleteOld they
// are removed: a snapshot covers them. When the new file cannot be made,
// appends go on into the old one, which is still correct (its later
// records follow the snapshot) and only logged.
func (l *Local) rotate(deleteOld bool) []string {
	name := journalName(l.rev)
	if name == l.jname {
		return nil
	}
	names, _, err := journalFiles(l.dir)
	if err == nil {
		var f *os.File
		if f, err = os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
			if err = syncDir(l.dir); err == nil {
				l.journal.Close()
				l.journal, l.jname, l.jsize = f, name, 0
				l.jfiles.Add(1)
			} else {
				f.Close()
			}
		}
	}
	if err != nil {
		l.log.Error("cannot start a new journal file; appending to the old one", "err", err)
		return nil
	}
	old := names[:0]
	for _, n := range names {
		if n != name {
			old = append(old, n)
		}
	}
	if deleteOld {
		l.removeJournals(old)
	}
	return old
}

// removeJournals removes journal files that a durable snapshot covers.
func (l *Local) removeJournals(names []string) {
	for _, n := range names {
		path := filepath.Join(l.dir, n)
		fi, err := os.Stat(path)
		if err != nil {
			continue
		}
		if err := os.Remove(path); err == nil {
			l.jtotal.Add(-fi.Size())
			l.jfiles.Add(-1)
		}
	}
	_ = syncDir(l.dir)
}

// writeSnapshot writes c as rules.snap at revision rev, atomically, unless
// a newer snapshot is already there.
func (l *Local) writeSnapshot(c content, rev uint64, p *Pacer) error {
	l.snapMu.Lock()
	defer l.snapMu.Unlock()
	if l.haveSnap && rev <= l.snapRev {
		return nil
	}
	err := writeAtomic(filepath.Join(l.dir, snapName), func(w io.Writer) error { return encodeSnapshot(w, c, rev, p) })
	if err != nil {
		return err
	}
	l.snapRev, l.haveSnap = rev, true
	return nil
}

// SaveStats writes the stats file when the counters moved since the last
// save, or when force is set, and reports whether it wrote.
func (l *Local) SaveStats(force bool) (bool, error) {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	mark := l.table.Counters().Total()
	mark.OpenRequests = 0
	if !force && l.statsSet && mark == l.statsMark {
		return false, nil
	}
	entries := statsOf(l.table)
	err := writeAtomic(filepath.Join(l.dir, statsName), func(w io.Writer) error { return encodeStats(w, entries) })
	if err != nil {
		return false, err
	}
	l.statsMark, l.statsSet = mark, true
	return true, nil
}

// Maintain saves the stats every interval when they moved and lets the
// stat ids of deleted hosts be reused, until ctx ends. The owner runs it
// in a goroutine of its own.
func (l *Local) Maintain(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if _, err := l.SaveStats(false); err != nil {
				l.log.Error("cannot save the stats file; will retry", "err", err)
			}
			l.table.Reclaim(now, reclaimAge)
		}
	}
}

// Close stops committing (changes still queued get ErrClosed), waits for
// a background snapshot, and releases the folder. It does not save the
// stats: call SaveStats before, once the data path has stopped.
func (l *Local) Close() error {
	l.closeOnce.Do(func() { close(l.quit) })
	<-l.done
	l.bg.Wait()
	err := l.journal.Close()
	l.lock.Close()
	return err
}

// pathCause returns the cause of a path error, without the path, which
// the caller's message names already.
func pathCause(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}

// removeTemporaries removes the temporary files of writes a crash cut
// short; the files they were to replace are intact.
func removeTemporaries(dir string) {
	for _, base := range []string{snapName, statsName} {
		tmps, _ := filepath.Glob(filepath.Join(dir, "."+base+".tmp-*"))
		for _, t := range tmps {
			_ = os.Remove(t)
		}
	}
}

// writeAtomic writes path through encode into a temporary file in the
// same folder, fsyncs it, renames it over path and fsyncs the folder: a
// crash leaves the old file or the new one.
func writeAtomic(path string, encode func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = encode(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a folder, making renames and new files in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
