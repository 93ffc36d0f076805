package mgmt

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
)

// access decides who may use the API: by the request's Host (a defence
// against DNS rebinding) and, when a token is configured, by the bearer
// token. It is immutable after newAccess and safe for concurrent use.
type access struct {
	hosts    map[string]bool // normalised extra Host names (ServerOptions.Hosts)
	hasToken bool
	token    [sha256.Size]byte // SHA-256 of the token
}

// newAccess returns the checks for token ("" for none) and the extra Host
// names hosts, which must have passed CheckHosts.
func newAccess(token string, hosts []string) *access {
	a := &access{hosts: make(map[string]bool, len(hosts))}
	for _, h := range hosts {
		a.hosts[normalHost(h)] = true
	}
	if token != "" {
		a.hasToken, a.token = true, sha256.Sum256([]byte(token))
	}
	return a
}

// CheckHosts reports the first entry of hosts that cannot name the API in
// a Host header: an empty one, or one with a port, a path, a space or a
// character a hostname cannot hold. An entry is a hostname or an IP
// address (an IPv6 one with or without brackets).
func CheckHosts(hosts []string) error {
	for _, h := range hosts {
		if h == "" {
			return errors.New("an entry is empty")
		}
		if _, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
			continue
		}
		for i := 0; i < len(h); i++ {
			c := h[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
				return errors.New("entry " + safeText(h) + " is not a hostname or an IP address (no port, no scheme)")
			}
		}
	}
	return nil
}

// normalHost returns a Host name without brackets and trailing dot,
// lower-cased, and an IP address in its canonical form.
func normalHost(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.String()
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// hostOf returns the host part of a Host header value, without its port
// and brackets: "127.0.0.1:8042" → "127.0.0.1", "[::1]:8042" → "::1". A
// bare IPv6 address ("::1") is taken whole. ok is false for a value that is
// none of these.
func hostOf(v string) (string, bool) {
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return "", false
		}
		if rest := v[end+1:]; rest != "" {
			port, ok := strings.CutPrefix(rest, ":")
			if !ok || !validPort(port) {
				return "", false
			}
		}
		return v[1:end], true
	}
	switch strings.Count(v, ":") {
	case 0:
		return v, v != ""
	case 1:
		h, port, _ := strings.Cut(v, ":")
		return h, h != "" && validPort(port)
	}
	return v, true // a bare IPv6 address; anything else fails the checks after
}

// validPort reports whether p is 1 to 5 digits.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// hostAllowed reports whether a request with Host header value v may use
// the API: when v names localhost or a loopback address (127.0.0.0/8,
// ::1), with or without a port, or is one of the configured hosts. A web
// page that an attacker's DNS points at 127.0.0.1 still sends the
// attacker's name in Host, so it is refused.
func (a *access) hostAllowed(v string) bool {
	h, ok := hostOf(v)
	if !ok {
		return false
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().IsLoopback() || a.hosts[ip.String()]
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return h == "localhost" || a.hosts[h]
}

// tokenOK reports whether r carries the token in exactly one
// "Authorization: Bearer TOKEN" field. The auth-scheme is
// case-insensitive (RFC 9110 section 11.1). Comparing the SHA-256 of the
// token sent with that of the one configured, in constant time, tells
// nothing about the token, not even its length.
func (a *access) tokenOK(r *http.Request) (sent, ok bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return false, false
	}
	scheme, tok, _ := strings.Cut(vals[0], " ")
	tok = strings.TrimLeft(tok, " ")
	if len(vals) != 1 || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return true, false
	}
	sum := sha256.Sum256([]byte(tok))
	return true, subtle.ConstantTimeCompare(sum[:], a.token[:]) == 1
}

// unixConnKey marks, in a connection's context, that it came over a Unix
// socket.
type unixConnKey struct{}

// markUnix is the http.Server's ConnContext: it records whether c came
// over a Unix socket.
func markUnix(ctx context.Context, c net.Conn) context.Context {
	if c.LocalAddr().Network() == "unix" {
		return context.WithValue(ctx, unixConnKey{}, true)
	}
	return ctx
}

// admit answers a request that may not use the API and returns its
// status, or returns 0 to let it through. A request over a Unix socket
// passes the Host check (a browser cannot reach a Unix socket, and the
// socket's file mode decides who can); the token, when configured, is
// needed on every listener. A refused request is answered at once and its
// connection closed, without reading its body.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) int {
	a := s.access
	if unix, _ := r.Context().Value(unixConnKey{}).(bool); !unix && !a.hostAllowed(r.Host) {
		return refuse(w, r, &api.Error{Code: api.CodeHostNotAllowed,
			Detail: "the Host " + safeText(r.Host) + " is not a loopback name or address, nor one of management_hosts"})
	}
	if !a.hasToken {
		return 0
	}
	sent, ok := a.tokenOK(r)
	if ok {
		return 0
	}
	challenge := `Bearer realm="mantrid"`
	detail := `this API needs "Authorization: Bearer TOKEN" with the token of management_token_file ` +
		`(mantrid-client: --token-file PATH or $` + api.EnvToken + `)`
	if sent {
		challenge += `, error="invalid_token"`
		detail = "the token sent is not the one of management_token_file"
	}
	w.Header().Set("WWW-Authenticate", challenge)
	return refuse(w, r, &api.Error{Code: api.CodeUnauthorized, Detail: detail})
}

// refuse sends e and closes the connection after it. A body the client
// may still be sending is not read: the read deadline is moved to now, so
// that net/http's discarding of an unread body gives up at once.
func refuse(w http.ResponseWriter, r *http.Request, e *api.Error) int {
	w.Header().Set("Connection", "close")
	if r.ContentLength != 0 {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	return writeError(w, e)
}
