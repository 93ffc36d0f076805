package hostmap

import (
	"strconv"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/stretchr/testify/require"
)

// The tests store an integer (or a name) in each rule: a static rule whose
// type spells it, so a lookup can tell one rule from another.

// testKey returns the i-th distinct generated hostname, shaped like a
// platform's customer hostnames.
func testKey(i int) string {
	return "app" + strconv.Itoa(i) + ".customer" + strconv.Itoa(i%997) + ".ep.io"
}

// testEntry is one key with its test value.
type testEntry struct {
	Key        string
	Value      int
	Subdomains bool
}

// testEntries returns n entries with keys testKey(0..n-1), value i and
// subdomains set on every other key.
func testEntries(n int) []testEntry {
	es := make([]testEntry, n)
	for i := range es {
		es[i] = testEntry{Key: testKey(i), Value: i, Subdomains: i%2 == 0}
	}
	return es
}

// nameRule returns a static rule whose type is name.
func nameRule(name string, subs bool) *actions.Rule {
	r, err := actions.ParseRuleValue([]any{"static", map[string]any{"type": name}, subs})
	if err != nil {
		panic(err)
	}
	return r
}

// intRule returns a static rule that holds v.
func intRule(v int, subs bool) *actions.Rule {
	if v < 0 {
		return nameRule("n"+strconv.Itoa(-v), subs)
	}
	return nameRule("v"+strconv.Itoa(v), subs)
}

// intOf returns the value intRule stored in h.
func intOf(t testing.TB, h Hit) int {
	t.Helper()
	s := h.Rule.Text()
	n, err := strconv.Atoi(s[1:])
	require.NoError(t, err, "rule type %q", s)
	if strings.HasPrefix(s, "n") {
		return -n
	}
	return n
}

// getInt returns key's value and subdomains flag.
func getInt(t testing.TB, m *Table, key string) (int, bool, bool) {
	t.Helper()
	h, ok := m.Get(key)
	if !ok {
		return 0, false, false
	}
	return intOf(t, h), h.Subdomains, true
}

// replaceInts replaces m's content with es; the last of equal keys wins.
func replaceInts(m *Table, es []testEntry) {
	last := map[string]int{}
	for i, e := range es {
		last[e.Key] = i
	}
	b := m.NewBuilder(len(last))
	for i, e := range es {
		if last[e.Key] != i {
			continue
		}
		b.Add(e.Key, intRule(e.Value, e.Subdomains))
	}
	m.Replace(b)
}

// slotCount returns the number of slots in all of m's shards.
func (t *Table) slotCount() int {
	r := t.root.Load()
	n := 0
	for si := range r.shards {
		if sh := r.shards[si].Load(); sh != nil {
			n += len(sh.slots)
		}
	}
	return n
}

// snapshot returns m's content as a plain map, read through Range.
func snapshot(t testing.TB, m *Table) map[string]testEntry {
	out := map[string]testEntry{}
	m.Range(func(key string, h Hit) bool {
		out[key] = testEntry{Key: key, Value: intOf(t, h), Subdomains: h.Subdomains}
		return true
	})
	return out
}

// modelMatch is SPEC §3 written as plainly as possible over a Go map: the
// reference that Table.Match is checked against.
func modelMatch(model map[string]testEntry, host string, https bool) (string, bool) {
	proto := "http://"
	if https {
		proto = "https://"
	}
	exact := true
	for s := host; ; exact = false {
		for _, key := range []string{proto + s, s} {
			if e, ok := model[key]; ok && (exact || e.Subdomains) {
				return key, true
			}
		}
		if exact && isIPLiteral([]byte(host)) {
			return "", false
		}
		dot := strings.IndexByte(s, '.')
		if dot < 0 {
			return "", false
		}
		s = s[dot+1:]
	}
}
