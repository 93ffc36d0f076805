package httpparse

// fieldKind names the fields the parser interprets.
type fieldKind uint8

const (
	fieldOther fieldKind = iota
	fieldHost
	fieldContentLength
	fieldTransferEncoding
	fieldConnection
	fieldExpect
	fieldUpgrade
)

// kindOf classifies a field name, ignoring case (RFC 9110 §5.1).
func kindOf(name []byte) fieldKind {
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			return fieldHost
		}
	case 6:
		if equalFold(name, "expect") {
			return fieldExpect
		}
	case 7:
		if equalFold(name, "upgrade") {
			return fieldUpgrade
		}
	case 10:
		if equalFold(name, "connection") {
			return fieldConnection
		}
	case 14:
		if equalFold(name, "content-length") {
			return fieldContentLength
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			return fieldTransferEncoding
		}
	}
	return fieldOther
}

// maxContentLengthDigits bounds Content-Length so that it fits an int64.
const maxContentLengthDigits = 18

// parseContentLength parses a Content-Length value: 1*DIGIT, no sign, no
// whitespace, no list, at most 18 digits (RFC 9110 §8.6).
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > maxContentLengthDigits {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// nextElement returns the list element of v that starts at i, without OWS,
// and the index after its comma (RFC 9110 §5.6.1). The elements of the
// lists parsed here are tokens, so every comma separates.
func nextElement(v []byte, i int) (elem []byte, next int) {
	j := i
	for j < len(v) && v[j] != ',' {
		j++
	}
	return trimOWS(v[i:j]), j + 1
}

// isTokenString reports whether e is a non-empty token.
func isTokenString(e []byte) bool {
	return len(e) > 0 && skipClass(e, 0, cToken) == len(e)
}

// contentLength records a Content-Length field. A request may carry only
// one; a response may repeat the same value (RFC 9110 §8.6, RFC 9112 §6.3).
func (p *Parser) contentLength(v []byte) error {
	n, ok := parseContentLength(v)
	if p.m.flags&fCL != 0 {
		if p.kind == kindRequest || !ok || n != p.m.length {
			return ErrDuplicateContentLength
		}
	}
	if !ok {
		return ErrBadContentLength
	}
	if p.m.flags&fTE != 0 {
		return ErrCLAndTE
	}
	p.m.flags |= fCL
	p.m.length = n
	return nil
}

// transferEncoding records a Transfer-Encoding field. The list of all such
// fields together must be exactly "chunked" (RFC 9112 §6.1, §6.3). An
// empty or malformed element, a transfer parameter, or any coding after
// chunked (chunked twice, or not last) is ErrBadTransferEncoding at once;
// other codings are reported by checkTransferEncoding at the end of the
// head.
func (p *Parser) transferEncoding(v []byte) error {
	if p.m.minor == 0 {
		return ErrTEInHTTP10
	}
	if p.m.flags&fCL != 0 {
		return ErrCLAndTE
	}
	p.m.flags |= fTE
	for i := 0; i <= len(v); {
		var e []byte
		e, i = nextElement(v, i)
		if !isTokenString(e) || p.m.flags&fChunked != 0 {
			return ErrBadTransferEncoding
		}
		if equalFold(e, "chunked") {
			p.m.flags |= fChunked
		} else {
			p.m.flags |= fTEUnknown
		}
	}
	return nil
}

// checkTransferEncoding checks, at the end of the head, that the codings
// of a message with Transfer-Encoding are chunked only: any other coding
// (gzip, identity, …) is ErrUnsupportedTransferEncoding, 501 (RFC 9112
// §6.1). RFC 9112 §6.3 asks for 400 when chunked is not final; Mantrid
// answers 501 whenever an unknown coding is the reason, and 400 for every
// structural fault, found earlier by transferEncoding.
func (p *Parser) checkTransferEncoding() error {
	if p.m.flags&fTEUnknown != 0 {
		return ErrUnsupportedTransferEncoding
	}
	return nil
}

// connection records the options of a Connection field (RFC 9110 §7.6.1):
// a list of tokens, empty elements ignored.
func (p *Parser) connection(v []byte) error {
	for i := 0; i <= len(v); {
		var e []byte
		e, i = nextElement(v, i)
		switch {
		case len(e) == 0:
		case !isTokenString(e):
			return ErrBadConnection
		case equalFold(e, "close"):
			p.m.flags |= fClose
		case equalFold(e, "keep-alive"):
			p.m.flags |= fKeepAlive
		case equalFold(e, "upgrade"):
			p.m.flags |= fConnUpgrade
		}
	}
	return nil
}

// keepAlive reports whether the connection persists after this message
// (RFC 9112 §9.3): HTTP/1.1 unless Connection lists close, HTTP/1.0 only if
// it lists keep-alive and not close.
func (p *Parser) keepAlive() bool {
	if p.m.flags&fClose != 0 {
		return false
	}
	return p.m.minor == 1 || p.m.flags&fKeepAlive != 0
}

// connectionLists reports whether any Connection field of headers lists
// name, ignoring case (RFC 9110 §7.6.1).
func connectionLists(headers []Header, name []byte) bool {
	for _, h := range headers {
		if kindOf(h.Name) != fieldConnection {
			continue
		}
		for i := 0; i <= len(h.Value); {
			var e []byte
			e, i = nextElement(h.Value, i)
			if len(e) > 0 && equalFoldBytes(e, name) {
				return true
			}
		}
	}
	return false
}
