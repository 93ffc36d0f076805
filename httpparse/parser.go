package httpparse

import "slices"

// Header is one field line of a head. Name and Value alias the parsed
// buffer; Value has its leading and trailing whitespace (OWS) removed.
type Header struct {
	Name, Value []byte
}

// state is where the head scanner stands.
type state uint8

// Head scanner states, in message order.
const (
	stIdle          state = iota // no message started
	stLeading                    // empty lines before the request line
	stMethod                     // request-line method
	stTarget                     // request-line request-target
	stVersion                    // request-line HTTP-version and CRLF
	stStatusVersion              // status-line HTTP-version and SP
	stStatusCode                 // status-line status-code
	stReason                     // status-line reason-phrase and CRLF
	stFieldStart                 // first byte of a field line or final CRLF
	stFieldName                  // field-name up to the colon
	stFieldValue                 // field-value and CRLF
	stEnd                        // the final CRLF has been scanned
)

// kind is the kind of message being parsed.
type kind uint8

const (
	kindRequest kind = iota + 1
	kindResponse
)

// span is the half-open byte range [start, end) of the message buffer.
type span struct{ start, end int }

// fieldPos locates one field line: name [name, colon), value [value, end).
type fieldPos struct{ name, colon, value, end int }

// Flags collected from the fields of a head.
const (
	fHost        = 1 << iota // a Host field was seen
	fCL                      // a Content-Length field was seen
	fTE                      // a Transfer-Encoding field was seen
	fChunked                 // the last transfer coding so far is chunked
	fTEUnknown               // a transfer coding other than chunked was seen
	fClose                   // Connection lists close
	fKeepAlive               // Connection lists keep-alive
	fConnUpgrade             // Connection lists upgrade
	fUpgrade                 // an Upgrade field was seen
	fExpect                  // Expect: 100-continue was seen
	fAbsolute                // the request target is in absolute-form
)

// message is the per-message scan state of a Parser; its zero value starts a
// new message.
type message struct {
	leading   int  // empty lines skipped before the request line
	method    span // request method
	target    span // request target
	version   span // request HTTP-version
	authority span // authority of an absolute-form target
	path      span // path and query to forward
	reason    span // response reason-phrase
	minor     int  // HTTP/1.minor
	status    int  // response status code
	nameStart int  // start of the current field line
	colon     int  // colon of the current field line
	hostField int  // index of the Host field in Parser.fields
	flags     uint16
	length    int64 // Content-Length value
}

// Parser parses request and response heads. Its zero value is ready to use
// with default limits. A Parser parses one message at a time and is used by
// one goroutine; reuse it (and the Request or Response) across messages so
// that parsing does not allocate.
type Parser struct {
	// Limits bounds what is accepted; zero fields mean their defaults. It
	// is read when a message starts.
	Limits Limits

	lim    Limits
	kind   kind
	state  state
	pos    int // next byte to scan
	m      message
	fields []fieldPos
}

// Grow makes room for n more header fields, so that a connection's first
// head does not grow the parser's field list one doubling at a time (one
// allocation instead of several per new connection).
func (p *Parser) Grow(n int) { p.fields = slices.Grow(p.fields, n) }

// Reset abandons the message being parsed; the next call starts a new one.
// ParseRequest and ParseResponse reset the Parser themselves when they
// return a result or a protocol error, so Reset is needed only to abandon a
// head that is still incomplete.
func (p *Parser) Reset() {
	p.state = stIdle
	p.pos = 0
	p.m = message{}
	p.fields = p.fields[:0]
}

// begin starts a message of kind k at state s unless one is in progress
// over a prefix of buf.
func (p *Parser) begin(buf []byte, k kind, s state) {
	if p.state != stIdle && p.kind == k && p.pos <= len(buf) {
		return
	}
	p.Reset()
	p.lim = p.Limits.orDefault()
	p.kind = k
	p.state = s
}

// run scans buf, at most MaxHeadSize bytes of it, until the end of the
// head. It returns the head length, ErrNeedMore or a protocol error.
func (p *Parser) run(buf []byte) (int, error) {
	b := buf
	if len(b) > p.lim.MaxHeadSize {
		b = b[:p.lim.MaxHeadSize]
	}
	err := p.scan(b)
	switch {
	case err == ErrNeedMore && len(buf) >= p.lim.MaxHeadSize:
		return 0, ErrHeadTooLarge
	case err != nil:
		return 0, err
	}
	return p.pos, nil
}

// scan runs the head state machine over b from p.pos.
func (p *Parser) scan(b []byte) error {
	for {
		var err error
		switch p.state {
		case stLeading:
			err = p.leadingLines(b)
		case stMethod:
			err = p.method(b)
		case stTarget:
			err = p.target(b)
		case stVersion:
			err = p.requestVersion(b)
		case stStatusVersion:
			err = p.statusVersion(b)
		case stStatusCode:
			err = p.statusCode(b)
		case stReason:
			err = p.reason(b)
		case stFieldStart:
			err = p.fieldStart(b)
		case stFieldName:
			err = p.fieldName(b)
		case stFieldValue:
			err = p.fieldValue(b)
		case stEnd:
			return nil
		default:
			return ErrBadRequestLine
		}
		if err != nil {
			return err
		}
	}
}

// endOfLine checks the CR or LF at b[i] (RFC 9112 §2.2): nil for CRLF,
// ErrNeedMore for a CR that ends b, ErrBareCR or ErrBareLF otherwise.
func endOfLine(b []byte, i int) error {
	if b[i] == '\n' {
		return ErrBareLF
	}
	if i+1 == len(b) {
		return ErrNeedMore
	}
	if b[i+1] != '\n' {
		return ErrBareCR
	}
	return nil
}

// lineEndsEarly is endOfLine for a CR or LF where the line must not end yet:
// a well-formed CRLF there is the error def.
func lineEndsEarly(b []byte, i int, def error) error {
	if err := endOfLine(b, i); err != nil {
		return err
	}
	return def
}

// fieldStart scans the first byte of a field line or the CRLF that ends the
// head (RFC 9112 §2.1, §5).
func (p *Parser) fieldStart(b []byte) error {
	if p.pos == len(b) {
		return ErrNeedMore
	}
	switch c := b[p.pos]; {
	case c == '\r':
		if err := endOfLine(b, p.pos); err != nil {
			return err
		}
		p.pos += 2
		p.state = stEnd
		return nil
	case c == '\n':
		return ErrBareLF
	case isOWS(c):
		// Obsolete line folding, or whitespace between the start line and
		// the first field line: reject (RFC 9112 §2.2, §5.2).
		return ErrObsFold
	case !isToken(c):
		return ErrBadHeaderName
	case len(p.fields) >= p.lim.MaxHeaders:
		return ErrTooManyHeaders
	}
	p.m.nameStart = p.pos
	p.pos++
	p.state = stFieldName
	return nil
}

// fieldName scans a field-name up to its colon; no whitespace is allowed
// before the colon (RFC 9112 §5.1).
func (p *Parser) fieldName(b []byte) error {
	i := skipClass(b, p.pos, cToken)
	p.pos = i
	if i == len(b) {
		return ErrNeedMore
	}
	switch b[i] {
	case ':':
		p.m.colon = i
		p.pos = i + 1
		p.state = stFieldValue
		return nil
	case ' ', '\t':
		return ErrSpaceBeforeColon
	case '\r', '\n':
		return lineEndsEarly(b, i, ErrMissingColon)
	}
	return ErrBadHeaderName
}

// fieldValue scans a field value and its CRLF (RFC 9110 §5.5), records the
// field and checks it.
func (p *Parser) fieldValue(b []byte) error {
	i := skipValue(b, p.pos)
	p.pos = i
	if i == len(b) {
		return ErrNeedMore
	}
	if b[i] != '\r' && b[i] != '\n' {
		return ErrBadHeaderValue
	}
	if err := endOfLine(b, i); err != nil {
		return err
	}
	start, end := p.m.colon+1, i
	for start < end && isOWS(b[start]) {
		start++
	}
	for end > start && isOWS(b[end-1]) {
		end--
	}
	p.fields = append(p.fields, fieldPos{name: p.m.nameStart, colon: p.m.colon, value: start, end: end})
	p.pos = i + 2
	p.state = stFieldStart
	if p.kind == kindRequest {
		return p.requestField(b, b[p.m.nameStart:p.m.colon], b[start:end])
	}
	return p.responseField(b[p.m.nameStart:p.m.colon], b[start:end])
}

// appendHeaders appends the recorded fields of buf to dst.
func (p *Parser) appendHeaders(dst []Header, buf []byte) []Header {
	for _, f := range p.fields {
		dst = append(dst, Header{Name: buf[f.name:f.colon], Value: buf[f.value:f.end]})
	}
	return dst
}

// parseVersion parses an HTTP-version (RFC 9112 §2.3). It returns the minor
// version of HTTP/1.0 or HTTP/1.1; wellFormed reports whether v has the form
// HTTP/DIGIT.DIGIT at all.
func parseVersion(v []byte) (minor int, supported, wellFormed bool) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return 0, false, false
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, false, true
	}
	return int(v[7] - '0'), true, true
}
