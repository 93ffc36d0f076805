package hostmap

import "bytes"

// Match implements SPEC §3: host is a request host already normalised by
// Normalize; https says the request counts as https. For each suffix from
// the whole host down to the last label (a.b.c, b.c, c) it tries first
// "PROTO://suffix" (PROTO is "https" when https is set, else "http") and
// then the bare "suffix"; the whole host matches any rule, a shorter suffix
// only a rule with subdomains=true.
//
// An IP literal (a bracketed IPv6 address, or a host whose last label is
// all digits, as no top-level domain is) has no subdomains, so only the
// whole host is tried: a rule "0.1" never matches the address 10.0.0.1.
//
// Match is lock-free, does not allocate, and sees one whole content of the
// table (never half of a Replace). It hashes each suffix once and finds the
// protocol-qualified and the bare key in one probe sequence.
func (t *Table) Match(host []byte, https bool) (Hit, bool) {
	r := t.root.Load()
	if len(host) == 0 {
		return Hit{}, false
	}
	proto := kindHTTP
	if https {
		proto = kindHTTPS
	}
	if e := r.matchSuffix(host, proto, true); e.ok {
		return r.hit(e), true
	}
	if isIPLiteral(host) {
		return Hit{}, false
	}
	for s := host; ; {
		i := bytes.IndexByte(s, '.')
		if i < 0 {
			return Hit{}, false
		}
		s = s[i+1:]
		if e := r.matchSuffix(s, proto, false); e.ok {
			return r.hit(e), true
		}
	}
}

// matchSuffix returns the key that matches suffix s of a request host at
// one step of the §3 walk: the proto key before the bare one, either only
// if exact (s is the whole host) or the key allows subdomains.
func (r *root) matchSuffix(s []byte, proto kind, exact bool) entry {
	h := hashOf(s)
	sh := r.shards[h>>shardShift].Load()
	if sh == nil {
		return entry{}
	}
	p, b := lookup(sh, &r.arena, h, s, proto, kindBare)
	if p.ok && (exact || subsOf(p.val)) {
		return p
	}
	if b.ok && (exact || subsOf(b.val)) {
		return b
	}
	return entry{}
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
