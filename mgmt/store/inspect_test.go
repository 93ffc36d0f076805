package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInspect reads a store that a running process holds (its lock taken,
// a torn record at the journal's end) and checks that it finds what Open
// would, changes no file, and leaves the store usable by its holder.
func TestInspect(t *testing.T) {
	dir := t.TempDir()
	assert.False(t, Exists(dir), "an empty folder")
	assert.False(t, Exists(filepath.Join(dir, "missing")), "a missing folder")

	l, table := open(t, dir, Options{})
	replaceWith(t, l, table, sampleRules)
	mustSet(t, l, "new.io", mustRule(t, `["empty",{"code":204},true]`))
	_, _, err := l.Delete(ctx, "static.io", Cond{})
	require.NoError(t, err)
	_, err = l.SaveStats(true)
	require.NoError(t, err)
	assert.True(t, Exists(dir))

	names, _, err := journalFiles(dir)
	require.NoError(t, err)
	require.NotEmpty(t, names)
	journal := filepath.Join(dir, names[len(names)-1])
	rec := appendRecord(nil, 99, "torn.io", mustRule(t, `["empty",{"code":205},false]`))
	f, err := os.OpenFile(journal, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(rec[:len(rec)-3])
	require.NoError(t, err)
	require.NoError(t, f.Close())
	before := listing(t, dir)

	seen := hostmap.New(1)
	in, err := Inspect(dir, seen)
	require.NoError(t, err, "the lock held by another opener does not stop Inspect")
	assert.Equal(t, rulesOf(table), rulesOf(seen))
	assert.Equal(t, l.Revision(), in.Revision)
	assert.Equal(t, len(rec)-3, in.TornBytes)
	assert.Equal(t, len(names), in.Journals)
	assert.NoError(t, in.StatsErr)
	assert.Equal(t, before, listing(t, dir), "Inspect changed the folder")

	require.NoError(t, os.WriteFile(filepath.Join(dir, statsName), []byte("garbage"), 0o644))
	in, err = Inspect(dir, hostmap.New(1))
	require.NoError(t, err)
	assert.Error(t, in.StatsErr, "a damaged stats file is reported")

	require.NoError(t, os.WriteFile(filepath.Join(dir, snapName), []byte("garbage"), 0o644))
	_, err = Inspect(dir, hostmap.New(1))
	assert.ErrorContains(t, err, snapName, "a damaged snapshot is an error naming it")
}

// listing returns the names and sizes of dir's files.
func listing(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]int64{}
	for _, e := range ents {
		fi, err := e.Info()
		require.NoError(t, err)
		out[e.Name()] = fi.Size()
	}
	return out
}
