package hostmap

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRevisions checks that each rule reports the revision it was last
// set at, through SetRev, a Builder, Replace, Match, Cut and a compaction.
func TestRevisions(t *testing.T) {
	rev := func(m *Table, key string) uint64 {
		t.Helper()
		h, ok := m.Get(key)
		require.True(t, ok, "Get(%q)", key)
		return h.Rev
	}
	m := New(1)
	m.SetRev("a.io", nameRule("a", true), 7)
	m.Set("b.io", nameRule("b", false))
	assert.Equal(t, uint64(7), rev(m, "a.io"), "SetRev")
	assert.Equal(t, uint64(0), rev(m, "b.io"), "Set: no revision in a table never replaced")
	m.SetRev("a.io", nameRule("a2", true), 9)
	assert.Equal(t, uint64(9), rev(m, "a.io"), "SetRev of an existing key")
	h, ok := m.Match([]byte("x.a.io"), false)
	require.True(t, ok, "Match of a subdomain")
	assert.Equal(t, uint64(9), h.Rev, "Match")

	b := m.NewBuilder(3)
	b.Add("a.io", nameRule("a", false))
	b.AddRev("c.io", nameRule("c", false), 5)
	b.SetRev(20)
	cut := b.Cut()
	revs := map[string]uint64{}
	for i := range cut.Len() {
		revs[cut.Key(i)] = cut.Hit(i).Rev
	}
	assert.Equal(t, map[string]uint64{"a.io": 20, "c.io": 5}, revs, "a builder's cut")
	m.Replace(b)
	assert.Equal(t, uint64(20), rev(m, "a.io"), "Replace: the content's revision")
	assert.Equal(t, uint64(5), rev(m, "c.io"), "Replace: a rule's own revision")
	m.Set("d.io", nameRule("d", false))
	assert.Equal(t, uint64(20), rev(m, "d.io"), "Set without a revision after Replace")

	// Setting one key over and over makes garbage until the table compacts.
	rt := m.root.Load()
	for i := 0; m.root.Load() == rt; i++ {
		require.Less(t, i, 1_000_000, "no compaction")
		m.SetRev("e.io", nameRule("e"+strconv.Itoa(i), false), uint64(100+i))
	}
	assert.Equal(t, uint64(20), rev(m, "a.io"), "after compaction: the content's revision")
	assert.Equal(t, uint64(5), rev(m, "c.io"), "after compaction: a rule's own revision")
	last, _ := m.Get("e.io")
	assert.Equal(t, "e"+strconv.Itoa(int(last.Rev-100)), last.Rule.Text(), "after compaction: the last SetRev")
}
