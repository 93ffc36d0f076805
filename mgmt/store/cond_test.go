package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stores returns a Local and a Memory store, each over a new table, for
// tests that every Store must pass.
func stores(t *testing.T) map[string]func() (Store, *hostmap.Table) {
	return map[string]func() (Store, *hostmap.Table){
		"local": func() (Store, *hostmap.Table) {
			l, table := open(t, t.TempDir(), Options{})
			return l, table
		},
		"memory": func() (Store, *hostmap.Table) {
			table := hostmap.New(1)
			return NewMemory(table, nil), table
		},
	}
}

// TestConditionalWrites checks each Cond of Set and Delete against a key
// with a rule and one without: the change is made, with a new revision,
// or refused with a *PreconditionError that says what the key had, and
// then nothing changed.
func TestConditionalWrites(t *testing.T) {
	rule := mustRule(t, `["empty",{"code":204},false]`)
	other := mustRule(t, `["empty",{"code":205},false]`)
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, table := mk()
			mustSet(t, s, "a.io", rule)
			rev := mustSet(t, s, "a.io", rule) // above 1: rev-1 is a stale revision, not "no condition"
			tests := []struct {
				name   string
				key    string
				del    bool
				cond   func(rev uint64) Cond // rev: the revision of a.io's rule
				wantOK bool
			}{
				{"set if-match current", "a.io", false, func(rev uint64) Cond { return Cond{IfMatch: rev} }, true},
				{"set if-match stale", "a.io", false, func(rev uint64) Cond { return Cond{IfMatch: rev - 1} }, false},
				{"set if-match future", "a.io", false, func(rev uint64) Cond { return Cond{IfMatch: rev + 100} }, false},
				{"set if-match any, rule", "a.io", false, func(uint64) Cond { return Cond{IfMatch: AnyRev} }, true},
				{"set if-match any, no rule", "b.io", false, func(uint64) Cond { return Cond{IfMatch: AnyRev} }, false},
				{"set if-match, no rule", "b.io", false, func(rev uint64) Cond { return Cond{IfMatch: rev} }, false},
				{"set if-none-match, rule", "a.io", false, func(uint64) Cond { return Cond{IfNoneMatch: true} }, false},
				{"set if-none-match, no rule", "b.io", false, func(uint64) Cond { return Cond{IfNoneMatch: true} }, true},
				{"delete if-match stale", "a.io", true, func(rev uint64) Cond { return Cond{IfMatch: rev - 1} }, false},
				{"delete if-match, no rule", "c.io", true, func(uint64) Cond { return Cond{IfMatch: AnyRev} }, false},
				{"delete if-none-match, rule", "a.io", true, func(uint64) Cond { return Cond{IfNoneMatch: true} }, false},
				{"delete if-match current", "a.io", true, func(rev uint64) Cond { return Cond{IfMatch: rev} }, true},
			}
			for _, tt := range tests {
				// Each case starts from a.io at rev, b.io and c.io without a rule.
				if h, ok := table.Get("a.io"); !ok || h.Rev != rev {
					rev = mustSet(t, s, "a.io", rule)
				}
				for _, k := range []string{"b.io", "c.io"} {
					_, _, err := s.Delete(ctx, k, Cond{})
					require.NoError(t, err)
				}
				before, beforeRevs := rulesOf(table), revsOf(table)
				var got uint64
				var err error
				if tt.del {
					var existed bool
					existed, got, err = s.Delete(ctx, tt.key, tt.cond(rev))
					assert.Equal(t, tt.wantOK, existed, "%s: existed", tt.name)
				} else {
					got, err = s.Set(ctx, tt.key, other, tt.cond(rev))
				}
				if !tt.wantOK {
					var pe *PreconditionError
					require.ErrorAs(t, err, &pe, "%s", tt.name)
					assert.ErrorIs(t, err, ErrPrecondition, "%s", tt.name)
					assert.Equal(t, tt.key, pe.Key, "%s", tt.name)
					h, exists := table.Get(tt.key)
					assert.Equal(t, exists, pe.Exists, "%s: Exists", tt.name)
					assert.Equal(t, h.Rev, pe.Rev, "%s: Rev", tt.name)
					assert.Zero(t, got, "%s: revision of a refused change", tt.name)
					assert.Equal(t, before, rulesOf(table), "%s: nothing changed", tt.name)
					assert.Equal(t, beforeRevs, revsOf(table), "%s: no revision changed", tt.name)
					continue
				}
				require.NoError(t, err, "%s", tt.name)
				assert.Greater(t, got, rev, "%s: a new revision", tt.name)
				h, ok := table.Get(tt.key)
				if tt.del {
					assert.False(t, ok, "%s: deleted", tt.name)
				} else {
					require.True(t, ok, "%s: set", tt.name)
					assert.Equal(t, got, h.Rev, "%s: the rule's revision is the change's", tt.name)
				}
			}
		})
	}
}

// TestConditionalWriteRace has many writers set one key, each with
// If-Match of the revision they all read: exactly one wins, and the others
// get ErrPrecondition naming the winner's revision.
func TestConditionalWriteRace(t *testing.T) {
	const writers = 32
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, table := mk()
			rev := mustSet(t, s, "race.io", mustRule(t, `["empty",{"code":204},false]`))
			for round := range 20 {
				var wg sync.WaitGroup
				revs := make([]uint64, writers)
				errs := make([]error, writers)
				start := make(chan struct{})
				for i := range writers {
					r := mustRule(t, fmt.Sprintf(`["empty",{"code":%d},false]`, 300+i))
					wg.Go(func() {
						<-start
						if i%2 == 0 {
							revs[i], errs[i] = s.Set(ctx, "race.io", r, Cond{IfMatch: rev})
						} else {
							var existed bool
							existed, revs[i], errs[i] = s.Delete(ctx, "race.io", Cond{IfMatch: rev})
							if errs[i] == nil {
								assert.True(t, existed)
							}
						}
					})
				}
				close(start)
				wg.Wait()
				won := -1
				for i, err := range errs {
					if err == nil {
						require.Equal(t, -1, won, "round %d: writers %d and %d both won", round, won, i)
						won = i
						continue
					}
					require.ErrorIs(t, err, ErrPrecondition, "round %d: writer %d", round, i)
				}
				require.NotEqual(t, -1, won, "round %d: nobody won", round)
				h, ok := table.Get("race.io")
				if won%2 == 0 {
					require.True(t, ok)
					assert.Equal(t, revs[won], h.Rev, "round %d: the winner's revision", round)
					assert.Equal(t, fmt.Sprintf(`["empty",{"code":%d},false]`, 300+won), string(h.Unpack().AppendJSON(nil)), "round %d: the winner's rule", round)
				} else {
					assert.False(t, ok, "round %d: the winner deleted it", round)
				}
				rev = mustSet(t, s, "race.io", mustRule(t, `["empty",{"code":204},false]`))
			}
		})
	}
}

// TestVersion1Snapshot opens a store written by a Mantrid whose snapshots
// had no revision per host (testdata/v1-store: a replace of two rules at
// revision 1, then a set at 2 in the journal): its rules load, the
// snapshot's rules at the snapshot's revision, and a new snapshot keeps
// the revisions.
func TestVersion1Snapshot(t *testing.T) {
	dir := copyStore(t, "v1-store")
	data, err := os.ReadFile(filepath.Join(dir, snapName))
	require.NoError(t, err)
	require.Equal(t, uint32(snapVersionNoRevs), uint32(data[8]), "the test data is a version 1 snapshot")

	wantRules := map[string]string{
		"proxy.io":        `["proxy",{"backends":[["10.0.0.1",8000]]},true]`,
		"http://empty.io": `["empty",{"code":204},false]`,
		"static.io":       `["static",{"type":"old"},false]`,
	}
	wantRevs := map[string]uint64{"proxy.io": 1, "http://empty.io": 1, "static.io": 2}
	l, table := open(t, dir, Options{JournalLimit: 1})
	assert.Equal(t, wantRules, rulesOf(table))
	assert.Equal(t, wantRevs, revsOf(table))
	assert.Equal(t, uint64(2), l.Revision())

	// A journal longer than the snapshot makes the store write a new one.
	for range 200 {
		wantRevs["new.io"] = mustSet(t, l, "new.io", mustRule(t, `["empty",{"code":204},false]`))
	}
	assert.Equal(t, uint64(202), wantRevs["new.io"])
	wantRules["new.io"] = `["empty",{"code":204},false]`
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, snapName))
		return err == nil && data[8] == snapVersion && !l.snapping.Load()
	}, 5e9, 1e7, "a version 2 snapshot is written")
	require.NoError(t, l.Close())
	_, table = open(t, dir, Options{})
	assert.Equal(t, wantRules, rulesOf(table))
	assert.Equal(t, wantRevs, revsOf(table), "revisions through a version 2 snapshot")
}

// copyStore copies the store folder testdata/name into a new temporary
// folder and returns it.
func copyStore(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := os.ReadDir(filepath.Join("testdata", name))
	require.NoError(t, err)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata", name, f.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f.Name()), data, 0o644))
	}
	return dir
}

// TestVersion1SeededSnapshot opens a store that a Mantrid without
// per-rule revisions seeded from a state file (testdata/v1-seeded: a
// version 1 snapshot at revision 0): its rules get revision 1, never 0,
// so that their ETag can be matched.
func TestVersion1SeededSnapshot(t *testing.T) {
	l, table := open(t, copyStore(t, "v1-seeded"), Options{})
	assert.Equal(t, map[string]uint64{"seeded.io": 1}, revsOf(table))
	assert.Equal(t, uint64(1), l.Revision(), "the seed is change 1")
	rev, err := l.Set(ctx, "seeded.io", mustRule(t, `["empty",{"code":205},true]`), Cond{IfMatch: 1})
	require.NoError(t, err, "If-Match of the seeded rule's revision")
	assert.Equal(t, uint64(2), rev, "the first change after the seed")
	_, err = l.Set(ctx, "seeded.io", mustRule(t, `["empty",{"code":206},true]`), Cond{IfMatch: 1})
	assert.ErrorIs(t, err, ErrPrecondition, "the seed's ETag after a change")
	require.NoError(t, l.Close())

	_, table = open(t, l.dir, Options{})
	assert.Equal(t, map[string]uint64{"seeded.io": 2}, revsOf(table), "after a restart")
}
