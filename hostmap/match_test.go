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

func runMatchCases[V any](t *testing.T, m *Map[V], cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, key, ok := m.Match([]byte(tc.host), tc.https)
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
	m := New[string]()
	m.Set("localhost", "empty 402", false)
	m.Set("local.ep.io", "spin", true)
	m.Set("http://ep.io", "redirect", true)
	m.Set("ep.io", "proxy", true)
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
	v, key, ok := m.Match([]byte("multi.level.sub.local.ep.io"), false)
	require.True(t, ok)
	assert.Equal(t, "spin", v, "value of the key %q", key)
}

func TestMatch(t *testing.T) {
	m := New[string]()
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
		m.Set(r.key, r.key, r.subs)
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

func TestMatchEmptyMaps(t *testing.T) {
	var zero Map[int]
	_, _, ok := zero.Match([]byte("ep.io"), false)
	assert.False(t, ok, "zero Map matched")
	m := New[int]()
	_, _, ok = m.Match([]byte("ep.io"), true)
	assert.False(t, ok, "empty Map matched")
	m.Set("ep.io", 1, true)
	m.Delete("ep.io")
	_, _, ok = m.Match([]byte("ep.io"), false)
	assert.False(t, ok, "Map matched a deleted key")
}

func TestMatchReturnsStoredKey(t *testing.T) {
	m := New[int]()
	key := "http://stored.io"
	m.Set(key, 7, true)
	v, got, ok := m.Match([]byte("a.stored.io"), false)
	require.True(t, ok)
	assert.Equal(t, 7, v)
	assert.Equal(t, key, got)
	assert.Same(t, unsafeStringData(key), unsafeStringData(got), "Match must return the stored string, not a copy")
}
