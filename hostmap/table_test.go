package hostmap

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetGetDelete(t *testing.T) {
	m := New(1)
	assert.Equal(t, 0, m.Len())

	assert.True(t, m.Set("ep.io", nameRule("one", false)), "Set of a new key")
	v, ok := m.Get("ep.io")
	require.True(t, ok, "Get after Set")
	assert.Equal(t, "one", v.Rule.Text())
	assert.False(t, v.Subdomains)
	assert.Equal(t, "ep.io", v.Key())
	assert.Equal(t, 1, m.Len())
	stat := v.Stat

	assert.False(t, m.Set("ep.io", nameRule("two", true)), "Set of an existing key")
	v, ok = m.Get("ep.io")
	require.True(t, ok, "Get after replacing Set")
	assert.Equal(t, "two", v.Rule.Text(), "value after replacing Set")
	assert.True(t, v.Subdomains, "subdomains after replacing Set")
	assert.Equal(t, stat, v.Stat, "a replaced rule keeps its stat id")
	assert.Equal(t, 1, m.Len(), "Len after replacing an existing key")

	m.Set("http://ep.io", nameRule("http", false))
	m.Set("https://ep.io", nameRule("https", false))
	assert.Equal(t, 3, m.Len(), "protocol-qualified keys are distinct keys")
	stats := map[uint32]bool{}
	for key, want := range map[string]string{"ep.io": "two", "http://ep.io": "http", "https://ep.io": "https"} {
		v, ok := m.Get(key)
		assert.True(t, ok, "Get(%q)", key)
		assert.Equal(t, want, v.Rule.Text(), "Get(%q)", key)
		assert.Equal(t, key, v.Key(), "Get(%q).Key", key)
		stats[v.Stat] = true
	}
	assert.Len(t, stats, 3, "every key has its own stat id")
	assert.NotContains(t, stats, uint32(0), "stat id 0 is the unmatched requests'")
	_, ok = m.Get("ftp://ep.io")
	assert.False(t, ok, "Get of a key never set")

	assert.True(t, m.Delete("http://ep.io"), "Delete of a present key")
	_, ok = m.Get("http://ep.io")
	assert.False(t, ok, "Get after Delete")
	assert.False(t, m.Delete("http://ep.io"), "second Delete")
	_, ok = m.Get("ep.io")
	assert.True(t, ok, "Delete of the http key must keep the bare one")
	assert.Equal(t, 2, m.Len())

	m.Set("http://ep.io", nameRule("again", true))
	v, ok = m.Get("http://ep.io")
	assert.True(t, ok, "Set after Delete")
	assert.Equal(t, "again", v.Rule.Text())
	assert.Equal(t, 3, m.Len())
}

// TestRulesRoundTrip stores every kind of rule and checks that what a
// lookup unpacks is Equal to what was stored, through Set, a Builder and a
// compaction.
func TestRulesRoundTrip(t *testing.T) {
	rules := map[string]string{
		"proxy.io":    `["proxy",{"backends":[["10.0.0.1",8000],"[::1]:80",["backend.internal",9]],"attempts":3,"delay":0.25},true]`,
		"proxy2.io":   `["proxy",{"backends":["10.0.0.1:8000"]},false]`,
		"spin.io":     `["spin",{"timeout":60.5},true]`,
		"spin2.io":    `["spin",{"check_interval":0.1,"timeout":1},false]`,
		"redirect.io": `["redirect",{"redirect_to":"https://ep.io/x"},true]`,
		"static.io":   `["static",{"type":"test"},false]`,
		"empty.io":    `["empty",{"code":402},false]`,
		"none.io":     `["no_hosts",{},false]`,
		"unknown.io":  `["unknown",{},true]`,
	}
	parsed := map[string]*actions.Rule{}
	for key, js := range rules {
		r, err := actions.ParseRule([]byte(js))
		require.NoError(t, err, js)
		parsed[key] = r
	}
	check := func(how string, m *Table) {
		for key, want := range parsed {
			h, ok := m.Get(key)
			require.True(t, ok, "%s: Get(%q)", how, key)
			got := h.Unpack()
			assert.True(t, want.Equal(got), "%s: %q: got %s, want %s", how, key, got.AppendJSON(nil), want.AppendJSON(nil))
			var into actions.Rule
			h.UnpackInto(&into)
			assert.Equal(t, string(want.AppendJSON(nil)), string(into.AppendJSON(nil)), "%s: %q UnpackInto", how, key)
		}
	}
	m := New(1)
	for key, r := range parsed {
		m.Set(key, r)
	}
	check("Set", m)
	h, _ := m.Get("proxy.io")
	assert.Equal(t, "[::1]:80", h.BackendAddr(1))

	m2 := New(1)
	b := m2.NewBuilder(0)
	for key, r := range parsed {
		b.Add(key, r)
	}
	b.Add("proxy.io", parsed["proxy2.io"])
	b.Add("dup.io", parsed["spin.io"])
	b.Add("dup.io", parsed["spin.io"])
	err := b.Finish()
	assert.ErrorIs(t, err, ErrDuplicateKey)
	var de *DuplicateKeyError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "proxy.io", de.Key, "the duplicate whose second appearance comes first")
	assert.Equal(t, len(parsed), de.Index)
	assert.Equal(t, []int{len(parsed), len(parsed) + 2}, b.Duplicates(), "every later appearance, in the order added")
	m2.Replace(b)
	check("Replace", m2)
	assert.Equal(t, len(parsed)+1, m2.Len(), "a key given twice keeps its first rule")

	m2.mu.Lock()
	m2.root.Load().garbage = compactMin + m2.root.Load().arena.size
	m2.compactIfWasteful(m2.root.Load())
	m2.mu.Unlock()
	check("compaction", m2)
}

func TestReplace(t *testing.T) {
	m := New(1)
	m.Set("old.io", intRule(1, false))
	m.Set("keep.io", intRule(2, false))
	keep, _ := m.Get("keep.io")
	replaceInts(m, []testEntry{
		{Key: "keep.io", Value: 20, Subdomains: true},
		{Key: "new.io", Value: 3},
		{Key: "http://new.io", Value: 4},
		{Key: "dup.io", Value: 5},
		{Key: "dup.io", Value: 6, Subdomains: true},
	})
	assert.Equal(t, 4, m.Len(), "Len after Replace with one duplicate")
	want := map[string]testEntry{
		"keep.io":       {Key: "keep.io", Value: 20, Subdomains: true},
		"new.io":        {Key: "new.io", Value: 3},
		"http://new.io": {Key: "http://new.io", Value: 4},
		"dup.io":        {Key: "dup.io", Value: 6, Subdomains: true},
	}
	assert.Equal(t, want, snapshot(t, m), "content after Replace (last duplicate wins)")
	kept, _ := m.Get("keep.io")
	assert.Equal(t, keep.Stat, kept.Stat, "a key in both contents keeps its stat id")

	m.Set("after.io", intRule(7, false))
	m.Delete("new.io")
	assert.Equal(t, 4, m.Len(), "Set and Delete work on a replaced table")

	m.Replace(m.NewBuilder(0))
	assert.Equal(t, 0, m.Len(), "Len after an empty Replace")
	assert.Empty(t, snapshot(t, m))
	_, ok := m.Get("keep.io")
	assert.False(t, ok)
}

func TestRangeAndCut(t *testing.T) {
	m := New(1)
	es := testEntries(1000)
	replaceInts(m, es)
	seen := map[string]int{}
	m.Range(func(key string, h Hit) bool {
		seen[key]++
		v := intOf(t, h)
		assert.Equal(t, es[v].Key, key, "value for %q", key)
		assert.Equal(t, es[v].Subdomains, h.Subdomains, "subdomains for %q", key)
		return true
	})
	require.Len(t, seen, len(es))
	for key, n := range seen {
		assert.Equal(t, 1, n, "Range visited %q %d times", key, n)
	}
	calls := 0
	m.Range(func(string, Hit) bool { calls++; return calls < 10 })
	assert.Equal(t, 10, calls, "Range must stop when fn returns false")

	cut := m.Cut()
	m.Set(testKey(1), intRule(-1, false))
	m.Delete(testKey(2))
	m.Replace(m.NewBuilder(0))
	require.Equal(t, len(es), cut.Len(), "a cut keeps its content whatever the table does")
	for i := range cut.Len() {
		h := cut.Hit(i)
		assert.Equal(t, es[intOf(t, h)].Key, cut.Key(i))
	}
}

// TestGrowAndShrink inserts and deletes many keys and checks that shards
// grow with the content and shrink back after it.
func TestGrowAndShrink(t *testing.T) {
	n := 200_000
	if raceEnabled {
		n = 50_000
	}
	m := New(1)
	for i := range n {
		m.Set(testKey(i), intRule(i, false))
	}
	require.Equal(t, n, m.Len())
	slots := m.slotCount()
	assert.LessOrEqual(t, slots, 4*n, "slots for %d keys", n)
	assert.GreaterOrEqual(t, slots*maxLoadNum, n*maxLoadDen, "load above the maximum")
	for i := range n {
		v, _, ok := getInt(t, m, testKey(i))
		require.True(t, ok, "Get(%q) after growth", testKey(i))
		require.Equal(t, i, v)
	}
	for i := range n {
		require.True(t, m.Delete(testKey(i)), "Delete(%q)", testKey(i))
	}
	assert.Equal(t, 0, m.Len())
	assert.LessOrEqual(t, m.slotCount(), numShards*minSlots*2, "shards must shrink when emptied")
}

// TestChurnBoundsMemory deletes and inserts distinct keys, and sets rules
// again, while the live count stays the same: neither tombstones nor
// replaced rules may grow the table without bound.
func TestChurnBoundsMemory(t *testing.T) {
	const live = 5000
	rounds := 300_000
	if raceEnabled {
		rounds = 100_000
	}
	m := New(1)
	for i := range live {
		m.Set(testKey(i), intRule(i, false))
	}
	initial, maxSlots, maxArena := m.slotCount(), 0, int64(0)
	for i := live; i < live+rounds; i++ {
		require.True(t, m.Delete(testKey(i-live)))
		m.Set(testKey(i), intRule(i, false))
		m.Set(testKey(i), intRule(i+1, false))
		if i%500 == 0 {
			maxSlots = max(maxSlots, m.slotCount())
			maxArena = max(maxArena, m.root.Load().arena.size)
		}
	}
	assert.Equal(t, live, m.Len())
	assert.LessOrEqual(t, maxSlots, 2*initial, "slots under churn of %d rounds with %d live keys; %d slots before", rounds, live, initial)
	assert.LessOrEqual(t, maxArena, int64(2*compactMin+live*200), "arena bytes under churn")
	t.Logf("%d live keys: %d slots before churn, at most %d during; arena at most %d bytes", live, initial, maxSlots, maxArena)
	for i := rounds; i < live+rounds; i++ {
		v, _, ok := getInt(t, m, testKey(i))
		require.True(t, ok, "Get(%q) after churn", testKey(i))
		require.Equal(t, i+1, v)
	}
}

// TestModel runs random interleaved operations against Table and a plain
// Go map and compares every answer. A small key space makes hash-table
// paths (rebuilds, shrinking, duplicates) frequent.
func TestModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := New(1)
	model := map[string]testEntry{}
	keys := modelKeys(400)
	ops := 200_000
	if raceEnabled {
		ops = 20_000
	}
	for step := range ops {
		key := keys[rng.IntN(len(keys))]
		switch op := rng.IntN(100); {
		case op < 45:
			e := testEntry{Key: key, Value: step, Subdomains: rng.IntN(2) == 0}
			_, existed := model[key]
			require.Equal(t, !existed, m.Set(key, intRule(e.Value, e.Subdomains)), "step %d: Set(%q) created", step, key)
			model[key] = e
		case op < 80:
			_, wantOK := model[key]
			require.Equal(t, wantOK, m.Delete(key), "step %d: Delete(%q) ok", step, key)
			delete(model, key)
		case op < 99:
			checkGetAndMatch(t, m, model, keys[rng.IntN(len(keys))], rng.IntN(2) == 0, step)
		default:
			model = modelReplace(rng, m, keys)
		}
		require.Equal(t, len(model), m.Len(), "step %d: Len", step)
		if step%5000 == 0 {
			require.Equal(t, model, snapshot(t, m), "step %d: Range content", step)
		}
	}
	require.Equal(t, model, snapshot(t, m), "final content")
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

func checkGetAndMatch(t *testing.T, m *Table, model map[string]testEntry, key string, https bool, step int) {
	t.Helper()
	v, subs, ok := getInt(t, m, key)
	want, wantOK := model[key]
	require.Equal(t, wantOK, ok, "step %d: Get(%q) ok", step, key)
	require.Equal(t, want.Value, v, "step %d: Get(%q) value", step, key)
	require.Equal(t, want.Subdomains, subs, "step %d: Get(%q) subdomains", step, key)
	_, host := splitKey(key)
	for _, h := range []string{host, "x." + host, "y.x." + host} {
		wantKey, wantOK := modelMatch(model, h, https)
		got, gotOK := m.Match([]byte(h), https)
		require.Equal(t, wantOK, gotOK, "step %d: Match(%q, https=%v) ok; want key %q", step, h, https, wantKey)
		if gotOK {
			require.Equal(t, wantKey, got.Key(), "step %d: Match(%q, https=%v) key", step, h, https)
			require.Equal(t, model[wantKey].Value, intOf(t, got), "step %d: Match(%q) value", step, h)
		}
	}
}

func modelReplace(rng *rand.Rand, m *Table, keys []string) map[string]testEntry {
	model := map[string]testEntry{}
	es := make([]testEntry, rng.IntN(len(keys)))
	for i := range es {
		es[i] = testEntry{Key: keys[rng.IntN(len(keys))], Value: -i, Subdomains: rng.IntN(2) == 0}
		model[es[i].Key] = es[i]
	}
	replaceInts(m, es)
	return model
}

// TestLoadOrdered loads a cut's keys into a fresh builder shard by shard,
// as a store reloads its snapshot, and checks the result and the refusals.
func TestLoadOrdered(t *testing.T) {
	src := New(1)
	replaceInts(src, testEntries(5000))
	src.Set("http://"+testKey(1), intRule(-1, true))
	cut := src.Cut()
	load := func(b *Builder, skip int) error {
		addrs := make([][]byte, cut.Backends())
		for id := range cut.Backends() {
			addrs[id] = []byte(cut.BackendAddr(id))
		}
		if err := b.LoadBackends(len(addrs), func(i int) []byte { return addrs[i] }); err != nil {
			return err
		}
		if err := b.StartOrdered(cut.ShardSizes()); err != nil {
			return err
		}
		for i := range cut.Len() {
			if i == skip {
				continue
			}
			h := cut.Hit(i)
			if err := b.AddOrdered([]byte(cut.Key(i)), h.Rule, h.Subdomains, h.Rev); err != nil {
				return err
			}
		}
		return b.Finish()
	}
	dst := New(1)
	b := dst.NewBuilder(0)
	require.NoError(t, load(b, -1))
	dst.Replace(b)
	assert.Equal(t, snapshot(t, src), snapshot(t, dst))

	b = New(1).NewBuilder(0)
	require.NoError(t, b.StartOrdered(cut.ShardSizes()))
	h0 := cut.Hit(0)
	require.NoError(t, b.AddOrdered([]byte(cut.Key(0)), h0.Rule, h0.Subdomains, 0))
	var de *DuplicateKeyError
	assert.ErrorAs(t, b.AddOrdered([]byte(cut.Key(0)), h0.Rule, h0.Subdomains, 0), &de, "a key given twice")
	last := cut.Len() - 1
	hl := cut.Hit(last)
	require.NoError(t, b.AddOrdered([]byte(cut.Key(last)), hl.Rule, hl.Subdomains, 0))
	assert.ErrorIs(t, b.AddOrdered([]byte(cut.Key(1)), cut.Hit(1).Rule, false, 0), ErrNotOrdered, "a key of an earlier shard")

	b = New(1).NewBuilder(0)
	b.Add("a.io", intRule(1, false))
	assert.ErrorIs(t, b.LoadBackends(0, nil), ErrNotFresh)
	assert.ErrorIs(t, b.StartOrdered(cut.ShardSizes()), ErrNotFresh)
}
