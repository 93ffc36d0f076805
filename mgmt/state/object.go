package state

import (
	"encoding/json"
	"errors"
	"strings"
	"unsafe"

	"github.com/bytedance/sonic"
	"github.com/bytedance/sonic/ast"
)

// MaxDepth bounds how deeply JSON values may nest in the documents
// DecodeObject reads, counting the outer object as 1. A rule needs 5
// (object, triple, options, backends, one backend).
const MaxDepth = 32

// Errors of DecodeObject. They say nothing about the input's content, so
// they are safe to show to whoever sent it.
var (
	// ErrSyntax means the data is not valid JSON (RFC 8259), including raw
	// control characters inside strings and anything after the value.
	ErrSyntax = errors.New("not valid JSON")
	// ErrNotObject means the data is valid JSON but not an object.
	ErrNotObject = errors.New("not a JSON object")
	// ErrTooDeep means values nest deeper than MaxDepth.
	ErrTooDeep = errors.New("JSON nested deeper than 32 levels")
)

// decodeOptions makes the visitor hand numbers over as their text
// (json.Number), so that they stay exact.
var decodeOptions = &ast.VisitorOptions{OnlyNumber: true}

// DecodeObject reads data, which must be exactly one JSON object, and calls
// fn with each member's name and value in document order. It stops at the
// first error fn returns and returns that error unchanged.
//
// Values are decoded as actions.ParseRuleValue takes them: objects as
// map[string]any, arrays as []any, numbers as json.Number, strings, bools
// and nil. Names and strings are copied, so nothing handed to fn aliases
// data. Invalid UTF-8 and lone surrogates in strings are passed on as they
// are, not replaced with U+FFFD as encoding/json does; rules keep only
// ASCII strings, so they refuse them anyway. A name that repeats is passed to fn each time. Only one member's
// value exists at a time, so a body of a million rules costs one rule's
// worth of decoded values at once, not a million.
//
// Invalid data gives ErrSyntax, ErrNotObject or ErrTooDeep; fn may already
// have been called for the members before the problem.
func DecodeObject(data string, fn func(name string, v any) error) error {
	if !sonic.ValidString(data) || rawControlInString(data) {
		return ErrSyntax
	}
	w := &walker{fn: fn}
	return ast.Preorder(data, w, decodeOptions)
}

// rawControlInString reports whether a string in valid JSON data holds a
// raw control character, which RFC 8259 §7 forbids and sonic's validator
// lets through. Outside strings the validator has already refused them.
func rawControlInString(data string) bool {
	in := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case !in:
			in = c == '"'
		case c == '\\':
			i++
		case c == '"':
			in = false
		case c < 0x20:
			return true
		}
	}
	return false
}

// walker is the sonic visitor behind DecodeObject. The top-level object is
// depth 1; each member's value is built in stack and handed to fn when it
// is complete.
type walker struct {
	fn    func(name string, v any) error
	depth int     // open containers, the top-level object included
	name  string  // the top-level member being decoded
	stack []frame // containers below the top level, innermost last
}

// frame is one array or object being built.
type frame struct {
	arr []any
	obj map[string]any
	key string // the member of obj whose value comes next
}

// put stores a complete value in its container, or hands it to fn when it
// is a top-level member's value.
func (w *walker) put(v any) error {
	switch {
	case w.depth == 0:
		return ErrNotObject
	case len(w.stack) == 0:
		return w.fn(w.name, v)
	}
	f := &w.stack[len(w.stack)-1]
	if f.obj != nil {
		f.obj[f.key] = v
	} else {
		f.arr = append(f.arr, v)
	}
	return nil
}

// open starts a container below the top level.
func (w *walker) open(f frame) error {
	if w.depth++; w.depth > MaxDepth {
		return ErrTooDeep
	}
	w.stack = append(w.stack, f)
	return nil
}

// close ends a container: the top-level object, or one below it.
func (w *walker) close() error {
	w.depth--
	if len(w.stack) == 0 {
		return nil
	}
	f := w.stack[len(w.stack)-1]
	w.stack[len(w.stack)-1] = frame{}
	w.stack = w.stack[:len(w.stack)-1]
	if f.obj != nil {
		return w.put(f.obj)
	}
	return w.put(f.arr)
}

// OnNull implements ast.Visitor.
func (w *walker) OnNull() error { return w.put(nil) }

// OnBool implements ast.Visitor.
func (w *walker) OnBool(v bool) error { return w.put(v) }

// OnString implements ast.Visitor.
func (w *walker) OnString(v string) error { return w.put(intern(v)) }

// OnInt64 implements ast.Visitor.
func (w *walker) OnInt64(_ int64, n json.Number) error {
	return w.put(json.Number(strings.Clone(string(n))))
}

// OnFloat64 implements ast.Visitor.
func (w *walker) OnFloat64(_ float64, n json.Number) error {
	return w.put(json.Number(strings.Clone(string(n))))
}

// OnObjectBegin implements ast.Visitor.
func (w *walker) OnObjectBegin(int) error {
	if w.depth == 0 {
		w.depth = 1
		return nil
	}
	return w.open(frame{obj: make(map[string]any, 4)})
}

// OnObjectKey implements ast.Visitor.
func (w *walker) OnObjectKey(key string) error {
	if len(w.stack) == 0 {
		w.name = strings.Clone(key)
		return nil
	}
	w.stack[len(w.stack)-1].key = intern(key)
	return nil
}

// intern returns a copy of s that does not alias the input: the constant
// itself for the action and option names every rule repeats (a bulk PUT of
// a million rules then makes a few million fewer allocations), else a
// clone.
func intern(s string) string {
	for _, k := range [...]string{
		"proxy", "redirect", "empty", "spin", "static", "unknown", "no_hosts",
		"backends", "attempts", "delay", "redirect_to", "code", "timeout", "check_interval", "type",
		"open_requests", "completed_requests", "bytes_sent", "bytes_received",
	} {
		if s == k {
			return k
		}
	}
	return strings.Clone(s)
}

// OnObjectEnd implements ast.Visitor.
func (w *walker) OnObjectEnd() error { return w.close() }

// OnArrayBegin implements ast.Visitor.
func (w *walker) OnArrayBegin(int) error {
	if w.depth == 0 {
		return ErrNotObject
	}
	return w.open(frame{arr: make([]any, 0, 4)})
}

// OnArrayEnd implements ast.Visitor.
func (w *walker) OnArrayEnd() error { return w.close() }

// EachMember calls fn with each member's name and raw JSON value, in
// document order, for a JSON object that DecodeObject would accept, without
// decoding the values: a bulk PUT hands most of them to a parser for plain
// rules (actions.ParseRuleFast) and the rest to DecodeValue. Names are
// unescaped; raw aliases data. It returns what DecodeObject returns for
// invalid data (ErrSyntax, ErrNotObject, ErrTooDeep), the first error fn
// returns, or nil.
func EachMember(data string, fn func(name, raw string) error) error {
	if !sonic.ValidString(data) || rawControlInString(data) {
		return ErrSyntax
	}
	i := skipSpace(data, 0)
	if data[i] != '{' {
		return DecodeObject(data, fn0) // ErrNotObject, or the parser's error for what the validator let by
	}
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return nil
	}
	for {
		end := stringEnd(data, i)
		name := data[i+1 : end-1]
		if strings.IndexByte(name, '\\') >= 0 {
			var err error
			if name, err = unescape(data[i:end]); err != nil {
				return ErrSyntax
			}
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past the ':'
		vend, err := valueEnd(data, i)
		if err != nil {
			return err
		}
		if err := fn(name, data[i:vend]); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		if data[i] == '}' {
			return nil
		}
		i = skipSpace(data, i+1) // past the ','
	}
}

// unescape decodes a JSON string with escapes (kept apart so that the
// common name without escapes stays on the stack).
func unescape(quoted string) (string, error) {
	var s string
	err := sonic.UnmarshalString(quoted, &s)
	return s, err
}

// fn0 is a member callback for data that has no members.
func fn0(string, any) error { return nil }

// DecodeValue decodes one JSON value as DecodeObject decodes a member's
// value.
func DecodeValue(raw string) (any, error) {
	var v any
	err := DecodeObject(`{"":`+raw+`}`, func(_ string, x any) error { v = x; return nil })
	return v, err
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space, in valid JSON.
func skipSpace(data string, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at i, in
// valid JSON.
func stringEnd(data string, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// valueEnd returns the index just past the value that starts at i, in
// valid JSON, or ErrTooDeep when it nests deeper than MaxDepth counting
// the outer object.
func valueEnd(data string, i int) (int, error) {
	switch data[i] {
	case '"':
		return stringEnd(data, i), nil
	case '{', '[':
		depth := 1
		for i++; depth > 0; i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i) - 1
			case '{', '[':
				if depth++; depth+1 > MaxDepth {
					return 0, ErrTooDeep
				}
			case '}', ']':
				depth--
			}
		}
		return i, nil
	}
	for i < len(data) && !strings.ContainsRune(",}] \t\n\r", rune(data[i])) {
		i++
	}
	return i, nil
}

// view returns b as a string without copying it, for a caller that does
// not keep it past the bytes' life.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
