package loop

import (
	"bytes"
	"strconv"

	"github.com/mantrid/mantrid/httpparse"
)

// Header names compared case-insensitively when forwarding.
var (
	hConnection      = []byte("Connection")
	hKeepAlive       = []byte("Keep-Alive")
	hProxyConnection = []byte("Proxy-Connection")
	hTE              = []byte("TE")
	hUpgrade         = []byte("Upgrade")
	hTransferEnc     = []byte("Transfer-Encoding")
	hContentLength   = []byte("Content-Length")
	hHost            = []byte("Host")
	hXFF             = []byte("X-Forwarded-For")
	hXFProto         = []byte("X-Forwarded-Proto")
	hXFProtocol      = []byte("X-Forwarded-Protocol")
	vTrailers        = []byte("trailers")
)

// hopByHop reports the fields that describe one connection, not the
// message (RFC 9110 §7.6.1): a proxy never forwards them. Upgrade is
// forwarded only when upgrading; TE only as "trailers".
func hopByHop(name, value []byte, upgrading bool) bool {
	switch len(name) {
	case 2:
		return bytes.EqualFold(name, hTE) && !bytes.EqualFold(value, vTrailers)
	case 7:
		return bytes.EqualFold(name, hUpgrade) && !upgrading
	case 10:
		return bytes.EqualFold(name, hConnection) || bytes.EqualFold(name, hKeepAlive)
	case 16:
		return bytes.EqualFold(name, hProxyConnection)
	}
	return false
}

// framing reports Content-Length and Transfer-Encoding: Mantrid writes its
// own, canonical ones for the framing it chose (RFC 9112 §6).
func framing(name []byte) bool {
	return (len(name) == 14 && bytes.EqualFold(name, hContentLength)) ||
		(len(name) == 17 && bytes.EqualFold(name, hTransferEnc))
}

// forwardedField reports X-Forwarded-For/-Proto/-Protocol.
func forwardedField(name []byte) bool {
	return len(name) >= 15 && (bytes.EqualFold(name, hXFF) || bytes.EqualFold(name, hXFProto) || bytes.EqualFold(name, hXFProtocol))
}

// protectedFromConnection lists the fields a client cannot have removed by
// naming them in Connection: framing, Host and X-Forwarded-* are Mantrid's
// to decide.
func protectedFromConnection(name []byte) bool {
	return framing(name) || bytes.EqualFold(name, hHost) || forwardedField(name)
}

// controlled are the fields whose meaning Mantrid decides for the backend.
var controlled = [][]byte{hContentLength, hTransferEnc, hHost, hConnection, hKeepAlive,
	hProxyConnection, hTE, hUpgrade, hXFF, hXFProto, hXFProtocol}

// lookalike reports a field name that spells one of the controlled fields
// with '_' for '-' (Transfer_Encoding, X_Forwarded_For). Such a name is
// legal and means nothing to HTTP, but CGI-style backends (WSGI, Rack,
// PHP) turn '-' and '_' alike into '_': they would read it as the real
// field, behind Mantrid's back (a body framing it never checked, a client
// address it never set). Dropped, as nginx drops every underscore name.
func lookalike(name []byte) bool {
	if bytes.IndexByte(name, '_') < 0 {
		return false
	}
	for _, c := range controlled {
		if len(c) == len(name) && equalFoldDash(name, c) {
			return true
		}
	}
	return false
}

// equalFoldDash compares ASCII case-insensitively, '_' in a matching '-'.
func equalFoldDash(a, b []byte) bool {
	for i := range a {
		x, y := a[i]|0x20, b[i]|0x20
		if a[i] == '_' {
			x = '-'
		}
		if x != y {
			return false
		}
	}
	return true
}

// requestHeadSize is about what appendRequestHead writes for req: the
// request's own lines plus room for the fields Mantrid adds, so that a
// connection's first head is built with one allocation.
func requestHeadSize(req *httpparse.Request) int {
	n := len(req.Method) + len(req.Path) + 128
	for i := range req.Headers {
		n += len(req.Headers[i].Name) + len(req.Headers[i].Value) + 4
	}
	return n
}

// appendRequestHead appends the head Mantrid sends to a backend for req:
// origin-form request line, HTTP/1.1, the client's fields less hop-by-hop
// ones and those listed in Connection, canonical framing, and on a public
// listener X-Forwarded-For (the client's address) and X-Forwarded-Proto
// (http) in place of any the client sent (SPEC §2). On an internal listener
// the client's X-Forwarded-* fields are kept as sent.
func appendRequestHead(dst []byte, req *httpparse.Request, internal bool, clientIP []byte) []byte {
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, req.Path...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	hasHost := false
	for i := range req.Headers {
		h := &req.Headers[i]
		switch {
		case hopByHop(h.Name, h.Value, req.Upgrade), framing(h.Name), lookalike(h.Name):
			continue
		case forwardedField(h.Name) && !internal:
			continue
		case req.ConnectionLists(h.Name) && !protectedFromConnection(h.Name) &&
			!(req.Upgrade && bytes.EqualFold(h.Name, hUpgrade)):
			continue
		}
		hasHost = hasHost || bytes.EqualFold(h.Name, hHost)
		dst = appendField(dst, h.Name, h.Value)
	}
	if !hasHost && len(req.Host) > 0 {
		dst = appendField(dst, hHost, req.Host)
	}
	switch {
	case req.Chunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case req.ContentLength >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, req.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	}
	if !internal {
		dst = appendField(dst, hXFF, clientIP)
		dst = append(dst, "X-Forwarded-Proto: http\r\n"...)
	}
	if req.Upgrade {
		dst = append(dst, "Connection: upgrade\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// respFraming is how Mantrid frames a response to its client.
type respFraming uint8

const (
	frameNone    respFraming = iota // no body (HEAD, 1xx, 204, 304)
	frameLength                     // Content-Length
	frameChunked                    // chunked, relayed as the backend sent it
	frameClose                      // until the connection closes
)

// appendResponseHead appends the head Mantrid sends to its client for
// resp: HTTP/1.1 status line, the backend's fields less hop-by-hop ones and
// those listed in its Connection, framing as chosen, and Connection: close
// when the client connection ends after this response (keep-alive for an
// HTTP/1.0 client that keeps it).
func appendResponseHead(dst []byte, resp *httpparse.Response, f respFraming, keepAlive bool, clientMinor int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(resp.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, resp.Reason...)
	dst = append(dst, "\r\n"...)
	upgrading := resp.Status == 101
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if hopByHop(h.Name, h.Value, upgrading) || framing(h.Name) ||
			(resp.ConnectionLists(h.Name) && !(upgrading && bytes.EqualFold(h.Name, hUpgrade))) {
			continue
		}
		dst = appendField(dst, h.Name, h.Value)
	}
	switch {
	case f == frameChunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case f == frameLength || (f == frameNone && resp.ContentLength >= 0 && resp.Status != 204 && resp.Status >= 200):
		// A HEAD or 304 answer keeps the length of the body it describes.
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, resp.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	}
	switch {
	case upgrading:
		dst = append(dst, "Connection: upgrade\r\n"...)
	case !keepAlive:
		dst = append(dst, "Connection: close\r\n"...)
	case clientMinor == 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	return append(dst, "\r\n"...)
}

func appendField(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}
