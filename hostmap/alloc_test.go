//go:build !race

package hostmap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLookupsDoNotAllocate holds Match, Get, Len and Normalize at zero
// allocations at 10 and at 1,000,000 keys.
func TestLookupsDoNotAllocate(t *testing.T) {
	for _, size := range []int{10, 1_000_000} {
		m := New(1)
		replaceInts(m, testEntries(size))
		m.Set("http://"+testKey(2), intRule(-1, true))
		cases := []struct {
			name  string
			host  string
			https bool
			want  bool
		}{
			{"hit exact", testKey(1), false, true},
			{"hit proto", testKey(2), false, true},
			{"hit subdomain", "a.b.c." + testKey(4), true, true},
			{"miss", "a.b.c.no-such-host.example", false, false},
		}
		for _, tc := range cases {
			host := []byte(tc.host)
			_, ok := m.Match(host, tc.https)
			require.Equal(t, tc.want, ok, "size %d: Match(%q)", size, tc.host)
			allocs := testing.AllocsPerRun(1000, func() { m.Match(host, tc.https) })
			assert.Zero(t, allocs, "size %d, %s: Match(%q) allocates", size, tc.name, tc.host)
		}
		key := testKey(3)
		allocs := testing.AllocsPerRun(1000, func() { m.Get(key); m.Len() })
		assert.Zero(t, allocs, "size %d: Get(%q) allocates", size, key)
	}
}

func TestNormalizeDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	for _, in := range []string{"WWW.Ep.IO.:8080", "[2001:DB8::1]:443", "bad..host"} {
		host := []byte(in)
		allocs := testing.AllocsPerRun(1000, func() { buf, _ = Normalize(buf[:0], host) })
		assert.Zero(t, allocs, "Normalize(%q) allocates", in)
	}
	for _, key := range []string{"www.ep.io", "https://ep.io", "[2001:db8::1]"} {
		allocs := testing.AllocsPerRun(1000, func() { _, _ = NormalizeKey(key) })
		assert.Zero(t, allocs, "NormalizeKey(%q) of a canonical key allocates", key)
	}
}
