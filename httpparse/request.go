package httpparse

// Request is a parsed request head. Every slice aliases the buffer given to
// ParseRequest (Path may instead alias the Request itself); the fields are
// meaningful only after ParseRequest succeeded.
type Request struct {
	// Method is the method token as sent, e.g. "GET" (RFC 9110 §9).
	Method []byte
	// Target is the request-target as sent (RFC 9112 §3.2).
	Target []byte
	// Path is the origin-form path and query to forward: Target itself for
	// origin-form and asterisk-form, the part after the authority for
	// absolute-form, or "/" when that part is empty.
	Path []byte
	// Host is the Host field value, or the authority of an absolute-form
	// target; raw (case and port not normalised). Empty only for an
	// HTTP/1.0 request without Host.
	Host []byte
	// Minor is the minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
	Minor int
	// Headers lists every field line in order. Its backing array is reused
	// by the next parse.
	Headers []Header
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports Transfer-Encoding: chunked, the only coding accepted.
	Chunked bool
	// KeepAlive reports whether the connection persists after this request:
	// HTTP/1.1 unless Connection lists close, HTTP/1.0 only if Connection
	// lists keep-alive (RFC 9112 §9.3).
	KeepAlive bool
	// Upgrade reports an HTTP/1.1 request whose Connection lists upgrade and
	// that has an Upgrade field (RFC 9110 §7.8).
	Upgrade bool
	// Expect100 reports Expect: 100-continue in an HTTP/1.1 request
	// (RFC 9110 §10.1.1).
	Expect100 bool
	// AbsoluteForm reports a target in absolute-form (RFC 9112 §3.2.2).
	AbsoluteForm bool

	slash [1]byte // backs Path "/"
}

// Reset clears r for reuse, keeping the capacity of Headers.
func (r *Request) Reset() {
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
}

// ConnectionLists reports whether a Connection field of r lists name,
// ignoring case: such a field is hop-by-hop and not forwarded
// (RFC 9110 §7.6.1).
func (r *Request) ConnectionLists(name []byte) bool {
	return connectionLists(r.Headers, name)
}

// BodyKind tells how the body of r is framed (RFC 9112 §6.3): BodyChunked,
// BodyContentLength for a positive Content-Length, else BodyNone.
func (r *Request) BodyKind() BodyKind {
	switch {
	case r.Chunked:
		return BodyChunked
	case r.ContentLength > 0:
		return BodyContentLength
	}
	return BodyNone
}

// ParseRequest parses the request head at the start of buf into req.
//
// Call it again with the same message and more bytes appended while it
// returns ErrNeedMore; it resumes where it stopped, so the total work is
// linear in the head size. buf must always start at the first byte of the
// message. On success n is the length of the head including the final CRLF
// CRLF, and req (reset first) aliases buf. Any other error is an *Error
// carrying the status to answer with, and req is unspecified; the
// connection must then be closed. After a result or a protocol error the
// Parser is ready for the next message.
//
// Errors are reported as early as the bytes allow: a bare LF as soon as it
// arrives, ErrURITooLong as soon as the target exceeds MaxURILength,
// ErrHeadTooLarge as soon as MaxHeadSize bytes arrived without the end of
// the head. The result never depends on how the bytes were split between
// calls.
func (p *Parser) ParseRequest(buf []byte, req *Request) (n int, err error) {
	p.begin(buf, kindRequest, stLeading)
	n, err = p.run(buf)
	if err == nil {
		err = p.finishRequest(buf, req)
	}
	if err == ErrNeedMore {
		return 0, err
	}
	p.Reset()
	if err != nil {
		return 0, err
	}
	return n, nil
}

// leadingLines skips up to maxLeadingEmptyLines CRLF before the request
// line (RFC 9112 §2.2).
func (p *Parser) leadingLines(b []byte) error {
	for p.pos < len(b) {
		switch b[p.pos] {
		case '\r':
			if err := endOfLine(b, p.pos); err != nil {
				return err
			}
			if p.m.leading == maxLeadingEmptyLines {
				return ErrBadRequestLine
			}
			p.m.leading++
			p.pos += 2
		case '\n':
			return ErrBareLF
		default:
			p.m.method.start = p.pos
			p.state = stMethod
			return nil
		}
	}
	return ErrNeedMore
}

// method scans the method token and its SP (RFC 9112 §3, RFC 9110 §9.1).
func (p *Parser) method(b []byte) error {
	i := skipClass(b, p.pos, cToken)
	p.pos = i
	if i == len(b) {
		return ErrNeedMore
	}
	return p.endElement(b, i, &p.m.method, &p.m.target, stTarget, ErrBadMethod)
}

// target scans the request-target and its SP (RFC 9112 §3.2): visible
// ASCII except "#", at most MaxURILength bytes.
func (p *Parser) target(b []byte) error {
	i := skipTarget(b, p.pos)
	if i-p.m.target.start > p.lim.MaxURILength {
		return ErrURITooLong
	}
	p.pos = i
	if i == len(b) {
		return ErrNeedMore
	}
	return p.endElement(b, i, &p.m.target, &p.m.version, stVersion, ErrBadTarget)
}

// endElement finishes a request-line element (cur) whose scan stopped at
// b[i]: exactly one SP ends a non-empty element and starts next in state
// st (RFC 9112 §3); a line end there is a short request line; any other
// byte is bad, reported as bad.
func (p *Parser) endElement(b []byte, i int, cur, next *span, st state, bad error) error {
	switch b[i] {
	case ' ':
		if i == cur.start {
			return ErrBadRequestLine
		}
		cur.end = i
		next.start = i + 1
		p.pos = i + 1
		p.state = st
		return nil
	case '\r', '\n':
		return lineEndsEarly(b, i, ErrBadRequestLine)
	}
	return bad
}

// requestVersion scans the HTTP-version and the CRLF ending the request
// line (RFC 9112 §2.3, §3), then checks the request line as a whole.
func (p *Parser) requestVersion(b []byte) error {
	const versionLen = len("HTTP/1.1")
	start, i := p.m.version.start, p.pos
	for i < len(b) && i-start < versionLen && b[i] != ' ' && b[i] != '\r' && b[i] != '\n' {
		i++
	}
	p.pos = i
	switch {
	case i == len(b):
		return ErrNeedMore
	case b[i] == ' ':
		return ErrBadRequestLine
	case i-start < versionLen:
		return lineEndsEarly(b, i, ErrBadRequestLine)
	case b[i] != '\r' && b[i] != '\n':
		return ErrBadRequestLine
	}
	if err := endOfLine(b, i); err != nil {
		return err
	}
	minor, supported, wellFormed := parseVersion(b[start:i])
	switch {
	case !wellFormed:
		return ErrBadRequestLine
	case !supported:
		return ErrVersionNotSupported
	}
	p.m.version.end = i
	p.m.minor = minor
	p.pos = i + 2
	p.state = stFieldStart
	return p.checkTarget(b)
}

// requestField checks one field of a request head.
func (p *Parser) requestField(b, name, value []byte) error {
	switch kindOf(name) {
	case fieldHost:
		return p.host(b, value)
	case fieldContentLength:
		return p.contentLength(value)
	case fieldTransferEncoding:
		return p.transferEncoding(value)
	case fieldConnection:
		return p.connection(value)
	case fieldUpgrade:
		p.m.flags |= fUpgrade
	case fieldExpect:
		// 100-continue is the only expectation defined (RFC 9110 §10.1.1).
		if !equalFold(value, "100-continue") {
			return ErrExpectationFailed
		}
		p.m.flags |= fExpect
	}
	return nil
}

// host checks the Host field (RFC 9112 §3.2, RFC 9110 §7.2): one only, a
// valid uri-host [ ":" port ], equal to the authority of an absolute-form
// target.
func (p *Parser) host(b, value []byte) error {
	if p.m.flags&fHost != 0 {
		return ErrDuplicateHost
	}
	if !validHost(value) {
		return ErrBadHost
	}
	if p.m.flags&fAbsolute != 0 && !equalFoldBytes(value, b[p.m.authority.start:p.m.authority.end]) {
		return ErrHostMismatch
	}
	p.m.flags |= fHost
	p.m.hostField = len(p.fields) - 1
	return nil
}

// headWithBody reports a HEAD request (in any letter case) that announces
// a body: Transfer-Encoding, whatever its codings, or a Content-Length
// other than 0. A HEAD's content has no defined meaning and a server may
// ignore it without reading it, taking its bytes for the next request
// (RFC 9110 §9.3.2; request smuggling, RFC 9112 §11.2). Other methods
// keep their bodies. The method is compared only when a body is announced.
func (p *Parser) headWithBody(buf []byte) bool {
	m := &p.m
	body := m.flags&fTE != 0 || m.flags&fCL != 0 && m.length != 0
	return body && equalFold(buf[m.method.start:m.method.end], "head")
}

// finishRequest checks the complete head and fills req.
func (p *Parser) finishRequest(buf []byte, req *Request) error {
	m := &p.m
	if m.minor == 1 && m.flags&fHost == 0 {
		return ErrMissingHost
	}
	if p.headWithBody(buf) {
		return ErrHeadWithBody
	}
	if err := p.checkTransferEncoding(); err != nil {
		return err
	}
	req.Reset()
	req.Method = buf[m.method.start:m.method.end]
	req.Target = buf[m.target.start:m.target.end]
	req.Path = buf[m.path.start:m.path.end]
	if len(req.Path) == 0 {
		req.slash[0] = '/'
		req.Path = req.slash[:]
	}
	switch {
	case m.flags&fAbsolute != 0:
		req.Host = buf[m.authority.start:m.authority.end]
	case m.flags&fHost != 0:
		f := p.fields[m.hostField]
		req.Host = buf[f.value:f.end]
	}
	req.Minor = m.minor
	req.Headers = p.appendHeaders(req.Headers, buf)
	if m.flags&fCL != 0 {
		req.ContentLength = m.length
	}
	req.Chunked = m.flags&fChunked != 0
	req.KeepAlive = p.keepAlive()
	req.Upgrade = m.minor == 1 && m.flags&fConnUpgrade != 0 && m.flags&fUpgrade != 0
	req.Expect100 = m.minor == 1 && m.flags&fExpect != 0
	req.AbsoluteForm = m.flags&fAbsolute != 0
	return nil
}
