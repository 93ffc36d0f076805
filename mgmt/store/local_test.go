package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

func mustRule(t testing.TB, js string) *actions.Rule {
	t.Helper()
	r, err := actions.ParseRule([]byte(js))
	require.NoError(t, err, js)
	return r
}

// rulesOf returns a table's rules as key → canonical JSON.
func rulesOf(table *hostmap.Table) map[string]string {
	out := map[string]string{}
	table.Range(func(key string, h hostmap.Hit) bool {
		out[key] = string(h.Unpack().AppendJSON(nil))
		return true
	})
	return out
}

// mustSet commits rule r under key unconditionally and returns its
// revision.
func mustSet(t testing.TB, s Store, key string, r *actions.Rule) uint64 {
	t.Helper()
	rev, err := s.Set(ctx, key, r, Cond{})
	require.NoError(t, err, "Set(%q)", key)
	require.NotZero(t, rev, "Set(%q): revision", key)
	return rev
}

// mustReplace commits b as the whole table and returns its revision.
func mustReplace(t testing.TB, s Store, b *hostmap.Builder) uint64 {
	t.Helper()
	rev, err := s.Replace(ctx, b)
	require.NoError(t, err, "Replace")
	return rev
}

// revsOf returns the revision of each of a table's rules.
func revsOf(table *hostmap.Table) map[string]uint64 {
	out := map[string]uint64{}
	table.Range(func(key string, h hostmap.Hit) bool {
		out[key] = h.Rev
		return true
	})
	return out
}

// open opens the store in dir over a new table.
func open(t *testing.T, dir string, o Options) (*Local, *hostmap.Table) {
	t.Helper()
	table := hostmap.New(2)
	o.Dir, o.Table = dir, table
	l, err := Open(o)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l, table
}

// sampleRules are rules of every kind.
var sampleRules = map[string]string{
	"proxy.io":        `["proxy",{"attempts":3,"backends":[["10.0.0.1",8000],["::1",80],["backend.internal",9]],"delay":0.25},true]`,
	"http://proxy.io": `["proxy",{"backends":[["10.0.0.1",8000]]},false]`,
	"spin.io":         `["spin",{"timeout":60.5},true]`,
	"redirect.io":     `["redirect",{"redirect_to":"https://ep.io/x"},true]`,
	"static.io":       `["static",{"type":"test"},false]`,
	"empty.io":        `["empty",{"code":402},false]`,
	"none.io":         `["no_hosts",{},false]`,
	"[::1]":           `["unknown",{},true]`,
}

func replaceWith(t *testing.T, l *Local, table *hostmap.Table, rules map[string]string) {
	t.Helper()
	b := table.NewBuilder(len(rules))
	for key, js := range rules {
		b.Add(key, mustRule(t, js))
	}
	mustReplace(t, l, b)
}

// TestLocalRoundTrip commits every kind of change and checks that a new
// process (a new Open over a new table) sees exactly the same rules and
// counters.
func TestLocalRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var changed []string
	l, table := open(t, dir, Options{OnChange: func(k string) { changed = append(changed, k) }})
	assert.Equal(t, 0, table.Len())
	replaceWith(t, l, table, sampleRules)
	mustSet(t, l, "new.io", mustRule(t, `["empty",{"code":204},true]`))
	mustSet(t, l, "empty.io", mustRule(t, `["empty",{"code":403},false]`))
	existed, _, err := l.Delete(ctx, "static.io", Cond{})
	require.NoError(t, err)
	assert.True(t, existed)
	existed, _, err = l.Delete(ctx, "never.io", Cond{})
	require.NoError(t, err)
	assert.False(t, existed, "deleting a host without a rule")
	assert.Equal(t, []string{"", "new.io", "empty.io", "static.io"}, changed, "OnChange after each applied change")
	assert.Equal(t, uint64(4), l.Revision(), "a replace and three changes")

	h, _ := table.Get("proxy.io")
	s := table.Counters().Slot(1, h.Stat)
	s.Begin(10)
	s.Sent(20)
	s.End(true)
	table.Counters().Slot(0, 0).Begin(7)
	want, wantRevs := rulesOf(table), revsOf(table)
	assert.Equal(t, uint64(1), wantRevs["proxy.io"], "a replaced rule: the replace's revision")
	assert.Equal(t, uint64(2), wantRevs["new.io"], "a set rule: its change's revision")
	assert.Equal(t, uint64(3), wantRevs["empty.io"], "a rule set again: the last change's revision")
	saved, err := l.SaveStats(false)
	require.NoError(t, err)
	assert.True(t, saved)
	saved, err = l.SaveStats(false)
	require.NoError(t, err)
	assert.False(t, saved, "nothing moved since the last save")
	require.NoError(t, l.Close())

	l2, table2 := open(t, dir, Options{})
	assert.Equal(t, want, rulesOf(table2))
	assert.Equal(t, wantRevs, revsOf(table2), "revisions after a restart (snapshot and journal)")
	assert.Equal(t, uint64(4), l2.Revision())
	h2, _ := table2.Get("proxy.io")
	assert.Equal(t, actions.Counts{CompletedRequests: 1, BytesSent: 20, BytesReceived: 10}, table2.Counts(h2.Stat))
	assert.Equal(t, actions.Counts{BytesReceived: 7}, table2.Counts(0), "unmatched requests' counters, without the open one")
}

// TestLocalSeed checks the upgrade path: Seed runs only for a store that
// does not exist yet, and its rules and counters are the store's.
func TestLocalSeed(t *testing.T) {
	dir := t.TempDir()
	seeds := 0
	seed := func(b *hostmap.Builder) (map[string]actions.Counts, error) {
		seeds++
		b.Add("seeded.io", mustRule(t, `["empty",{"code":204},false]`))
		return map[string]actions.Counts{"seeded.io": {CompletedRequests: 5}, "": {CompletedRequests: 2}}, nil
	}
	l, table := open(t, dir, Options{Seed: seed})
	h, ok := table.Get("seeded.io")
	require.True(t, ok)
	assert.Equal(t, int64(5), table.Counts(h.Stat).CompletedRequests)
	assert.Equal(t, int64(2), table.Counts(0).CompletedRequests)
	assert.Equal(t, uint64(1), h.Rev, "the seed is change 1: no rule's revision is 0")
	assert.Equal(t, uint64(1), l.Revision())
	require.NoError(t, l.Close())
	l, table = open(t, dir, Options{Seed: seed})
	assert.Equal(t, 1, seeds, "a store that exists is not seeded again")
	h, _ = table.Get("seeded.io")
	assert.Equal(t, int64(5), table.Counts(h.Stat).CompletedRequests)
	assert.Equal(t, uint64(1), h.Rev)
	assert.Equal(t, uint64(2), mustSet(t, l, "seeded.io", mustRule(t, `["empty",{"code":204},false]`)))

	failing := func(*hostmap.Builder) (map[string]actions.Counts, error) { return nil, fmt.Errorf("bad state file") }
	_, err := Open(Options{Dir: t.TempDir(), Table: hostmap.New(1), Seed: failing})
	assert.ErrorContains(t, err, "bad state file", "a failed seed stops the start")
}

// TestLocalLock refuses a second process on one store.
func TestLocalLock(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	_, err := Open(Options{Dir: dir, Table: hostmap.New(1)})
	assert.ErrorContains(t, err, "in use by another process")
}

// TestLocalTornJournal appends half a record to the journal, as a crash
// during an append does: the store loads, keeps the torn bytes aside and
// says so, and goes on appending after the last whole record.
func TestLocalTornJournal(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir, Options{})
	mustSet(t, l, "a.io", mustRule(t, `["empty",{"code":204},false]`))
	require.NoError(t, l.Close())
	names, _, err := journalFiles(dir)
	require.NoError(t, err)
	require.Len(t, names, 1)
	rec := appendRecord(nil, 99, "b.io", mustRule(t, `["empty",{"code":205},false]`))
	f, err := os.OpenFile(filepath.Join(dir, names[0]), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(rec[:len(rec)-3])
	require.NoError(t, err)
	require.NoError(t, f.Close())

	var logs bytes.Buffer
	l2, table := open(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	assert.Equal(t, map[string]string{"a.io": `["empty",{"code":204},false]`}, rulesOf(table))
	assert.Contains(t, logs.String(), "journal ends in an unfinished record")
	torn, err := filepath.Glob(filepath.Join(dir, "journal.*.torn-*"))
	require.NoError(t, err)
	require.Len(t, torn, 1, "the torn end is kept")
	kept, err := os.ReadFile(torn[0])
	require.NoError(t, err)
	assert.Equal(t, rec[:len(rec)-3], kept)
	mustSet(t, l2, "c.io", mustRule(t, `["empty",{"code":206},false]`))
	require.NoError(t, l2.Close())
	_, table = open(t, dir, Options{})
	assert.Len(t, rulesOf(table), 2, "appends after the cut are whole")
}

// TestLocalDamagedFilesStopTheStart damages the snapshot in every way a
// byte can be damaged and checks that Open refuses with the file named,
// never panics, and leaves the file as it was.
func TestLocalDamagedFilesStopTheStart(t *testing.T) {
	dir := t.TempDir()
	l, table := open(t, dir, Options{})
	replaceWith(t, l, table, sampleRules)
	require.NoError(t, l.Close())
	snap, err := os.ReadFile(filepath.Join(dir, snapName))
	require.NoError(t, err)
	for i := 0; i < len(snap); i += max(1, len(snap)/97) {
		for _, damage := range []func([]byte) []byte{
			func(b []byte) []byte { b[i] ^= 0x41; return b },
			func(b []byte) []byte { return b[:i] },
		} {
			bad := damage(bytes.Clone(snap))
			require.NoError(t, os.WriteFile(filepath.Join(dir, snapName), bad, 0o644))
			_, err := Open(Options{Dir: dir, Table: hostmap.New(1)})
			require.Error(t, err, "damage at byte %d of %d", i, len(snap))
			assert.Contains(t, err.Error(), filepath.Join(dir, snapName))
			after, _ := os.ReadFile(filepath.Join(dir, snapName))
			assert.Equal(t, bad, after, "Open changed a damaged snapshot")
		}
	}
}

// TestLocalGroupCommit commits from many goroutines at once: every change
// is applied and durable, and changes share fsyncs.
func TestLocalGroupCommit(t *testing.T) {
	dir := t.TempDir()
	l, table := open(t, dir, Options{})
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d.io", w, i)
				if _, err := l.Set(ctx, key, mustRule(t, `["empty",{"code":204},false]`), Cond{}); err != nil {
					t.Error(err)
					return
				}
				if _, ok := table.Get(key); !ok {
					t.Errorf("%s not live when Set returned", key)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, writers*each, table.Len())
	t.Logf("%d changes in %d fsyncs", writers*each, l.syncs.Load())
	assert.Less(t, l.syncs.Load(), int64(writers*each), "concurrent changes share fsyncs")
	require.NoError(t, l.Close())
	_, table = open(t, dir, Options{})
	assert.Equal(t, writers*each, table.Len())
}

// TestLocalCompaction makes the journal outgrow a small limit: a snapshot
// is written in the background, the journals it covers go, and the store
// reloads to the same content.
func TestLocalCompaction(t *testing.T) {
	dir := t.TempDir()
	l, table := open(t, dir, Options{JournalLimit: 4 << 10})
	for i := range 300 {
		mustSet(t, l, fmt.Sprintf("h%d.io", i%40), mustRule(t, fmt.Sprintf(`["empty",{"code":%d},false]`, 200+i%100)))
		if i == 150 {
			replaceWith(t, l, table, sampleRules)
		}
	}
	want, wantRevs := rulesOf(table), revsOf(table)
	require.NoError(t, l.Close())
	names, _, err := journalFiles(dir)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(names), 2, "journal files left after compaction: %v", names)
	var total int64
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(dir, n))
		require.NoError(t, err)
		total += fi.Size()
	}
	assert.Less(t, total, int64(16<<10), "journal bytes left after compaction")
	_, table = open(t, dir, Options{})
	assert.Equal(t, want, rulesOf(table))
	assert.Equal(t, wantRevs, revsOf(table), "revisions after compaction and a restart")
	assert.Greater(t, slices.Max(slices.Collect(maps.Values(wantRevs))), uint64(152), "rules set after the replace keep their own revisions")
}

// TestLocalWriteFailure makes the journal fail: the change is refused with
// ErrUnavailable and the table is unchanged.
func TestLocalWriteFailure(t *testing.T) {
	l, table := open(t, t.TempDir(), Options{})
	mustSet(t, l, "a.io", mustRule(t, `["empty",{"code":204},false]`))
	l.journal.Close() // what a disk gone bad looks like to writes
	_, err := l.Set(ctx, "b.io", mustRule(t, `["empty",{"code":204},false]`), Cond{})
	assert.ErrorIs(t, err, ErrUnavailable)
	_, ok := table.Get("b.io")
	assert.False(t, ok, "a refused change is not applied")
	_, _, err = l.Delete(ctx, "a.io", Cond{})
	assert.ErrorIs(t, err, ErrUnavailable)
	_, ok = table.Get("a.io")
	assert.True(t, ok)
}

// TestJournalRecords round-trips records and checks the scan's handling of
// a damaged end.
func TestJournalRecords(t *testing.T) {
	var data []byte
	for i, js := range []string{sampleRules["proxy.io"], sampleRules["redirect.io"], ""} {
		var r *actions.Rule
		if js != "" {
			r = mustRule(t, js)
		}
		data = appendRecord(data, uint64(i+1), fmt.Sprintf("k%d.io", i), r)
	}
	var got []string
	n, err := scanJournal(data, func(rec *record) error {
		js := "delete"
		if rec.op == opSet {
			js = string(rec.Rule().AppendJSON(nil))
		}
		got = append(got, fmt.Sprintf("%d %s %s", rec.rev, rec.key, js))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, len(data), n)
	assert.Equal(t, []string{"1 k0.io " + sampleRules["proxy.io"], "2 k1.io " + sampleRules["redirect.io"], "3 k2.io delete"}, got)
	for cut := range len(data) {
		n, err := scanJournal(data[:cut], func(*record) error { return nil })
		require.NoError(t, err)
		assert.LessOrEqual(t, n, cut)
	}
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 1
	n, _ = scanJournal(bad, func(*record) error { return nil })
	assert.Less(t, n, len(data), "a checksum mismatch ends the scan")
}

// FuzzDecodeSnapshot feeds any bytes to the snapshot decoder: it never
// panics, and what it accepts encodes back to a snapshot that decodes to
// the same rules.
func FuzzDecodeSnapshot(f *testing.F) {
	table := hostmap.New(1)
	b := table.NewBuilder(0)
	for key, js := range sampleRules {
		r, _ := actions.ParseRule([]byte(js))
		b.Add(key, r)
	}
	var buf bytes.Buffer
	encodeSnapshot(&buf, b.Cut(), 7, nil)
	f.Add(buf.Bytes(), false)
	f.Add(buf.Bytes(), true)
	f.Add([]byte(snapMagic), false)
	f.Fuzz(func(t *testing.T, data []byte, fixSum bool) {
		if fixSum && len(data) >= 4 {
			// Past the checksum, to the structure and the text checks.
			n := len(data) - 4
			binary.LittleEndian.PutUint32(data[n:], crc32.Checksum(data[:n], castagnoli))
		}
		t1 := hostmap.New(1)
		b1 := t1.NewBuilder(0)
		rev, err := decodeSnapshot(data, b1)
		if err != nil {
			return
		}
		var again bytes.Buffer
		require.NoError(t, encodeSnapshot(&again, b1.Cut(), rev, nil))
		t1.Replace(b1)
		t2 := hostmap.New(1)
		b2 := t2.NewBuilder(0)
		_, err = decodeSnapshot(again.Bytes(), b2)
		require.NoError(t, err)
		t2.Replace(b2)
		require.Equal(t, rulesOf(t1), rulesOf(t2))
	})
}

// FuzzScanJournal feeds any bytes to the journal scanner: it never panics,
// reports a prefix of whole records, and every record it accepts is a
// valid rule change.
func FuzzScanJournal(f *testing.F) {
	f.Add(appendRecord(nil, 1, "a.io", mustRule(f, sampleRules["proxy.io"])))
	f.Add(appendRecord(nil, 2, "a.io", nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := scanJournal(data, func(rec *record) error {
			if rec.op == opSet {
				r := rec.Rule()
				if _, err := actions.ParseRule(r.AppendJSON(nil)); err != nil {
					t.Fatalf("record %q holds an invalid rule: %v", rec.key, err)
				}
			} else if strings.TrimSpace(rec.key) == "" {
				t.Fatal("empty key")
			}
			return nil
		})
		if err != nil || n > len(data) {
			t.Fatalf("scan: %d, %v", n, err)
		}
	})
}

// TestLocalCrashLeftovers leaves what a crash in the middle of writes
// leaves — temporary files, an empty journal file after a rotation — and
// checks that the store loads as it was and tidies up.
func TestLocalCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	l, table := open(t, dir, Options{})
	replaceWith(t, l, table, sampleRules)
	want := rulesOf(table)
	rev := l.Revision()
	require.NoError(t, l.Close())
	for _, name := range []string{".rules.snap.tmp-123", ".stats.tmp-456", journalName(rev + 7)} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("half"[:len(name)%4]), 0o644))
	}
	l2, table := open(t, dir, Options{})
	assert.Equal(t, want, rulesOf(table))
	tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	assert.Empty(t, tmps, "temporary files of cut-short writes are removed")
	mustSet(t, l2, "after.io", mustRule(t, `["empty",{"code":204},false]`))
	require.NoError(t, l2.Close())
	_, table = open(t, dir, Options{})
	assert.Len(t, rulesOf(table), len(want)+1)
	fi, err := os.Stat(filepath.Join(dir, snapName))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}
