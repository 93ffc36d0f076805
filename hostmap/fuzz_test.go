package hostmap

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzNormalize checks Normalize and NormalizeKey on any bytes: no panic;
// Normalize is idempotent on its own output; NormalizeKey output
// re-normalises to itself and, as a request host, Normalizes to itself; a
// normalised non-IPv6 host is a valid key; Match never panics.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"ep.io", "EP.Io:8080", "ep.io.", "ep.io.:80", "[::1]:80", "[::1]", "[2001:DB8::1]",
		"http://Ep.io", "HTTPS://ep.io.", "a..b", ".", "", ":80", "[::1", "user@ep.io",
		"ep.io/x", "\xff\x00", "[fe80::1%eth0]", "1.2.3.4", "http://[::ffff:1.2.3.4]",
		strings.Repeat("a", 64) + ".io", strings.Repeat("a.", 127),
	} {
		f.Add([]byte(seed))
	}
	m := New(1)
	replaceInts(m, []testEntry{{Key: "ep.io", Subdomains: true}, {Key: "http://a.b", Subdomains: true}, {Key: "io"}})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, ok := Normalize(nil, data)
		if ok {
			again, ok2 := Normalize(nil, out)
			if !ok2 || !bytes.Equal(again, out) {
				t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", data, out, out, again, ok2)
			}
			if out[0] != '[' {
				if k, err := NormalizeKey(string(out)); err != nil || k != string(out) {
					t.Fatalf("Normalize(%q) = %q, not a valid key: %q, %v", data, out, k, err)
				}
			}
			m.Match(out, len(data)%2 == 0)
		} else if len(out) != 0 {
			t.Fatalf("Normalize(%q) rejected but returned %q", data, out)
		}
		m.Match(data, false)
		checkKey(t, string(data))
	})
}

// checkKey checks NormalizeKey on one fuzzed key.
func checkKey(t *testing.T, in string) {
	key, err := NormalizeKey(in)
	if err != nil {
		return
	}
	again, err := NormalizeKey(key)
	if err != nil || again != key {
		t.Fatalf("NormalizeKey(%q) = %q, but NormalizeKey(%q) = %q, %v", in, key, key, again, err)
	}
	_, host := splitKey(key)
	got, ok := Normalize(nil, []byte(host))
	if !ok || string(got) != host {
		t.Fatalf("key %q: Normalize(%q) = %q, %v; a request for the key's host must match it", key, host, got, ok)
	}
}
