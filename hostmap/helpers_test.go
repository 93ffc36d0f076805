package hostmap

import (
	"strconv"
	"unsafe"
)

// testKey returns the i-th distinct generated hostname, shaped like a
// platform's customer hostnames.
func testKey(i int) string {
	return "app" + strconv.Itoa(i) + ".customer" + strconv.Itoa(i%997) + ".ep.io"
}

// testEntries returns n entries with keys testKey(0..n-1), value i and
// subdomains set on every other key.
func testEntries(n int) []Entry[int] {
	es := make([]Entry[int], n)
	for i := range es {
		es[i] = Entry[int]{Key: testKey(i), Value: i, Subdomains: i%2 == 0}
	}
	return es
}

// slotCount returns the number of slots in all of m's shard tables.
func (m *Map[V]) slotCount() int {
	r := m.root.Load()
	if r == nil {
		return 0
	}
	n := 0
	for si := range r.shards {
		if t := r.shards[si].Load(); t != nil {
			n += len(t.slots)
		}
	}
	return n
}

// snapshot returns m's content as a plain map, read through Range.
func snapshot[V any](m *Map[V]) map[string]Entry[V] {
	out := map[string]Entry[V]{}
	m.Range(func(key string, v V, subdomains bool) bool {
		out[key] = Entry[V]{Key: key, Value: v, Subdomains: subdomains}
		return true
	})
	return out
}

// modelMatch is SPEC §3 written as plainly as possible over a Go map: the
// reference that Map.Match is checked against.
func modelMatch[V any](model map[string]Entry[V], host string, https bool) (string, bool) {
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
		dot := -1
		for i := 0; i < len(s); i++ {
			if s[i] == '.' {
				dot = i
				break
			}
		}
		if dot < 0 {
			return "", false
		}
		s = s[dot+1:]
	}
}

// unsafeStringData returns a pointer to s's bytes, to tell a stored string
// from a copy.
func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
