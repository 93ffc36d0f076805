package mgmt

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewStoreFromSnapshot(t *testing.T) {
	spin := mustRule(t, `["spin",{},true]`)
	snap := &state.Snapshot{
		Hosts: map[string]*actions.Rule{"ep.io": spin, "localhost": mustRule(t, `["empty",{"code":402},false]`),
			"bad key": spin, "nil.io": nil},
		Stats: map[string]actions.Counts{
			"ep.io":   {OpenRequests: 4, CompletedRequests: 5, BytesSent: 6, BytesReceived: 7},
			"unknown": {OpenRequests: 1, CompletedRequests: 2},
			"gone.io": {CompletedRequests: 9},
		},
	}
	s := NewStore(4, snap, nil)
	assert.Equal(t, 2, s.Hosts().Len(), "invalid key and nil rule left out")
	h, subs, ok := s.Hosts().Get("ep.io")
	require.True(t, ok)
	assert.True(t, subs, "subdomains flag in the map")
	assert.Same(t, spin, h.Rule)
	assert.Equal(t, "ep.io", h.Name)
	assert.Equal(t, actions.Counts{CompletedRequests: 5, BytesSent: 6, BytesReceived: 7}, h.Stats.Snapshot(),
		"stats start from the file, open_requests reset")
	assert.Equal(t, actions.Counts{CompletedRequests: 2}, s.Unknown().Snapshot())
	_, ok = s.Stats("gone.io")
	assert.False(t, ok, "stats without a rule are dropped")

	empty := NewStore(0, nil, nil)
	assert.Equal(t, 0, empty.Hosts().Len())
	assert.Equal(t, actions.Counts{}, empty.Unknown().Snapshot())
	empty.Unknown().Slot(0).Begin(1) // one slot even for loops = 0
}

func TestNewStoreRuleNamedUnknown(t *testing.T) {
	snap := &state.Snapshot{
		Hosts: map[string]*actions.Rule{"unknown": mustRule(t, `["spin",{},false]`)},
		Stats: map[string]actions.Counts{"unknown": {CompletedRequests: 2}},
	}
	s := NewStore(1, snap, nil)
	c, ok := s.Stats("unknown")
	require.True(t, ok)
	assert.Equal(t, actions.Counts{CompletedRequests: 2}, c, "the rule takes the stored counters")
	assert.Equal(t, actions.Counts{}, s.Unknown().Snapshot(), "unmatched counters not counted twice")
}

func TestStoreSetKeepsStats(t *testing.T) {
	var ch changes
	s := NewStore(2, nil, ch.record)
	r1 := mustRule(t, `["spin",{},true]`)
	r2 := mustRule(t, `["empty",{"code":200},false]`)
	require.NoError(t, s.Set("EP.io.", r1))
	h1, subs, ok := s.Hosts().Get("ep.io")
	require.True(t, ok, "key normalised")
	assert.True(t, subs)
	h1.Stats.Slot(1).Begin(10)
	h1.Stats.Slot(1).End(true)

	require.NoError(t, s.Set("ep.io", r2))
	h2, subs, _ := s.Hosts().Get("ep.io")
	assert.False(t, subs, "subdomains flag follows the rule")
	assert.Same(t, h1.Stats, h2.Stats, "stats stay when the rule is replaced")
	assert.NotSame(t, h1, h2, "a new Host is published")
	got, ok := s.Get("Ep.Io")
	require.True(t, ok)
	assert.Same(t, r2, got)
	c, _ := s.Stats("ep.io")
	assert.Equal(t, actions.Counts{CompletedRequests: 1, BytesReceived: 10}, c)

	assert.True(t, s.Delete("ep.io."))
	assert.False(t, s.Delete("ep.io"), "second delete")
	require.NoError(t, s.Set("ep.io", r1))
	h3, _, _ := s.Hosts().Get("ep.io")
	assert.NotSame(t, h1.Stats, h3.Stats, "stats go with a deleted rule")
	assert.Equal(t, actions.Counts{}, h3.Stats.Snapshot())
	assert.Equal(t, []string{"ep.io", "ep.io", "ep.io", "ep.io"}, ch.get(), "onChange: set, set, delete, set; not the no-op delete")
}

func TestStoreSetErrors(t *testing.T) {
	var ch changes
	s := NewStore(1, nil, ch.record)
	assert.ErrorIs(t, s.Set("ep.io", nil), ErrNilRule)
	for _, key := range []string{"", "a b", "ep.io:80", "ep.io/x", "a..b", "\x00"} {
		assert.ErrorIs(t, s.Set(key, mustRule(t, `["spin",{},true]`)), hostmap.ErrBadKey, "key %q", key)
		assert.False(t, s.Delete(key), "key %q", key)
		_, ok := s.Get(key)
		assert.False(t, ok, "key %q", key)
		_, ok = s.Stats(key)
		assert.False(t, ok, "key %q", key)
	}
	assert.Equal(t, 0, s.Hosts().Len())
	assert.Empty(t, ch.get(), "no change, no onChange")
}

func TestStoreReplace(t *testing.T) {
	var ch changes
	s := NewStore(1, nil, ch.record)
	a, b := mustRule(t, `["spin",{},true]`), mustRule(t, `["empty",{"code":204},false]`)
	require.NoError(t, s.Set("stay.io", a))
	require.NoError(t, s.Set("go.io", a))
	stay, _, _ := s.Hosts().Get("stay.io")
	stay.Stats.Slot(0).Begin(5)

	require.NoError(t, s.Replace(map[string]*actions.Rule{"STAY.io": b, "new.io": a, "http://new.io": b}))
	assert.Equal(t, map[string]*actions.Rule{"stay.io": b, "new.io": a, "http://new.io": b}, s.Rules())
	h, _, _ := s.Hosts().Get("stay.io")
	assert.Same(t, stay.Stats, h.Stats, "a host that stays keeps its stats")
	_, ok := s.Stats("go.io")
	assert.False(t, ok, "a removed host's stats go")
	assert.Equal(t, "", ch.get()[len(ch.get())-1], `onChange("") after Replace`)

	before := s.Rules()
	n := len(ch.get())
	for name, rules := range map[string]map[string]*actions.Rule{
		"nil rule":  {"x.io": a, "y.io": nil},
		"bad key":   {"x.io": a, "y io": a},
		"duplicate": {"x.io": a, "X.IO.": b},
	} {
		assert.Error(t, s.Replace(rules), name)
		assert.Equal(t, before, s.Rules(), "%s: rules changed", name)
	}
	assert.ErrorIs(t, s.Replace(map[string]*actions.Rule{"x.io": a, "X.io": b}), ErrDuplicateKey)
	assert.Len(t, ch.get(), n, "failed Replace calls onChange")

	require.NoError(t, s.Replace(nil))
	assert.Equal(t, 0, s.Hosts().Len(), "replace with nothing empties the table")
}

func TestStoreAllStatsAndSnapshot(t *testing.T) {
	s := NewStore(2, nil, nil)
	r := mustRule(t, `["spin",{},true]`)
	require.NoError(t, s.Set("a.io", r))
	require.NoError(t, s.Set("b.io", r))
	h, _, _ := s.Hosts().Get("a.io")
	h.Stats.Slot(0).Begin(3)
	h.Stats.Slot(1).Begin(4)
	h.Stats.Slot(1).Sent(9)
	h.Stats.Slot(1).End(true)
	s.Unknown().Slot(1).Begin(1)

	want := map[string]actions.Counts{
		"a.io":    {OpenRequests: 1, CompletedRequests: 1, BytesSent: 9, BytesReceived: 7},
		"b.io":    {},
		"unknown": {OpenRequests: 1, BytesReceived: 1},
	}
	assert.Equal(t, want, s.AllStats())
	snap := s.Snapshot()
	assert.Equal(t, want, snap.Stats, "open_requests as counted")
	assert.Equal(t, map[string]*actions.Rule{"a.io": r, "b.io": r}, snap.Hosts)
	c, ok := s.Stats("unknown")
	assert.True(t, ok)
	assert.Equal(t, want["unknown"], c)
}

// TestStoreConcurrent runs writers against lock-free readers, as the event
// loops read, under the race detector: a reader sees a whole Host whose
// Name is the key it asked for.
func TestStoreConcurrent(t *testing.T) {
	var calls atomic.Int64
	s := NewStore(2, nil, func(string) { calls.Add(1) })
	rules := []*actions.Rule{mustRule(t, `["spin",{},true]`), mustRule(t, `["empty",{"code":200},false]`)}
	keys := []string{"a.io", "b.io", "c.io", "http://a.io"}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, k := range keys {
					if h, _, ok := s.Hosts().Get(k); ok && h.Name != k {
						t.Errorf("Get(%q) returned host %q", k, h.Name)
					}
				}
				s.AllStats()
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			for i := range 300 {
				k := keys[(w+i)%len(keys)]
				switch i % 4 {
				case 0, 1:
					assert.NoError(t, s.Set(k, rules[i%2]))
				case 2:
					s.Delete(k)
				default:
					assert.NoError(t, s.Replace(map[string]*actions.Rule{k: rules[0], "c.io": rules[1]}))
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	assert.Positive(t, calls.Load())
}

func TestDuplicateKey(t *testing.T) {
	for _, tt := range []struct {
		keys []string
		dup  string
	}{
		{nil, ""},
		{[]string{"a"}, ""},
		{[]string{"a", "b", "c"}, ""},
		{[]string{"a", "b", "a"}, "a"},
		{[]string{"c", "b", "b", "c"}, "b"},
	} {
		list := make([]named, len(tt.keys))
		for i, k := range tt.keys {
			list[i].key = k
		}
		dup, ok := duplicateKey(list)
		assert.Equal(t, tt.dup != "", ok, "keys %q", tt.keys)
		assert.Equal(t, tt.dup, dup, "keys %q", tt.keys)
	}
}
