package httpparse

// BodyKind tells how a message body is framed (RFC 9112 §6.3).
type BodyKind uint8

// Body framings.
const (
	// BodyNone: the message has no body.
	BodyNone BodyKind = iota
	// BodyContentLength: exactly ContentLength bytes follow the head.
	BodyContentLength
	// BodyChunked: the body uses the chunked coding; see ChunkedDecoder.
	BodyChunked
	// BodyUntilClose: the body ends when the server closes the connection
	// (responses only).
	BodyUntilClose
)

// String returns the name of k, e.g. "content-length".
func (k BodyKind) String() string {
	switch k {
	case BodyNone:
		return "none"
	case BodyContentLength:
		return "content-length"
	case BodyChunked:
		return "chunked"
	case BodyUntilClose:
		return "until-close"
	}
	return "invalid"
}

// Response is a parsed response head. Every slice aliases the buffer given
// to ParseResponse; the fields are meaningful only after ParseResponse
// succeeded.
type Response struct {
	// Minor is the minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1.
	Minor int
	// Status is the status code, 100 to 599.
	Status int
	// Reason is the reason-phrase as sent; it may be empty.
	Reason []byte
	// Headers lists every field line in order. Its backing array is reused
	// by the next parse.
	Headers []Header
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports Transfer-Encoding: chunked, the only coding accepted.
	Chunked bool
	// KeepAlive reports whether the server keeps the connection open after
	// this response, per version and Connection (RFC 9112 §9.3). A body
	// framed BodyUntilClose ends the connection whatever KeepAlive says.
	KeepAlive bool
}

// Reset clears r for reuse, keeping the capacity of Headers.
func (r *Response) Reset() {
	*r = Response{Headers: r.Headers[:0], ContentLength: -1}
}

// ConnectionLists reports whether a Connection field of r lists name,
// ignoring case: such a field is hop-by-hop and not forwarded
// (RFC 9110 §7.6.1).
func (r *Response) ConnectionLists(name []byte) bool {
	return connectionLists(r.Headers, name)
}

// BodyKind tells how the body of r is framed, given whether the request was
// HEAD (RFC 9112 §6.3): none for HEAD, 1xx, 204, 304 and Content-Length 0;
// chunked; content-length; else until-close.
func (r *Response) BodyKind(headRequest bool) BodyKind {
	switch {
	case headRequest, r.Status < 200, r.Status == 204, r.Status == 304:
		return BodyNone
	case r.Chunked:
		return BodyChunked
	case r.ContentLength == 0:
		return BodyNone
	case r.ContentLength > 0:
		return BodyContentLength
	}
	return BodyUntilClose
}

// ParseResponse parses the response head at the start of buf into resp,
// under the same contract as ParseRequest: call again with more bytes while
// it returns ErrNeedMore, n is the head length, resp aliases buf. The
// status line must be HTTP/1.0 or HTTP/1.1, a status 100–599 and an
// optional reason (RFC 9112 §4); the fields follow the request rules, except
// that Content-Length may repeat with the same value. A proxy answers its
// client 502 for any error.
func (p *Parser) ParseResponse(buf []byte, resp *Response) (n int, err error) {
	p.begin(buf, kindResponse, stStatusVersion)
	n, err = p.run(buf)
	if err == nil {
		err = p.finishResponse(buf, resp)
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

// statusVersion scans "HTTP/1.0 " or "HTTP/1.1 " (RFC 9112 §4).
func (p *Parser) statusVersion(b []byte) error {
	const prefix = "HTTP/1."
	for ; p.pos < len(b) && p.pos <= len(prefix)+1; p.pos++ {
		c := b[p.pos]
		switch {
		case p.pos < len(prefix):
			if c != prefix[p.pos] {
				return ErrBadStatusLine
			}
		case p.pos == len(prefix):
			if c != '0' && c != '1' {
				return ErrBadStatusLine
			}
			p.m.minor = int(c - '0')
		case c != ' ':
			return ErrBadStatusLine
		}
	}
	if p.pos <= len(prefix)+1 {
		return ErrNeedMore
	}
	p.state = stStatusCode
	return nil
}

// statusCode scans the three-digit status-code, 100 to 599, and the SP or
// CRLF after it (RFC 9112 §4, RFC 9110 §15).
func (p *Parser) statusCode(b []byte) error {
	const end = len("HTTP/1.1 200")
	for ; p.pos < len(b) && p.pos < end; p.pos++ {
		if !isDigit(b[p.pos]) {
			return ErrBadStatusLine
		}
		p.m.status = p.m.status*10 + int(b[p.pos]-'0')
	}
	if p.pos < end {
		return ErrNeedMore
	}
	if p.m.status < 100 || p.m.status > 599 {
		return ErrBadStatusLine
	}
	if p.pos == len(b) {
		return ErrNeedMore
	}
	switch b[p.pos] {
	case ' ':
		p.pos++
		p.m.reason = span{p.pos, p.pos}
		p.state = stReason
		return nil
	case '\r', '\n':
		// A status line without reason and without the SP before it is
		// accepted for robustness.
		if err := endOfLine(b, p.pos); err != nil {
			return err
		}
		p.m.reason = span{p.pos, p.pos}
		p.pos += 2
		p.state = stFieldStart
		return nil
	}
	return ErrBadStatusLine
}

// reason scans the reason-phrase and the CRLF ending the status line
// (RFC 9112 §4).
func (p *Parser) reason(b []byte) error {
	i := skipValue(b, p.pos)
	p.pos = i
	if i == len(b) {
		return ErrNeedMore
	}
	if b[i] != '\r' && b[i] != '\n' {
		return ErrBadStatusLine
	}
	if err := endOfLine(b, i); err != nil {
		return err
	}
	p.m.reason.end = i
	p.pos = i + 2
	p.state = stFieldStart
	return nil
}

// responseField checks one field of a response head.
func (p *Parser) responseField(name, value []byte) error {
	switch kindOf(name) {
	case fieldContentLength:
		return p.contentLength(value)
	case fieldTransferEncoding:
		return p.transferEncoding(value)
	case fieldConnection:
		return p.connection(value)
	}
	return nil
}

// finishResponse checks the complete head and fills resp.
func (p *Parser) finishResponse(buf []byte, resp *Response) error {
	if err := p.checkTransferEncoding(); err != nil {
		return err
	}
	resp.Reset()
	resp.Minor = p.m.minor
	resp.Status = p.m.status
	resp.Reason = buf[p.m.reason.start:p.m.reason.end]
	resp.Headers = p.appendHeaders(resp.Headers, buf)
	if p.m.flags&fCL != 0 {
		resp.ContentLength = p.m.length
	}
	resp.Chunked = p.m.flags&fChunked != 0
	resp.KeepAlive = p.keepAlive()
	return nil
}
