package actions

import (
	"net/netip"
	"strconv"
	"strings"
)

// Backend is one of a proxy rule's backends. Host is a host name, an IPv4
// address or an IPv6 address without brackets; Port is MinPort–MaxPort.
type Backend struct {
	Host string
	Port int
}

// Addr returns the backend's dial address, "host:port", with an IPv6 host
// in brackets ("[::1]:8000"), as net.JoinHostPort writes it.
func (b Backend) Addr() string {
	port := strconv.Itoa(b.Port)
	if strings.IndexByte(b.Host, ':') >= 0 {
		return "[" + b.Host + "]:" + port
	}
	return b.Host + ":" + port
}

// appendAddr appends the dial address Addr returns to dst.
func (b Backend) appendAddr(dst []byte) []byte {
	v6 := strings.IndexByte(b.Host, ':') >= 0
	if v6 {
		dst = append(dst, '[')
	}
	dst = append(dst, b.Host...)
	if v6 {
		dst = append(dst, ']')
	}
	dst = append(dst, ':')
	return strconv.AppendInt(dst, int64(b.Port), 10)
}

// parseBackend validates one element of proxy's backends list: a
// [host, port] pair, whose port may be a number or a numeric string, or a
// "host:port" string. In either form an IPv6 host may be written in
// brackets; in the pair form it may also be written bare ("::1").
func parseBackend(v any) (Backend, string) {
	switch x := v.(type) {
	case []any:
		if len(x) != 2 {
			return Backend{}, "must be [host, port] or \"host:port\""
		}
		host, ok := x[0].(string)
		if !ok {
			return Backend{}, "host must be a string"
		}
		host, ok = backendHost(host)
		if !ok {
			return Backend{}, "host " + quote(host) + " is not a host name or IP address"
		}
		port, ok := intValue(x[1], MinPort, MaxPort)
		if !ok {
			return Backend{}, "port must be an integer from 1 to 65535"
		}
		return Backend{Host: host, Port: int(port)}, ""
	case string:
		host, port, why := splitHostPort(x, true)
		if why != "" {
			return Backend{}, why
		}
		return Backend{Host: host, Port: port}, ""
	}
	return Backend{}, "must be [host, port] or \"host:port\""
}

// backendHost validates the host of a [host, port] pair and returns it
// without brackets.
func backendHost(h string) (string, bool) {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
		return h, validIPv6(h)
	}
	if strings.IndexByte(h, ':') >= 0 {
		return h, validIPv6(h)
	}
	return h, validHostName(h)
}

// splitHostPort splits "host:port" or "[v6]:port". With needPort unset the
// ":port" part is optional and port is 0 when absent. It returns the host
// without brackets, or a reason why s is not valid.
func splitHostPort(s string, needPort bool) (host string, port int, why string) {
	rest := ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || !validIPv6(s[1:end]) {
			return "", 0, "host " + quote(s) + " has no valid [IPv6] address"
		}
		host, rest = s[1:end], s[end+1:]
	} else {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			i = len(s)
		}
		host, rest = s[:i], s[i:]
		if !validHostName(host) {
			return "", 0, "host " + quote(s) + " is not a host name or IP address"
		}
	}
	switch {
	case rest == "" && !needPort:
		return host, 0, ""
	case !strings.HasPrefix(rest, ":"):
		return "", 0, quote(s) + " must be host:port"
	}
	p, ok := portDigits(rest[1:])
	if !ok {
		return "", 0, "port of " + quote(s) + " must be an integer from 1 to 65535"
	}
	return host, p, ""
}

// portDigits parses the port of a "host:port" string: decimal digits only,
// without sign or leading zero, MinPort–MaxPort.
func portDigits(s string) (int, bool) {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, MinPort <= n && n <= MaxPort
}

// validIPv6 reports whether s is an IPv6 address without a zone (a zone
// would put '%' and interface names into addresses and logs).
func validIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && a.Zone() == "" && len(s) <= MaxHostLen
}

// validHostName reports whether s is a host name or an IPv4 address: 1 to
// MaxHostLen bytes of letters, digits, '-' and '.', in labels of 1 to
// MaxLabelLen bytes; one final '.' (a fully qualified name) is allowed and
// counts towards MaxHostLen.
// Underscores are refused (RFC 952, RFC 1123 §2.1).
func validHostName(s string) bool {
	if len(s) > MaxHostLen {
		return false
	}
	s = strings.TrimSuffix(s, ".")
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case isHostNameByte(c):
			label++
			if label > MaxLabelLen {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

func isHostNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}
