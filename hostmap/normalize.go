package hostmap

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Bounds on hostnames, from RFC 1035 §2.3.4 as refined by RFC 1123 §2.1.
const (
	// MaxHostLen is the longest hostname, in bytes, without a trailing dot.
	MaxHostLen = 253
	// MaxLabelLen is the longest label of a hostname, in bytes.
	MaxLabelLen = 63
)

// maxIPv6Len is the longest textual IPv6 address without brackets:
// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
const maxIPv6Len = 45

// ErrBadKey is returned, wrapped with the reason, by NormalizeKey for a rule
// key that is not an optional "http://" or "https://" prefix followed by a
// hostname or an IP literal. The reason never quotes the key.
var ErrBadKey = errors.New("hostmap: invalid rule key")

// hostChars maps each byte allowed in a hostname label to its lower-case
// form and every other byte to 0. Labels hold letters, digits, '-' and '_'
// (the underscore appears in real service names although RFC 1123 leaves
// it out); '.' separates labels and is handled by the caller.
const hostChars = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x00
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x10
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00-\x00\x00" + // 0x20
	"0123456789\x00\x00\x00\x00\x00\x00" + // 0x30
	"\x00abcdefghijklmno" + // 0x40
	"pqrstuvwxyz\x00\x00\x00\x00_" + // 0x50
	"\x00abcdefghijklmno" + // 0x60
	"pqrstuvwxyz\x00\x00\x00\x00\x00" + // 0x70
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x80
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x90
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0xa0
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0xb0
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0xc0
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0xd0
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0xe0
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" // 0xf0

// problem says why a host was rejected; 0 means it was accepted.
type problem uint8

const (
	problemNone problem = iota
	problemEmpty
	problemTooLong
	problemEmptyLabel
	problemLongLabel
	problemBadChar
	problemBadIPv6
	problemNotCanonicalIPv6
)

// String returns the reason for a problem, as NormalizeKey reports it.
func (p problem) String() string {
	switch p {
	case problemEmpty:
		return "empty hostname"
	case problemTooLong:
		return "hostname longer than 253 bytes"
	case problemEmptyLabel:
		return "empty label"
	case problemLongLabel:
		return "label longer than 63 bytes"
	case problemBadChar:
		return "byte not allowed in a hostname (port, path, userinfo, space or control byte?)"
	case problemBadIPv6:
		return "invalid IPv6 literal"
	case problemNotCanonicalIPv6:
		return "IPv6 literal not in canonical form (RFC 5952)"
	}
	return "no problem"
}

// Normalize appends the canonical form of a request host (the Host header
// value of RFC 9110 §7.2, or the authority of an absolute-form target) to
// dst: lower-cased, ":port" removed (handle "[v6]:port" and bare "[v6]"),
// one trailing dot removed. It returns ok=false for a host that cannot be a
// rule target (empty after normalisation, bad characters, an empty label
// like "a..b", a label over MaxLabelLen or a name over MaxHostLen bytes);
// dst then comes back with its original length. The input comes from an
// HTTP Host header already syntax-checked by the parser, but Normalize is
// safe on any bytes. It does not allocate when dst has room for the host.
//
// IPv6 literals keep their brackets and are only lower-cased, not
// rewritten; NormalizeKey accepts only the RFC 5952 form that clients send.
func Normalize(dst, host []byte) ([]byte, bool) {
	h, ok := stripPort(host)
	if !ok {
		return dst, false
	}
	out, p := appendHost(dst, h)
	return out, p == problemNone
}

// stripPort removes a ":port" (RFC 3986 §3.2.3: port = *DIGIT) from a
// Host header value, leaving an IPv6 literal's brackets in place.
func stripPort(host []byte) ([]byte, bool) {
	i := bytes.LastIndexByte(host, ':')
	if len(host) > 0 && host[0] == '[' {
		end := bytes.IndexByte(host, ']')
		if end < 0 {
			return nil, false
		}
		if end == len(host)-1 {
			return host, true
		}
		if host[end+1] != ':' {
			return nil, false
		}
		i = end + 1
	}
	if i < 0 {
		return host, true
	}
	for _, c := range host[i+1:] {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	return host[:i], true
}

// appendHost appends the canonical form of a hostname or bracketed IPv6
// literal without a port to dst. On a problem it returns dst with its
// original length.
func appendHost[S ~string | ~[]byte](dst []byte, h S) ([]byte, problem) {
	if len(h) > 0 && h[0] == '[' {
		return appendIPv6(dst, h)
	}
	n := len(h)
	if n > 0 && h[n-1] == '.' {
		n--
	}
	switch {
	case n == 0:
		return dst, problemEmpty
	case n > MaxHostLen:
		return dst, problemTooLong
	}
	start, label := len(dst), 0
	dst = slices.Grow(dst, n)
	out := dst[start : start+n]
	for i := range out {
		c := h[i]
		if c == '.' {
			if label == 0 {
				return dst[:start], problemEmptyLabel
			}
			label = 0
			out[i] = '.'
			continue
		}
		lc := hostChars[c]
		if lc == 0 {
			return dst[:start], problemBadChar
		}
		if label++; label > MaxLabelLen {
			return dst[:start], problemLongLabel
		}
		out[i] = lc
	}
	if label == 0 {
		return dst[:start], problemEmptyLabel
	}
	return dst[:start+n], problemNone
}

// appendIPv6 appends a bracketed IPv6 literal, lower-cased, to dst. It only
// checks the characters (hex digits, ':' and '.' for an embedded IPv4
// address, at least one ':'); NormalizeKey checks the address fully.
func appendIPv6[S ~string | ~[]byte](dst []byte, h S) ([]byte, problem) {
	n := len(h)
	if n < 4 || n > maxIPv6Len+2 || h[n-1] != ']' {
		return dst, problemBadIPv6
	}
	start, colons := len(dst), 0
	dst = append(dst, '[')
	for i := 1; i < n-1; i++ {
		c := h[i]
		switch {
		case c == ':':
			colons++
		case c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'f'):
		case 'A' <= c && c <= 'F':
			c += 'a' - 'A'
		default:
			return dst[:start], problemBadIPv6
		}
		dst = append(dst, c)
	}
	if colons == 0 {
		return dst[:start], problemBadIPv6
	}
	return append(dst, ']'), problemNone
}

// NormalizeKey validates and canonicalises a rule key given through the API
// or the state file: an optional "http://" or "https://" prefix
// (case-insensitive) then a hostname or an IP literal (IPv6 in brackets and
// in RFC 5952 canonical form); lower-cased; one trailing dot removed; no
// port, path, userinfo, spaces or control bytes; at most MaxHostLen bytes of
// hostname and MaxLabelLen per label. Anything else is an error wrapping
// ErrBadKey. A key that is already canonical is returned as is, without
// allocating.
func NormalizeKey(key string) (string, error) {
	k, rest := splitKeyFold(key)
	var buf [MaxHostLen]byte
	host, p := appendHost(buf[:0], rest)
	if p == problemNone && host[0] == '[' {
		lit := rest // saves a copy when the key is already lower-case
		if string(host) != rest {
			lit = string(host)
		}
		p = checkIPv6(lit[1 : len(lit)-1])
	}
	if p != problemNone {
		return "", fmt.Errorf("%w: %s", ErrBadKey, p)
	}
	prefix := key[:k]
	if prefix == k.prefix() && string(host) == rest {
		return key, nil
	}
	return k.prefix() + string(host), nil
}

// splitKeyFold splits an optional case-insensitive "http://" or "https://"
// prefix from a key.
func splitKeyFold(key string) (kind, string) {
	for _, k := range [...]kind{kindHTTPS, kindHTTP} {
		if len(key) >= int(k) && strings.EqualFold(key[:k], k.prefix()) {
			return k, key[k:]
		}
	}
	return kindBare, key
}

// checkIPv6 reports whether a lower-cased literal (without brackets) is a
// valid IPv6 address without a zone, written as netip (RFC 5952) writes it.
func checkIPv6(lit string) problem {
	a, err := netip.ParseAddr(lit)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return problemBadIPv6
	}
	var buf [maxIPv6Len]byte
	if string(a.AppendTo(buf[:0])) != lit {
		return problemNotCanonicalIPv6
	}
	return problemNone
}
