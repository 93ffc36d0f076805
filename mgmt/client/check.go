package client

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strconv"
)

// Document says what an import file holds, as Check finds it.
type Document struct {
	// State is true for a state document {"hosts": {...}, "stats":
	// {...}} (what export writes, and the first Mantrid's state file);
	// false for a bare rules object {host: rule}.
	State bool
	// Hosts is how many rules it holds.
	Hosts int
}

// Check reads an import file from r to its end and says which kind it is
// and how many rules it holds: a state document, whose first member's
// value is an object ("hosts" or "stats"), or else a rules object, checked
// as CheckRules checks one. In a state document the "hosts" object is
// checked like a rules object and the other members are only skipped (the
// server checks the counters).
func Check(r io.Reader) (Document, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if !isState(br) {
		n, err := checkRules(br)
		return Document{Hosts: n}, err
	}
	s := &ruleScanner{r: br}
	n, err := s.state()
	return Document{State: true, Hosts: n}, err
}

// isState peeks at the start of a document: is the value of its first
// member an object?
func isState(r *bufio.Reader) bool {
	b, _ := r.Peek(64 << 10)
	i := 0
	space := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	expect := func(c byte) bool {
		space()
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	if !expect('{') || !expect('"') {
		return false
	}
	for ; i < len(b) && b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	i++
	return expect(':') && expect('{')
}

// state reads a state document: an object whose "hosts" member is checked
// as a rules object; it returns how many rules that holds.
func (s *ruleScanner) state() (int, error) {
	if c, err := s.skipSpace(); err != nil || c != '{' {
		return 0, errors.New("a state document must be one JSON object")
	}
	seen := make(map[string]struct{})
	hosts := false
	for {
		c, err := s.skipSpace()
		if err != nil {
			return 0, s.readError(err, "")
		}
		if c != '"' {
			return 0, s.syntaxError("expected a member name in double quotes")
		}
		name, err := s.key()
		if err != nil {
			return 0, err
		}
		if c, err = s.skipSpace(); err != nil || c != ':' {
			return 0, s.syntaxError("expected : after " + strconv.Quote(name))
		}
		if c, err = s.skipSpace(); err != nil {
			return 0, s.readError(err, "")
		}
		switch {
		case name == "hosts" && c == '{':
			if hosts {
				return 0, errors.New(`"hosts" is given twice`)
			}
			hosts = true
			if err := s.members(seen); err != nil {
				return 0, err
			}
		case name == "hosts":
			return 0, errors.New(`"hosts" must be an object {"host": [action, options, subdomains], ...}`)
		default:
			if err := s.value(c); err != nil {
				return 0, s.readError(err, "")
			}
		}
		if c, err = s.skipSpace(); err != nil {
			return 0, s.readError(err, "")
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return 0, s.syntaxError("expected , or } after the member " + strconv.Quote(name))
		}
	}
	if !hosts {
		return 0, errors.New(`a state document needs a "hosts" object`)
	}
	if _, err := s.skipSpace(); !errors.Is(err, io.EOF) {
		return 0, errors.New("there is more data after the JSON object, at byte " + s.at())
	}
	return len(seen), nil
}

// value skips a JSON value whose first byte c has been read: a container
// or a string whole, a number or literal up to where it ends.
func (s *ruleScanner) value(c byte) error {
	switch c {
	case '[', '{':
		depth := 1
		for depth > 0 {
			c, err := s.next()
			if err != nil {
				return err
			}
			switch c {
			case '"':
				var escaped bool
				s.buf = s.buf[:0]
				if err := s.stringRest(&escaped); err != nil {
					return err
				}
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			}
		}
		return nil
	case '"':
		var escaped bool
		s.buf = s.buf[:0]
		return s.stringRest(&escaped)
	}
	for {
		b, err := s.r.Peek(1)
		if err != nil || b[0] == ',' || b[0] == '}' || b[0] == ']' || b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r' {
			return nil
		}
		s.next()
	}
}

// CheckRules reads a bulk-replace document from r to its end and returns how
// many rules it holds. It refuses what is surely a mistake before anything
// is sent, since a replace that the server accepts deletes every rule not
// in the document: anything but one JSON object, a value that is not a
// JSON array (a rule is [action, options, subdomains]; a state file or a
// stats dump is not a rule set), invalid JSON, a hostname given twice, and
// data after the object. What the rules say is left to the server.
//
// It reads through a small buffer and holds one rule at a time, so memory
// stays small apart from the set of hostnames seen; a million rules take
// about a second.
func CheckRules(r io.Reader) (int, error) {
	return checkRules(bufio.NewReaderSize(r, 64<<10))
}

func checkRules(r *bufio.Reader) (int, error) {
	s := &ruleScanner{r: r}
	c, err := s.skipSpace()
	switch {
	case errors.Is(err, io.EOF):
		return 0, errors.New("the rules are empty: expected a JSON object")
	case err != nil:
		return 0, s.readError(err, "")
	case c != '{':
		return 0, errors.New("the rules must be one JSON object {\"host\": [action, options, subdomains], ...}")
	}
	seen := make(map[string]struct{})
	if err := s.members(seen); err != nil {
		return 0, err
	}
	if _, err := s.skipSpace(); !errors.Is(err, io.EOF) {
		if err != nil {
			return 0, s.readError(err, "")
		}
		return 0, errors.New("there is more data after the JSON object, at byte " + s.at())
	}
	return len(seen), nil
}

// ruleScanner reads a JSON object of rules one member at a time. It
// understands just enough JSON to find where each member ends; each rule is
// then checked whole with json.Valid.
type ruleScanner struct {
	r   *bufio.Reader
	off int64  // bytes read so far
	buf []byte // the current key or rule, reused
}

// members reads the members of the object after its '{', up to and
// including its '}', recording each hostname in seen.
func (s *ruleScanner) members(seen map[string]struct{}) error {
	c, err := s.skipSpace()
	if err != nil {
		return s.readError(err, "")
	}
	if c == '}' {
		return nil
	}
	for {
		host, err := s.member(c)
		if err != nil {
			return err
		}
		if _, dup := seen[host]; dup {
			return errors.New("host " + strconv.Quote(host) + " is given twice")
		}
		seen[host] = struct{}{}
		if c, err = s.skipSpace(); err != nil {
			return s.readError(err, "")
		}
		switch c {
		case '}':
			return nil
		case ',':
			if c, err = s.skipSpace(); err != nil {
				return s.readError(err, "")
			}
		default:
			return s.syntaxError("expected , or } after the rule of host " + strconv.Quote(host))
		}
	}
}

// member reads one `"host": [rule]` whose first byte c has been read, and
// returns the host.
func (s *ruleScanner) member(c byte) (string, error) {
	if c != '"' {
		return "", s.syntaxError("expected a hostname in double quotes")
	}
	host, err := s.key()
	if err != nil {
		return "", err
	}
	if c, err = s.skipSpace(); err != nil {
		return "", s.readError(err, host)
	}
	if c != ':' {
		return "", s.syntaxError("expected : after host " + strconv.Quote(host))
	}
	if c, err = s.skipSpace(); err != nil {
		return "", s.readError(err, host)
	}
	if c != '[' {
		return "", errors.New("the rule of host " + strconv.Quote(host) +
			" is not a JSON array [action, options, subdomains]")
	}
	start := s.off - 1
	if err := s.array(); err != nil {
		return "", s.readError(err, host)
	}
	if !json.Valid(s.buf) {
		var se *json.SyntaxError
		if errors.As(json.Unmarshal(s.buf, new(any)), &se) {
			s.off = start + se.Offset
			return "", s.syntaxError(se.Error() + " in the rule of host " + strconv.Quote(host))
		}
		return "", errors.New("not valid JSON in the rule of host " + strconv.Quote(host))
	}
	return host, nil
}

// key reads the rest of a JSON string whose opening quote has been read,
// and returns its value.
func (s *ruleScanner) key() (string, error) {
	s.buf = append(s.buf[:0], '"')
	escaped := false
	if err := s.stringRest(&escaped); err != nil {
		return "", s.readError(err, "")
	}
	raw := s.buf
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var host string
	if err := json.Unmarshal(raw, &host); err != nil {
		return "", s.syntaxError("the hostname " + string(raw) + " is not a valid JSON string")
	}
	return host, nil
}

// stringRest appends the rest of a JSON string, up to its closing quote, to
// s.buf, and sets *escaped when it holds a backslash escape. A control
// character is a syntax error (RFC 8259 §7).
func (s *ruleScanner) stringRest(escaped *bool) error {
	for {
		c, err := s.next()
		if err != nil {
			return err
		}
		s.buf = append(s.buf, c)
		switch {
		case c == '"':
			return nil
		case c == '\\':
			*escaped = true
			if c, err = s.next(); err != nil {
				return err
			}
			s.buf = append(s.buf, c)
		case c < 0x20:
			return s.syntaxError("control character in a string")
		}
	}
}

// array reads into s.buf a JSON array whose '[' has been read, up to its
// matching ']', following nesting and strings.
func (s *ruleScanner) array() error {
	s.buf = append(s.buf[:0], '[')
	depth := 1
	for depth > 0 {
		c, err := s.next()
		if err != nil {
			return err
		}
		s.buf = append(s.buf, c)
		switch c {
		case '"':
			var escaped bool
			if err := s.stringRest(&escaped); err != nil {
				return err
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		}
	}
	return nil
}

func (s *ruleScanner) next() (byte, error) {
	c, err := s.r.ReadByte()
	if err == nil {
		s.off++
	}
	return c, err
}

// skipSpace returns the next byte that is not JSON white space.
func (s *ruleScanner) skipSpace() (byte, error) {
	for {
		c, err := s.next()
		if err != nil || (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			return c, err
		}
	}
}

// at returns the offset of the last byte read, counting from 1.
func (s *ruleScanner) at() string { return strconv.FormatInt(s.off, 10) }

// syntaxError reports invalid JSON at the last byte read.
func (s *ruleScanner) syntaxError(what string) error {
	return &checkError{msg: "not valid JSON at byte " + s.at() + ": " + what}
}

// readError words an error from reading: the end of the input (the JSON
// ends too early, in the rule of host if it is not empty), an error the
// scanner made, or one from r.
func (s *ruleScanner) readError(err error, host string) error {
	var ce *checkError
	switch {
	case errors.As(err, &ce):
		return err
	case errors.Is(err, io.EOF) && host != "":
		return errors.New("the JSON ends too early in the rule of host " + strconv.Quote(host))
	case errors.Is(err, io.EOF):
		return errors.New("the JSON ends too early")
	}
	return errors.New("cannot read the rules: " + err.Error())
}

// checkError is a syntax error found by ruleScanner, already worded.
type checkError struct{ msg string }

func (e *checkError) Error() string { return e.msg }
