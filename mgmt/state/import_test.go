package state

import (
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportLegacy imports the first Mantrid's state file into a table and
// checks it holds what Load reads.
func TestImportLegacy(t *testing.T) {
	snap, err := Load("testdata/legacy.json")
	require.NoError(t, err)
	table := hostmap.New(1)
	b := table.NewBuilder(0)
	stats, err := ImportFile("testdata/legacy.json", b)
	require.NoError(t, err)
	table.Replace(b)
	require.Equal(t, len(snap.Hosts), table.Len())
	for key, r := range snap.Hosts {
		h, ok := table.Get(key)
		require.True(t, ok, "host %s", key)
		assert.True(t, r.Equal(h.Unpack()), "host %s: %s", key, h.Unpack().AppendJSON(nil))
	}
	want := map[string]actions.Counts{}
	for key, c := range snap.Stats {
		want[key] = c
	}
	want[""] = want[UnknownHost]
	delete(want, UnknownHost)
	assert.Equal(t, want, stats, "the unmatched requests' counters come back under \"\"")
}

// TestImportUnknownRule checks that a rule named "unknown" takes the
// "unknown" counters, as in the first Mantrid.
func TestImportUnknownRule(t *testing.T) {
	doc := `{"hosts": {"unknown": ["empty", {"code": 404}, false]}, "stats": {"unknown": {"completed_requests": 3}}}`
	stats, err := Import(doc, hostmap.New(1).NewBuilder(0))
	require.NoError(t, err)
	assert.Equal(t, map[string]actions.Counts{"unknown": {CompletedRequests: 3}}, stats)
}
