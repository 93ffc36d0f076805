package actions

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// interner is a backend table for tests: ids in order of first sight.
type interner struct{ addrs []string }

func (in *interner) id(addr string) uint32 {
	for i, a := range in.addrs {
		if a == addr {
			return uint32(i)
		}
	}
	in.addrs = append(in.addrs, strings.Clone(addr))
	return uint32(len(in.addrs) - 1)
}

func (in *interner) addr(id uint32) string { return in.addrs[id] }

// TestPackedRoundTrip packs every canonical example and checks the packed
// form against the rule: CheckPacked accepts it whole, the accessors give
// the rule's fields, and unpacking gives an Equal rule with the same
// canonical encoding.
func TestPackedRoundTrip(t *testing.T) {
	cases := append([]string{
		`["proxy",{"backends":["a:1","b:2","a:1"],"delay":0},true]`,
		`["spin",{"check_interval":2},false]`,
	}, func() []string {
		var in []string
		for _, c := range canonicalCases {
			in = append(in, c.in)
		}
		return in
	}()...)
	for _, in := range cases {
		r := requireRule(t, in)
		tab := &interner{}
		p := Packed(AppendPacked([]byte("xx"), r, tab.id)[2:])
		require.Len(t, p, PackedSize(r), "%s: PackedSize", in)
		n, err := CheckPacked(append(p, 0xff), uint32(len(tab.addrs)))
		require.NoError(t, err, "%s: CheckPacked of AppendPacked's output", in)
		assert.Equal(t, len(p), n, "%s: length", in)
		assert.Equal(t, len(p), p.Len(), "%s: Len", in)
		assert.Equal(t, r.Kind, p.Kind(), in)
		switch r.Kind {
		case Empty:
			assert.Equal(t, r.Code, p.Code(), in)
		case Proxy:
			assert.Equal(t, r.Attempts, p.Attempts(), in)
			assert.Equal(t, r.Delay, p.Delay(), in)
			require.Equal(t, len(r.Backends), p.Backends(), in)
			for i := range r.Backends {
				assert.Equal(t, r.BackendAddr(i), tab.addr(p.Backend(i)), "%s: backend %d", in, i)
			}
		case Spin:
			assert.Equal(t, r.Timeout, p.Timeout(), in)
			assert.Equal(t, r.CheckInterval, p.CheckInterval(), in)
		case Redirect:
			assert.Equal(t, r.RedirectTo, p.Text(), in)
			path := []byte("/x?y")
			assert.Equal(t, string(r.AppendRedirect(nil, path, true, false)), string(p.AppendRedirect(nil, path, true, false)), in)
		case Static:
			assert.Equal(t, r.Type, p.Text(), in)
		}
		back := p.Rule(r.Subdomains, tab.addr)
		assert.True(t, r.Equal(back), "%s: unpacked %s", in, back.AppendJSON(nil))
		var into Rule
		p.Unpack(&into, r.Subdomains, tab.addr)
		assert.Equal(t, string(r.AppendJSON(nil)), string(into.AppendJSON(nil)), "%s: Unpack", in)
	}
}

// TestCheckPackedRefuses damages valid packed rules and checks that each
// damage is refused with ErrPacked.
func TestCheckPackedRefuses(t *testing.T) {
	tab := &interner{}
	proxy := AppendPacked(nil, requireRule(t, `["proxy",{"backends":["a:1","b:2"],"attempts":2},true]`), tab.id)
	spin := AppendPacked(nil, requireRule(t, `["spin",{"timeout":5},true]`), tab.id)
	redirect := AppendPacked(nil, requireRule(t, `["redirect",{"redirect_to":"https://ep.io"},true]`), tab.id)
	static := AppendPacked(nil, requireRule(t, `["static",{"type":"test"},true]`), tab.id)
	empty := AppendPacked(nil, requireRule(t, `["empty",{"code":402},true]`), tab.id)
	set := func(b []byte, i int, v byte) []byte { c := append([]byte(nil), b...); c[i] = v; return c }
	cases := []struct {
		name     string
		b        []byte
		backends uint32
	}{
		{"empty input", nil, 2},
		{"truncated head", proxy[:5], 2},
		{"truncated ids", proxy[:len(proxy)-1], 2},
		{"backend id out of range", proxy, 1},
		{"no backends", set(set(proxy, 2, 0), 3, 0), 2},
		{"attempts 0", set(proxy, 4, 0), 2},
		{"attempts 101", set(proxy, 4, 101), 2},
		{"unknown option bit", set(proxy, 1, 0x80), 2},
		{"kind 0", set(empty, 0, 0), 2},
		{"kind 99", set(empty, 0, 99), 2},
		{"code 99", set(set(empty, 4, 99), 5, 0), 2},
		{"code 600", set(set(empty, 4, 0x58), 5, 2), 2},
		{"stray length on empty", set(empty, 2, 1), 2},
		{"negative timeout", set(spin, 15, 0x80), 2},
		{"zero timeout", append(spin[:8:8], make([]byte, 8)...), 2},
		{"redirect with a space", set(redirect, 10, ' '), 2},
		{"redirect truncated", redirect[:len(redirect)-2], 2},
		{"static climbing", append(set(set(static, 2, 5), 3, 0)[:8:8], "../ab"...), 2},
		{"static empty", set(set(static, 2, 0), 3, 0)[:8], 2},
	}
	for _, tc := range cases {
		_, err := CheckPacked(tc.b, tc.backends)
		assert.ErrorIs(t, err, ErrPacked, "%s: %x", tc.name, tc.b)
	}
}

func TestCheckBackendAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8000": true, "[::1]:80": true, "backend.internal:65535": true,
		"127.0.0.1": false, ":80": false, "a:0": false, "a:65536": false, "a:080": false,
		"::1:80": false, "[::1]": false, "a b:80": false, "a_b:80": false, "[fe80::1%eth0]:80": false,
	} {
		assert.Equal(t, want, CheckBackendAddr(addr), "CheckBackendAddr(%q)", addr)
	}
}

// FuzzCheckBackendAddr checks CheckBackendAddr against its definition:
// an address is valid when it is what Backend.Addr writes for a valid
// backend.
func FuzzCheckBackendAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8000", "[::1]:80", "a:080", "[a]:80", "[::1:80", "a:+80", "[1.2.3.4]:80", "::1:80", "[]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		b := splitAddr(addr)
		want := b.Port >= MinPort && b.Port <= MaxPort && b.Addr() == addr
		if strings.IndexByte(b.Host, ':') >= 0 {
			want = want && validIPv6(b.Host)
		} else {
			want = want && validHostName(b.Host)
		}
		assert.Equal(t, want, CheckBackendAddr(addr), "CheckBackendAddr(%q)", addr)
	})
}

// FuzzCheckPacked checks CheckPacked on any bytes: it never panics, and a
// rule it accepts unpacks to a valid rule that packs back to the same
// bytes.
func FuzzCheckPacked(f *testing.F) {
	tab := &interner{}
	for _, c := range canonicalCases {
		r, err := ParseRule([]byte(c.in))
		if err == nil {
			f.Add(AppendPacked(nil, r, tab.id))
		}
	}
	f.Add([]byte{2, 3, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	addrs := []string{"a:1", "[::1]:2", "b.c:3", "d:4"}
	addr := func(id uint32) string { return addrs[id] }
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := CheckPacked(b, uint32(len(addrs)))
		if err != nil {
			return
		}
		p := Packed(b[:n])
		r := p.Rule(n%2 == 0, addr)
		again, err := ParseRule(r.AppendJSON(nil))
		if err != nil {
			t.Fatalf("packed %x unpacks to %s, which does not parse: %v", b[:n], r.AppendJSON(nil), err)
		}
		ids := map[string]uint32{"a:1": 0, "[::1]:2": 1, "b.c:3": 2, "d:4": 3}
		repacked := AppendPacked(nil, again, func(a string) uint32 { return ids[a] })
		if string(repacked) != string(p) {
			t.Fatalf("packed %x unpacks to %s, which packs to %x", []byte(p), r.AppendJSON(nil), repacked)
		}
	})
}
