package hostmap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type matchCase struct {
	name    string
	host    string
	https   bool
	wantKey string // "" means no match
}

func runMatchCases(t *testing.T, m *Table, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := m.Match([]byte(tc.host), tc.https)
			key := ""
			if ok {
				key = h.Key()
			}
			if tc.wantKey == "" {
				assert.False(t, ok, "Match(%q, https=%v) = %q, want no match", tc.host, tc.https, key)
				return
			}
			assert.True(t, ok, "Match(%q, https=%v): no match, want %q", tc.host, tc.https, tc.wantKey)
			assert.Equal(t, tc.wantKey, key, "Match(%q, https=%v)", tc.host, tc.https)
		})
	}
}

// TestMatchSpecExamples holds the examples of SPEC §3 verbatim.
func TestMatchSpecExamples(t *testing.T) {
	m := New(1)
	m.Set("localhost", nameRule("empty402", false))
	m.Set("local.ep.io", nameRule("spin", true))
	m.Set("http://ep.io", nameRule("redirect", true))
	m.Set("ep.io", nameRule("proxy", true))
	runMatchCases(t, m, []matchCase{
		{"localhost is empty", "localhost", false, "localhost"},
		{"sub.localhost is unknown", "sub.localhost", false, ""},
		{"local.ep.io is spin", "local.ep.io", false, "local.ep.io"},
		{"multi.level.sub.local.ep.io is spin", "multi.level.sub.local.ep.io", false, "local.ep.io"},
		{"ep.io over http is redirect", "ep.io", false, "http://ep.io"},
		{"ep.io over https is proxy", "ep.io", true, "ep.io"},
		{"sub.ep.io over http is redirect", "sub.ep.io", false, "http://ep.io"},
		{"i-love-bees.com is unknown", "i-love-bees.com", false, ""},
	})
	h, ok := m.Match([]byte("multi.level.sub.local.ep.io"), false)
	require.True(t, ok)
	assert.Equal(t, "spin", h.Rule.Text(), "value of the key %q", h.Key())
}

func TestMatch(t *testing.T) {
	m := New(1)
	for _, r := range []struct {
		key  string
		subs bool
	}{
		{"exact.io", false},
		{"https://secure.io", false},
		{"https://both.io", true},
		{"both.io", true},
		{"http://fallback.io", false},
		{"fallback.io", true},
		{"a.b.deep.io", true},
		{"b.deep.io", true},
		{"tld", true},
		{"0.1", true},
		{"10.0.0.1", false},
		{"[::1]", false},
		{"http://[2001:db8::1]", false},
	} {
		m.Set(r.key, nameRule("x", r.subs))
	}
	runMatchCases(t, m, []matchCase{
		{"exact match ignores subdomains=false", "exact.io", false, "exact.io"},
		{"subdomain of no-subdomains rule", "www.exact.io", false, ""},
		{"https key over https", "secure.io", true, "https://secure.io"},
		{"https key not over http", "secure.io", false, ""},
		{"https key exact ignores flag, not for subdomains", "www.secure.io", true, ""},
		{"https key beats bare over https", "x.both.io", true, "https://both.io"},
		{"bare key over http when only https key", "x.both.io", false, "both.io"},
		{"proto key without subdomains falls back to bare", "x.fallback.io", false, "fallback.io"},
		{"proto key exact", "fallback.io", false, "http://fallback.io"},
		{"longest suffix wins", "z.a.b.deep.io", false, "a.b.deep.io"},
		{"next suffix", "z.b.deep.io", false, "b.deep.io"},
		{"walk reaches the last label", "anything.at.all.tld", false, "tld"},
		{"bare last label", "tld", true, "tld"},
		{"IPv4 literal exact", "10.0.0.1", false, "10.0.0.1"},
		{"IPv4 literal has no subdomains", "10.0.0.1.0.1", false, ""},
		{"IPv4 literal is not a subdomain", "192.168.0.1", false, ""},
		{"IPv6 literal exact", "[::1]", false, "[::1]"},
		{"IPv6 literal with proto", "[2001:db8::1]", false, "http://[2001:db8::1]"},
		{"IPv6 literal proto mismatch", "[2001:db8::1]", true, ""},
		{"miss", "nowhere.example", false, ""},
		{"empty host", "", false, ""},
		{"trailing label prefix is not a suffix", "xtld", false, ""},
	})
}

func TestMatchEmptyTables(t *testing.T) {
	m := New(1)
	_, ok := m.Match([]byte("ep.io"), true)
	assert.False(t, ok, "empty table matched")
	m.Set("ep.io", intRule(1, true))
	m.Delete("ep.io")
	_, ok = m.Match([]byte("ep.io"), false)
	assert.False(t, ok, "table matched a deleted key")
	_, ok = m.Match(nil, false)
	assert.False(t, ok, "empty host matched")
}

// TestHitOutlivesChanges holds a Hit while its host's rule is set again and
// the table is rebuilt: the Hit keeps its rule, and Same tells it apart
// from a later lookup.
func TestHitOutlivesChanges(t *testing.T) {
	m := New(1)
	m.Set("http://stored.io", intRule(7, true))
	h, ok := m.Match([]byte("a.stored.io"), false)
	require.True(t, ok)
	again, _ := m.Match([]byte("b.stored.io"), false)
	assert.True(t, h.Same(&again), "two lookups of an unchanged rule")
	m.Set("http://stored.io", intRule(8, true))
	replaceInts(m, []testEntry{{Key: "other.io", Value: 9}})
	assert.Equal(t, 7, intOf(t, h), "a Hit keeps its rule after the table changed")
	assert.Equal(t, "http://stored.io", h.Key())
	m.Set("http://stored.io", intRule(7, true))
	now, _ := m.Match([]byte("a.stored.io"), false)
	assert.False(t, h.Same(&now), "Same after the rule was set again")
}
