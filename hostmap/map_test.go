package hostmap

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetGetDelete(t *testing.T) {
	m := New[string]()
	assert.Equal(t, 0, m.Len())

	m.Set("ep.io", "one", false)
	v, subs, ok := m.Get("ep.io")
	require.True(t, ok, "Get after Set")
	assert.Equal(t, "one", v)
	assert.False(t, subs)
	assert.Equal(t, 1, m.Len())

	m.Set("ep.io", "two", true)
	v, subs, ok = m.Get("ep.io")
	require.True(t, ok, "Get after replacing Set")
	assert.Equal(t, "two", v, "value after replacing Set")
	assert.True(t, subs, "subdomains after replacing Set")
	assert.Equal(t, 1, m.Len(), "Len after replacing an existing key")

	m.Set("http://ep.io", "http", false)
	m.Set("https://ep.io", "https", false)
	assert.Equal(t, 3, m.Len(), "protocol-qualified keys are distinct keys")
	for key, want := range map[string]string{"ep.io": "two", "http://ep.io": "http", "https://ep.io": "https"} {
		v, _, ok := m.Get(key)
		assert.True(t, ok, "Get(%q)", key)
		assert.Equal(t, want, v, "Get(%q)", key)
	}
	_, _, ok = m.Get("ftp://ep.io")
	assert.False(t, ok, "Get of a key never set")

	old, ok := m.Delete("http://ep.io")
	assert.True(t, ok, "Delete of a present key")
	assert.Equal(t, "http", old, "Delete returns the old value")
	_, _, ok = m.Get("http://ep.io")
	assert.False(t, ok, "Get after Delete")
	_, ok = m.Delete("http://ep.io")
	assert.False(t, ok, "second Delete")
	_, _, ok = m.Get("ep.io")
	assert.True(t, ok, "Delete of the http key must keep the bare one")
	assert.Equal(t, 2, m.Len())

	m.Set("http://ep.io", "again", true)
	v, _, ok = m.Get("http://ep.io")
	assert.True(t, ok, "Set after Delete")
	assert.Equal(t, "again", v)
	assert.Equal(t, 3, m.Len())
}

func TestZeroMap(t *testing.T) {
	var m Map[int]
	_, _, ok := m.Get("ep.io")
	assert.False(t, ok)
	_, ok = m.Delete("ep.io")
	assert.False(t, ok)
	assert.Equal(t, 0, m.Len())
	m.Range(func(string, int, bool) bool { t.Error("Range on a zero Map called fn"); return true })
	m.Set("ep.io", 1, false)
	v, _, ok := m.Get("ep.io")
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	var z Map[int]
	z.Replace(testEntries(3))
	assert.Equal(t, 3, z.Len())
}

func TestReplace(t *testing.T) {
	m := New[int]()
	m.Set("old.io", 1, false)
	m.Set("keep.io", 2, false)
	m.Replace([]Entry[int]{
		{Key: "keep.io", Value: 20, Subdomains: true},
		{Key: "new.io", Value: 3},
		{Key: "http://new.io", Value: 4},
		{Key: "dup.io", Value: 5},
		{Key: "dup.io", Value: 6, Subdomains: true},
	})
	assert.Equal(t, 4, m.Len(), "Len after Replace with one duplicate")
	want := map[string]Entry[int]{
		"keep.io":       {Key: "keep.io", Value: 20, Subdomains: true},
		"new.io":        {Key: "new.io", Value: 3},
		"http://new.io": {Key: "http://new.io", Value: 4},
		"dup.io":        {Key: "dup.io", Value: 6, Subdomains: true},
	}
	assert.Equal(t, want, snapshot(m), "content after Replace (last duplicate wins)")

	m.Set("after.io", 7, false)
	m.Delete("new.io")
	assert.Equal(t, 4, m.Len(), "Set and Delete work on a replaced map")

	m.Replace(nil)
	assert.Equal(t, 0, m.Len(), "Len after Replace(nil)")
	assert.Empty(t, snapshot(m))
	_, _, ok := m.Get("keep.io")
	assert.False(t, ok)
}

func TestRange(t *testing.T) {
	m := New[int]()
	es := testEntries(1000)
	m.Replace(es)
	seen := map[string]int{}
	m.Range(func(key string, v int, subs bool) bool {
		seen[key]++
		assert.Equal(t, es[v].Key, key, "value for %q", key)
		assert.Equal(t, es[v].Subdomains, subs, "subdomains for %q", key)
		return true
	})
	require.Len(t, seen, len(es))
	for key, n := range seen {
		assert.Equal(t, 1, n, "Range visited %q %d times", key, n)
	}
	calls := 0
	m.Range(func(string, int, bool) bool { calls++; return calls < 10 })
	assert.Equal(t, 10, calls, "Range must stop when fn returns false")
}

// TestGrowAndShrink inserts and deletes many keys and checks that tables
// grow with the content and shrink back after it.
func TestGrowAndShrink(t *testing.T) {
	n := 200_000
	if raceEnabled {
		n = 50_000
	}
	m := New[int]()
	for i := range n {
		m.Set(testKey(i), i, false)
	}
	require.Equal(t, n, m.Len())
	slots := m.slotCount()
	assert.LessOrEqual(t, slots, 4*n, "slots for %d keys", n)
	assert.GreaterOrEqual(t, slots*maxLoadNum, n*maxLoadDen, "load above the maximum")
	for i := range n {
		v, _, ok := m.Get(testKey(i))
		require.True(t, ok, "Get(%q) after growth", testKey(i))
		require.Equal(t, i, v)
	}
	for i := range n {
		_, ok := m.Delete(testKey(i))
		require.True(t, ok, "Delete(%q)", testKey(i))
	}
	assert.Equal(t, 0, m.Len())
	assert.LessOrEqual(t, m.slotCount(), numShards*minSlots*2, "tables must shrink when emptied")
}

// TestChurnBoundsMemory deletes and inserts distinct keys while the live
// count stays the same: tombstones must not grow the tables without bound.
// Without cleanup every shard would gain rounds/numShards tombstones.
func TestChurnBoundsMemory(t *testing.T) {
	const live = 5000
	rounds := 300_000
	if raceEnabled {
		rounds = 100_000
	}
	m := New[int]()
	for i := range live {
		m.Set(testKey(i), i, false)
	}
	initial, maxSlots := m.slotCount(), 0
	for i := live; i < live+rounds; i++ {
		_, ok := m.Delete(testKey(i - live))
		require.True(t, ok)
		m.Set(testKey(i), i, false)
		if i%500 == 0 {
			maxSlots = max(maxSlots, m.slotCount())
		}
	}
	assert.Equal(t, live, m.Len())
	assert.LessOrEqual(t, maxSlots, 2*initial, "slots under churn of %d rounds with %d live keys; %d slots before", rounds, live, initial)
	t.Logf("%d live keys: %d slots before churn, at most %d during", live, initial, maxSlots)
	for i := rounds; i < live+rounds; i++ {
		_, _, ok := m.Get(testKey(i))
		require.True(t, ok, "Get(%q) after churn", testKey(i))
	}
}

// TestModel runs random interleaved operations against Map and a plain Go
// map and compares every answer. A small key space makes hash-table paths
// (tombstone reuse, rebuilds, shrinking, duplicates) frequent.
func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := New[int]()
	model := map[string]Entry[int]{}
	keys := modelKeys(400)
	ops := 200_000
	if raceEnabled {
		ops = 20_000
	}
	for step := range ops {
		key := keys[rng.IntN(len(keys))]
		switch op := rng.IntN(100); {
		case op < 45:
			e := Entry[int]{Key: key, Value: step, Subdomains: rng.IntN(2) == 0}
			m.Set(key, e.Value, e.Subdomains)
			model[key] = e
		case op < 80:
			old, ok := m.Delete(key)
			want, wantOK := model[key]
			require.Equal(t, wantOK, ok, "step %d: Delete(%q) ok", step, key)
			require.Equal(t, want.Value, old, "step %d: Delete(%q) value", step, key)
			delete(model, key)
		case op < 99:
			checkGetAndMatch(t, m, model, keys[rng.IntN(len(keys))], rng.IntN(2) == 0, step)
		default:
			model = modelReplace(rng, m, keys)
		}
		require.Equal(t, len(model), m.Len(), "step %d: Len", step)
		if step%5000 == 0 {
			require.Equal(t, model, snapshot(m), "step %d: Range content", step)
		}
	}
	require.Equal(t, model, snapshot(m), "final content")
}

// modelKeys returns n keys over a few hostnames in all three kinds, with
// shared suffixes so that Match walks find many candidates.
func modelKeys(n int) []string {
	keys := make([]string, 0, n)
	for i := 0; len(keys) < n; i++ {
		host := "h" + strconv.Itoa(i%50) + ".d" + strconv.Itoa(i%7) + ".io"
		if i%5 == 0 {
			host = "d" + strconv.Itoa(i%7) + ".io"
		}
		keys = append(keys, []string{host, "http://" + host, "https://" + host}[i%3])
	}
	return keys
}

func checkGetAndMatch(t *testing.T, m *Map[int], model map[string]Entry[int], key string, https bool, step int) {
	t.Helper()
	v, subs, ok := m.Get(key)
	want, wantOK := model[key]
	require.Equal(t, wantOK, ok, "step %d: Get(%q) ok", step, key)
	require.Equal(t, want.Value, v, "step %d: Get(%q) value", step, key)
	require.Equal(t, want.Subdomains, subs, "step %d: Get(%q) subdomains", step, key)
	_, host := splitKey(key)
	for _, h := range []string{host, "x." + host, "y.x." + host} {
		wantKey, wantOK := modelMatch(model, h, https)
		gotV, gotKey, gotOK := m.Match([]byte(h), https)
		require.Equal(t, wantOK, gotOK, "step %d: Match(%q, https=%v) ok; want key %q, got %q", step, h, https, wantKey, gotKey)
		require.Equal(t, wantKey, gotKey, "step %d: Match(%q, https=%v) key", step, h, https)
		require.Equal(t, model[wantKey].Value, gotV, "step %d: Match(%q) value", step, h)
	}
}

func modelReplace(rng *rand.Rand, m *Map[int], keys []string) map[string]Entry[int] {
	model := map[string]Entry[int]{}
	es := make([]Entry[int], rng.IntN(len(keys)))
	for i := range es {
		es[i] = Entry[int]{Key: keys[rng.IntN(len(keys))], Value: -i, Subdomains: rng.IntN(2) == 0}
		model[es[i].Key] = es[i]
	}
	m.Replace(es)
	return model
}
