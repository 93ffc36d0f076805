package state

import (
	"errors"
	"io"
	"unsafe"

	"github.com/bytedance/sonic"
)

// streamChunk is the least ReadMembers reads at a time.
const streamChunk = 64 << 10

// ReadMembers reads one JSON object from r, member by member, and calls fn
// with each member's name and raw JSON value, in document order, as
// EachMember does, but without holding the document: only the member
// being read is buffered, so a bulk PUT of 100 MB needs no 100 MB buffer.
// name and raw alias the buffer and are valid only during the call.
//
// fast, when not nil, sees each member first, its name already checked:
// when it returns true it has taken the member, whose value it vouches is
// valid JSON (it is a parser of a strict subset of JSON, such as
// actions.ParseRuleFast), and the value is neither checked again nor
// given to fn. After an error of fn, fast is no longer called.
//
// Each name and value is checked as the whole document would be (JSON
// syntax, raw control characters, MaxDepth), and so is the structure
// between them. What it returns, and so what a caller answers, is what
// EachMember would return for the whole document: an error of r (a body
// too large or cut short) first, then ErrSyntax, ErrNotObject or ErrTooDeep,
// then the first error fn returned. So once fn has returned an error,
// ReadMembers still reads and checks the rest of the document, without
// calling fn again.
func ReadMembers(r io.Reader, fast func(name, raw string) bool, fn func(name, raw string) error) error {
	s := &memberStream{r: r, fast: fast}
	fnErr := s.members(fn)
	switch {
	case s.readErr != nil:
		return s.readErr
	case s.err != nil:
		return s.err
	}
	return fnErr
}

// memberStream is ReadMembers' state: a window buf[off:] of the input.
type memberStream struct {
	r       io.Reader
	buf     []byte
	off     int   // start of the unconsumed input in buf
	mark    int   // start of the member being read: buf[mark:] is kept
	eof     bool  // r has no more
	readErr error // r's error other than io.EOF
	err     error // the document's problem
	fast    func(name, raw string) bool
}

// members reads the object and calls fn until it fails; it returns fn's
// first error and leaves the document's problem, if any, in s.err.
func (s *memberStream) members(fn func(name, raw string) error) error {
	c, ok := s.skipSpace()
	if !ok {
		s.err = ErrSyntax
		return nil
	}
	if c != '{' {
		s.notObject()
		return nil
	}
	s.off++
	s.mark = s.off
	var fnErr error
	if c, ok = s.skipSpace(); ok && c == '}' {
		s.off++
		s.end()
		return nil
	}
	for {
		s.mark = s.off
		from, to, unescaped, ok := s.name()
		if !ok {
			return fnErr
		}
		n, ok := s.valueEnd()
		if !ok {
			return fnErr
		}
		name := unescaped
		if to > 0 {
			name = view(s.buf[s.mark+from : s.mark+to]) // the window may have moved
		}
		raw := view(s.buf[s.off : s.off+n])
		if fnErr != nil || s.fast == nil || !s.fast(name, raw) {
			if !s.check(raw) {
				return fnErr
			}
			if fnErr == nil {
				fnErr = fn(name, raw)
			}
		}
		s.off += len(raw)
		c, ok := s.skipSpace()
		switch {
		case ok && c == ',':
			s.off++
			continue
		case ok && c == '}':
			s.off++
			s.end()
			return fnErr
		}
		s.err = ErrSyntax
		return fnErr
	}
}

// name reads a member's name and the colon after it. It returns where the
// name is, from s.mark, or, when it has escapes (to == 0), the name
// decoded.
func (s *memberStream) name() (from, to int, unescaped string, ok bool) {
	if c, ok := s.skipSpace(); !ok || c != '"' {
		s.err = ErrSyntax
		return 0, 0, "", false
	}
	n, ok := s.scan(func(b []byte) (int, bool) { return stringLen(b) })
	if !ok {
		return 0, 0, "", false
	}
	quoted := s.buf[s.off : s.off+n]
	if !sonic.Valid(quoted) {
		s.err = ErrSyntax
		return 0, 0, "", false
	}
	from, to = s.off+1-s.mark, s.off+n-1-s.mark
	if hasByte(quoted, '\\') {
		var err error
		if unescaped, err = unescape(string(quoted)); err != nil {
			s.err = ErrSyntax
			return 0, 0, "", false
		}
		from, to = 0, 0
	}
	s.off += n
	if c, ok := s.skipSpace(); !ok || c != ':' {
		s.err = ErrSyntax
		return 0, 0, "", false
	}
	s.off++
	return from, to, unescaped, true
}

// valueEnd finds the end of a member's value, without consuming it, and
// returns its length.
func (s *memberStream) valueEnd() (int, bool) {
	if _, ok := s.skipSpace(); !ok {
		s.err = ErrSyntax
		return 0, false
	}
	return s.scan(valueLen)
}

// check checks a member's value as the whole document would be checked.
func (s *memberStream) check(raw string) bool {
	switch {
	case !sonic.ValidString(raw) || rawControlInString(raw):
		s.err = ErrSyntax
		return false
	case depthOf(bytesOf(raw))+1 > MaxDepth:
		s.err = ErrTooDeep
		return false
	}
	return true
}

// scan measures the token at s.off with measure, reading more input until
// the token is whole; measure reports the token's length, or false when it
// needs more bytes (or -1, false when the bytes can never be one).
func (s *memberStream) scan(measure func([]byte) (int, bool)) (int, bool) {
	for {
		n, ok := measure(s.buf[s.off:])
		if ok {
			return n, true
		}
		if n < 0 || !s.more() {
			if s.err == nil {
				s.err = ErrSyntax
			}
			return 0, false
		}
	}
}

// skipSpace skips JSON white space and returns the next byte, reading more
// input when needed; false at the end of the input.
func (s *memberStream) skipSpace() (byte, bool) {
	for {
		for s.off < len(s.buf) {
			switch c := s.buf[s.off]; c {
			case ' ', '\t', '\n', '\r':
				s.off++
			default:
				return c, true
			}
		}
		if !s.more() {
			return 0, false
		}
	}
}

// end checks that only white space follows the object.
func (s *memberStream) end() {
	if _, ok := s.skipSpace(); ok || s.readErr != nil {
		s.err = ErrSyntax
	}
}

// notObject reads the rest of a document that does not start with '{' and
// says why it is refused, as EachMember would.
func (s *memberStream) notObject() {
	for s.more() {
	}
	if s.readErr == nil {
		s.err = EachMember(string(s.buf[s.off:]), func(string, string) error { return nil })
	}
}

// more reads more input into the window, keeping s.buf[s.mark:] (moving
// it to the front, with s.off and s.mark), and reports whether it got any.
// It reads at least as much as it keeps, so a large member is read in a
// number of steps that grows with its log.
func (s *memberStream) more() bool {
	if s.eof || s.readErr != nil {
		return false
	}
	s.mark = min(s.mark, s.off)
	kept := len(s.buf) - s.mark
	want := max(streamChunk, kept)
	switch {
	case s.mark > 0 && cap(s.buf)-kept >= want:
		copy(s.buf, s.buf[s.mark:])
		s.buf, s.off, s.mark = s.buf[:kept], s.off-s.mark, 0
	case cap(s.buf)-len(s.buf) < want:
		grown := make([]byte, kept, kept+want)
		copy(grown, s.buf[s.mark:])
		s.buf, s.off, s.mark = grown, s.off-s.mark, 0
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	switch {
	case errors.Is(err, io.EOF):
		s.eof = true
	case err != nil:
		s.readErr = err
	}
	return n > 0 || (err == nil && !s.eof)
}

// stringLen returns the length of the JSON string (quotes included) at the
// start of b, false while b ends before its closing quote.
func stringLen(b []byte) (int, bool) {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			i++
		}
	}
	return 0, false
}

// valueLen returns the length of the JSON value at the start of b, false
// while b may end inside it. A number or literal ends at the first byte
// that cannot be part of it; b ending right after one is taken as more to
// come.
func valueLen(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch b[0] {
	case '"':
		return stringLen(b)
	case '{', '[':
		depth := 0
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '"':
				n, ok := stringLen(b[i:])
				if !ok {
					return 0, false
				}
				i += n - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, true
				}
			}
		}
		return 0, false
	}
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i, true // empty when nothing came before: refused by the caller's check
		}
	}
	return 0, false
}

// depthOf returns how deeply containers nest in a valid JSON value.
func depthOf(raw []byte) int {
	depth, most := 0, 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			n, _ := stringLen(raw[i:])
			i += n - 1
		case '{', '[':
			depth++
			most = max(most, depth)
		case '}', ']':
			depth--
		}
	}
	return most
}

// bytesOf returns s's bytes without copying; they must not be changed.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
