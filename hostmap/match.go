package hostmap

import (
	"bytes"

	"github.com/cespare/xxhash/v2"
)

// Match implements SPEC §3: host is a request host already normalised by
// Normalize; https says the request counts as https. For each suffix from
// the whole host down to the last label (a.b.c, b.c, c) it tries first
// "PROTO://suffix" (PROTO is "https" when https is set, else "http") and
// then the bare "suffix"; the whole host matches any rule, a shorter suffix
// only a rule with subdomains=true. It returns the matched key's value and
// the matched key (the stored key string, not a copy).
//
// An IP literal (a bracketed IPv6 address, or a host whose last label is
// all digits, as no top-level domain is) has no subdomains, so only the
// whole host is tried: a rule "0.1" never matches the address 10.0.0.1.
//
// Match is lock-free, does not allocate, and sees one whole content of the
// map (never half of a Replace). It hashes each suffix once and finds the
// protocol-qualified and the bare key in one probe sequence.
func (m *Map[V]) Match(host []byte, https bool) (v V, key string, ok bool) {
	r := m.root.Load()
	if r == nil || len(host) == 0 {
		return v, "", false
	}
	proto := kindHTTP
	if https {
		proto = kindHTTPS
	}
	if e := r.matchSuffix(host, proto, true); e != nil {
		return e.value, e.key, true
	}
	if isIPLiteral(host) {
		return v, "", false
	}
	for s := host; ; {
		i := bytes.IndexByte(s, '.')
		if i < 0 {
			return v, "", false
		}
		s = s[i+1:]
		if e := r.matchSuffix(s, proto, false); e != nil {
			return e.value, e.key, true
		}
	}
}

// matchSuffix returns the entry that matches suffix s of a request host at
// one step of the §3 walk: the proto key before the bare one, either only
// if exact (s is the whole host) or the entry allows subdomains.
func (r *root[V]) matchSuffix(s []byte, proto kind, exact bool) *entry[V] {
	h := xxhash.Sum64(s)
	t := r.shards[h>>shardShift].Load()
	if t == nil {
		return nil
	}
	p, b := lookup(t, h, s, proto, kindBare)
	if p != nil && (exact || p.subdomains) {
		return p
	}
	if b != nil && (exact || b.subdomains) {
		return b
	}
	return nil
}

// isIPLiteral reports whether a normalised host is an IP address: a
// bracketed IPv6 literal or a name whose last label is all digits.
func isIPLiteral(host []byte) bool {
	if host[0] == '[' {
		return true
	}
	for i := len(host) - 1; i >= 0 && host[i] != '.'; i-- {
		if host[i] < '0' || host[i] > '9' {
			return false
		}
	}
	return true
}
