package httpparse

// checkTarget checks the method and request-target of a complete request
// line and locates the path to forward (RFC 9112 §3.2).
func (p *Parser) checkTarget(b []byte) error {
	method := b[p.m.method.start:p.m.method.end]
	target := b[p.m.target.start:p.m.target.end]
	if string(method) == "CONNECT" {
		return ErrConnectNotSupported
	}
	switch {
	case target[0] == '/':
		// origin-form (RFC 9112 §3.2.1).
		p.m.path = p.m.target
		return checkPath(target)
	case len(target) == 1 && target[0] == '*':
		// asterisk-form, OPTIONS only (RFC 9112 §3.2.4).
		if string(method) != "OPTIONS" {
			return ErrBadTarget
		}
		p.m.path = p.m.target
		return nil
	}
	return p.absoluteForm(b)
}

// absoluteForm checks an absolute-form target (RFC 9112 §3.2.2): scheme
// http or https (any case), "//", an authority without userinfo, then
// nothing or a path. An authority-form target (RFC 9112 §3.2.3) is
// ErrConnectNotSupported; anything else is ErrBadTarget.
func (p *Parser) absoluteForm(b []byte) error {
	t := p.m.target
	target := b[t.start:t.end]
	var skip int
	switch {
	case hasPrefixFold(target, "http://"):
		skip = len("http://")
	case hasPrefixFold(target, "https://"):
		skip = len("https://")
	case validAuthority(target):
		return ErrConnectNotSupported
	default:
		return ErrBadTarget
	}
	rest := target[skip:]
	end := 0
	for end < len(rest) && rest[end] != '/' && rest[end] != '?' {
		end++
	}
	if end < len(rest) && rest[end] == '?' {
		// An empty path with a query cannot be forwarded as origin-form
		// without inventing a "/"; reject rather than repair.
		return ErrBadTarget
	}
	if !validHost(rest[:end]) {
		return ErrBadHost
	}
	p.m.flags |= fAbsolute
	p.m.authority = span{t.start + skip, t.start + skip + end}
	p.m.path = span{t.start + skip + end, t.end}
	return checkPath(rest[end:])
}

// hasPrefixFold reports whether b starts with lowerCase, ignoring ASCII
// case.
func hasPrefixFold(b []byte, lowerCase string) bool {
	return len(b) >= len(lowerCase) && equalFold(b[:len(lowerCase)], lowerCase)
}

// checkPath checks the percent-encoding of the path part (before any "?")
// of an origin-form target: every "%" starts "%" HEXDIG HEXDIG
// (RFC 3986 §2.1, §3.3). The query is left to the application.
func checkPath(t []byte) error {
	for i := 0; i < len(t) && t[i] != '?'; i++ {
		if t[i] != '%' {
			continue
		}
		if i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2]) {
			return ErrBadTarget
		}
		i += 2
	}
	return nil
}

// validAuthority reports whether t is an authority-form target:
// uri-host ":" port (RFC 9112 §3.2.3).
func validAuthority(t []byte) bool {
	end, ok := hostEnd(t)
	return ok && end < len(t) && validHost(t)
}

// validHost reports whether h is uri-host [ ":" port ] (RFC 9110 §7.2,
// RFC 3986 §3.2.2–§3.2.3): a non-empty reg-name without pct-encoding, or an
// IPv6 literal in brackets, then optionally ":" and a port of 1 to 5 digits
// up to 65535. Userinfo, zone identifiers and IPvFuture are rejected.
func validHost(h []byte) bool {
	end, ok := hostEnd(h)
	if !ok {
		return false
	}
	if end == len(h) {
		return true
	}
	return h[end] == ':' && validPort(h[end+1:])
}

// hostEnd returns the length of the uri-host at the start of h and whether
// it is valid.
func hostEnd(h []byte) (int, bool) {
	if len(h) > 0 && h[0] == '[' {
		for i := 1; i < len(h); i++ {
			if h[i] == ']' {
				return i + 1, validIPv6(h[1:i])
			}
		}
		return 0, false
	}
	end := skipClass(h, 0, cRegName)
	return end, end > 0
}

// validPort reports whether p is a port of 1 to 5 digits, at most 65535.
func validPort(p []byte) bool {
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if !isDigit(c) {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// validIPv6 reports whether s is an IPv6address (RFC 3986 §3.2.2): eight
// groups of 1 to 4 hex digits, or fewer around one "::", the last two
// groups possibly written as an IPv4address.
func validIPv6(s []byte) bool {
	groups, ellipsis, i := 0, false, 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis, i = true, 2
	}
	for i < len(s) {
		j := i
		for j < len(s) && j-i < 5 && isHex(s[j]) {
			j++
		}
		if j < len(s) && s[j] == '.' {
			if !validIPv4(s[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		if j == len(s) {
			break
		}
		if s[j] != ':' || j+1 == len(s) {
			return false
		}
		i = j + 1
		if s[i] == ':' {
			if ellipsis {
				return false
			}
			ellipsis = true
			i++
		}
	}
	if ellipsis {
		return groups <= 7
	}
	return groups == 8
}

// validIPv4 reports whether s is an IPv4address: four dec-octets, no
// leading zeros (RFC 3986 §3.2.2).
func validIPv4(s []byte) bool {
	for octet := range 4 {
		if octet > 0 {
			if len(s) == 0 || s[0] != '.' {
				return false
			}
			s = s[1:]
		}
		n, i := 0, 0
		for i < len(s) && i < 3 && isDigit(s[i]) {
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == 0 || n > 255 || (i > 1 && s[0] == '0') {
			return false
		}
		s = s[i:]
	}
	return len(s) == 0
}
