package actions

import (
	"bytes"
	"strings"
)

// checkRedirectTo validates redirect's redirect_to and returns why it is
// not valid, or "". The value is 1 to MaxRedirectLen bytes of visible ASCII
// (0x21–0x7E, RFC 5234 VCHAR), so no CR, LF, NUL or space can ever reach a
// Location header. It is either "http://" or "https://" (any case) and an
// authority host[:port] followed by anything, or, without a scheme,
// host[:port] optionally followed by "/path" (the request's own protocol is
// then used). Hosts are host names, IPv4 addresses or [IPv6] addresses;
// user information ("user@") is refused.
func checkRedirectTo(s string) string {
	if s == "" || len(s) > MaxRedirectLen {
		return "must be 1 to 2048 bytes"
	}
	for i := 0; i < len(s); i++ {
		if !isVisible(s[i]) {
			return "must be visible ASCII only (no spaces or control characters)"
		}
	}
	rest := s
	scheme, after, ok := splitScheme(s)
	if ok {
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
			return "scheme must be http:// or https://"
		}
		rest = after
	}
	end := len(rest)
	if ok {
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			end = i
		}
	} else if i := strings.IndexByte(rest, '/'); i >= 0 {
		end = i
	}
	if end == 0 {
		return "must have a host"
	}
	if _, _, why := splitHostPort(rest[:end], false); why != "" {
		return why
	}
	return ""
}

// splitScheme splits s at a leading URI scheme followed by "://"
// (RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )). "ep.io:8080"
// has no scheme: its ':' is not followed by "//".
func splitScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':' && strings.HasPrefix(s[i:], "://"):
			return s[:i], s[i+3:], true
		default:
			return "", s, false
		}
	}
	return "", s, false
}

// isVisible reports whether c is a visible ASCII character (VCHAR).
func isVisible(c byte) bool { return 0x21 <= c && c <= 0x7e }

// AppendRedirect appends the redirect action's complete response to dst
// and returns the extended slice (SPEC §4): "HTTP/1.1 302 Found" with
// Location set to the rule's RedirectTo with its trailing '/'s removed, then
// "/", then path with its leading '/'s removed — the first Mantrid's join.
// path is the request target as received (path and query, e.g.
// "/a/b?c=d"); it is only read. When RedirectTo has no scheme,
// "https://" is put in front if https is set, else "http://". The response
// has "Content-Length: 0" and, when keepAlive is false, "Connection: close"
// (RFC 9112 §9.6); the caller closes the connection then.
//
// The request parser guarantees path is visible ASCII; as a second line of
// defence any other byte in path or RedirectTo is percent-encoded, so the
// Location field can never be split. r should be a redirect rule. It does
// not allocate when dst has room.
func (r *Rule) AppendRedirect(dst []byte, path []byte, https, keepAlive bool) []byte {
	return appendRedirect(dst, r.RedirectTo, path, https, keepAlive)
}

// appendRedirect is AppendRedirect for the redirect target redirectTo.
func appendRedirect(dst []byte, redirectTo string, path []byte, https, keepAlive bool) []byte {
	base := strings.TrimRight(redirectTo, "/")
	dst = append(dst, "HTTP/1.1 302 Found\r\nLocation: "...)
	if _, _, ok := splitScheme(base); !ok {
		if https {
			dst = append(dst, "https://"...)
		} else {
			dst = append(dst, "http://"...)
		}
	}
	dst = appendVisible(dst, base)
	dst = append(dst, '/')
	dst = appendVisible(dst, bytes.TrimLeft(path, "/"))
	dst = append(dst, "\r\nContent-Length: 0\r\n"...)
	if !keepAlive {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// appendVisible appends s, percent-encoding every byte that is not visible
// ASCII (RFC 3986 §2.1).
func appendVisible[S string | []byte](dst []byte, s S) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isVisible(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&0x0f])
	}
	return dst
}
