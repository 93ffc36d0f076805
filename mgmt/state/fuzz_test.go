package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mantrid/mantrid/hostmap"
)

// FuzzDecode checks, for any input: no panic; an error holds no control
// bytes; a document that is accepted encodes (Encode) to one that decodes
// to the same rules and counters, and encodes again to the same bytes.
func FuzzDecode(f *testing.F) {
	if legacy, err := os.ReadFile("testdata/legacy.json"); err == nil {
		f.Add(legacy)
	}
	for _, s := range []string{
		`{"hosts": {}}`,
		`{"hosts": {"EP.io.": ["spin", {"timeout": 1e-9}, true]}, "stats": {"unknown": {"bytes_sent": 1.0}}}`,
		`{"hosts": {"http://[::1]": ["redirect", {"redirect_to": "x.io/\u0000"}, false]}}`,
		`{"hosts": {"a": ["proxy", {"backends": ["a:1", ["b", "2"]], "attempts": "3"}, true]}, "stats": {"a": {}}}`,
		`{"hosts": {"a": ["empty", {"code": 200}, false], "A": ["empty", {"code": 201}, false]}}`,
		`{"hosts": {"a": [[[[[[]]]]]]}}`,
		`{"stats": {}, "hosts": {}, "hosts": {}}`,
		`{"hosts": {"a": ["static", {"type": "x"}, false]}, "stats": {"a": {"open_requests": -1}}}`,
		`{"hosts": {`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		snap, err := Decode(data)
		if err != nil {
			if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("input %q: error %q holds control bytes", data, err)
			}
			return
		}
		var enc bytes.Buffer
		if err := Encode(&enc, snap); err != nil {
			t.Fatalf("input %q: Encode: %v", data, err)
		}
		back, err := Decode(enc.Bytes())
		if err != nil {
			t.Fatalf("input %q: encoded %q does not decode: %v", data, enc.Bytes(), err)
		}
		if len(back.Hosts) != len(snap.Hosts) {
			t.Fatalf("input %q: %d hosts after the round trip, want %d", data, len(back.Hosts), len(snap.Hosts))
		}
		for k, r := range snap.Hosts {
			if !r.Equal(back.Hosts[k]) {
				t.Fatalf("input %q: host %q is %s after the round trip, want %s", data, k, back.Hosts[k].AppendJSON(nil), r.AppendJSON(nil))
			}
		}
		for k, c := range snap.Stats {
			if back.Stats[k] != c {
				t.Fatalf("input %q: stats %q are %+v after the round trip, want %+v", data, k, back.Stats[k], c)
			}
		}
		var again bytes.Buffer
		if err := Encode(&again, back); err != nil || !bytes.Equal(enc.Bytes(), again.Bytes()) {
			t.Fatalf("input %q: encoding not stable: %q then %q (%v)", data, enc.Bytes(), again.Bytes(), err)
		}
	})
}

// FuzzDecodeObject compares DecodeObject with encoding/json: both accept
// the same documents (objects nested at most MaxDepth deep), and the
// members DecodeObject reports are those encoding/json decodes, in
// document order, the last of a repeated name winning.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"b":[true,null,"x\u0000"],"a":{"c":1.5e3}}`, `[]`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}",
		"{\"a\":\"\x01\"}", `{"a":1}}`, ` {"a" : [ ] } `, `{"a":-0.0e-0}`, `{"a":01}`, `{"a":[[[[[[[[]]]]]]]]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var names []string
		got := map[string]any{}
		err := DecodeObject(data, func(name string, v any) error {
			names = append(names, name)
			got[name] = v
			return nil
		})
		want, werr := stdDecode(data)
		if werr != nil || depth(want) > MaxDepth {
			if err == nil {
				t.Fatalf("input %q: accepted, encoding/json says %v (depth %d)", data, werr, depth(want))
			}
			return
		}
		obj, isObj := want.(map[string]any)
		if !isObj {
			if err != ErrNotObject {
				t.Fatalf("input %q: error %v, want ErrNotObject", data, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("input %q: refused (%v), encoding/json accepts it", data, err)
		}
		if !utf8.ValidString(data) || hasSurrogateEscape(data) {
			return // encoding/json turns these into U+FFFD; DecodeObject passes them on
		}
		if !reflect.DeepEqual(obj, got) {
			t.Fatalf("input %q: members %#v, encoding/json gives %#v", data, got, obj)
		}
	})
}

// hasSurrogateEscape reports whether data holds a \u escape of a UTF-16
// surrogate (\uD800-\uDFFF).
func hasSurrogateEscape(data string) bool {
	lower := strings.ToLower(data)
	for i := strings.Index(lower, `\ud`); i >= 0; i = strings.Index(lower, `\ud`) {
		if i+4 < len(lower) && strings.IndexByte("89abcdef", lower[i+4]) >= 0 {
			return true
		}
		lower = lower[i+3:]
	}
	return false
}

func stdDecode(data string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return v, nil
}

// depth returns how deeply v nests containers; a scalar is 0.
func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}

// FuzzEachMember holds EachMember to DecodeObject: the same error class,
// and the same members in the same order, each raw value decoding
// (DecodeValue) to what DecodeObject gives.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1,"b":[true,null,"x\u0000"],"a":{"c":1.5e3}}`, `[]`, `{"a\"b":"\ud800"}`, "{\"a\":\"\xff\"}",
		` {"a" : [ ] , "b":"}]"} `, `{"a":-0.0e-0,"b":false}`, `{"a":[[[[[[[[]]]]]]]]}`, `{"a":["proxy",{"backends":["a:1"]},true]}`,
		`{"a":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`, `{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		type member struct {
			name string
			v    any
		}
		var want, got []member
		werr := DecodeObject(data, func(name string, v any) error { want = append(want, member{name, v}); return nil })
		gerr := EachMember(data, func(name, raw string) error {
			v, err := DecodeValue(raw)
			got = append(got, member{name, v})
			return err // a value sonic's validator let through, which its parser refuses
		})
		class := func(err error) error {
			if err == nil || err == ErrNotObject || err == ErrTooDeep {
				return err
			}
			return ErrSyntax // sonic's own parse errors are syntax errors too
		}
		if class(werr) != class(gerr) {
			t.Fatalf("input %q: EachMember says %v, DecodeObject %v", data, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("input %q: members %#v, DecodeObject gives %#v", data, got, want)
		}
	})
}

// FuzzPlainCounts holds plainCounts to decodeCounts: what it reads, the
// full decoder reads the same.
func FuzzPlainCounts(f *testing.F) {
	for _, s := range []string{
		`{"open_requests": 0, "completed_requests": 17, "bytes_sent": 4512, "bytes_received": 3000}`,
		`{}`, ` { "bytes_sent":1 } `, `{"bytes_sent":01}`, `{"bytes_sent":1,"bytes_sent":2}`, `{"x":1}`,
		`{"bytes_sent":9223372036854775808}`, `{"bytes_sent":1.0}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, ok := plainCounts(raw)
		if !ok {
			return
		}
		v, err := DecodeValue(raw)
		if err != nil {
			t.Fatalf("%q: read as %+v, but it is not JSON: %v", raw, c, err)
		}
		fields, isObj := v.(map[string]any)
		want, err := decodeCounts(fields)
		if !isObj || err != nil || want != c {
			t.Fatalf("%q: plain %+v, full %+v (%v)", raw, c, want, err)
		}
	})
}

// FuzzReadMembers holds ReadMembers, reading through small and odd-sized
// reads, to EachMember on the whole document: the same members, names and
// raw values, in order, and the same answer (no error, not an object, or
// not valid).
func FuzzReadMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, ` {"a":1,"b":[true,null,"x\u0000"],"a":{"c":1.5e3}} `, `[]`, `{"a\"b":"\ud800"}`, "{\"a\":\"\xff\"}",
		`{"a" : [ ] , "b":"}]"}`, `{"a":-0.0e-0,"b":false}`, `{"a":["proxy",{"backends":["a:1"]},true]}`, `{"a":}`, `{"a":1,}`,
		`{"a":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`, `{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}`,
		`"\0"`, `{"a":1} x`, `{"a":1}}`, `{"a" 1}`, `{"\u0041":2}`,
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, data string, chunk uint8) {
		type member struct{ name, raw string }
		var want, got []member
		werr := EachMember(data, func(name, raw string) error { want = append(want, member{name, raw}); return nil })
		r := &oddReader{data: data, size: int(chunk%7) + 1}
		gerr := ReadMembers(r, nil, func(name, raw string) error {
			got = append(got, member{strings.Clone(name), strings.Clone(raw)})
			return nil
		})
		class := func(err error) string {
			switch {
			case err == nil:
				return "ok"
			case err == ErrNotObject:
				return "not an object"
			}
			return "invalid"
		}
		if class(werr) != class(gerr) {
			t.Fatalf("input %q: ReadMembers says %v, EachMember %v", data, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("input %q: members %q, EachMember gives %q", data, got, want)
		}
	})
}

// oddReader reads data in pieces of size bytes, then of size+3, and so on.
type oddReader struct {
	data string
	size int
}

func (r *oddReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.size)], r.data)
	r.data = r.data[n:]
	r.size = r.size%13 + 3
	return n, nil
}

// FuzzImport holds Import to Decode: no panic; Import fails only where
// Decode fails; where Decode accepts a document, Import refuses nothing
// and loads the same rules and counters; and every member of "hosts" is
// either loaded or refused.
func FuzzImport(f *testing.F) {
	if legacy, err := os.ReadFile("testdata/legacy.json"); err == nil {
		f.Add(string(legacy))
	}
	for _, s := range []string{
		`{"hosts": {}}`,
		`{"hosts": {"EP.io": ["spin", {}, true], "ep.io": ["spin", {}, false], "Ep.io.": ["spin", {}, true]}, "stats": {"EP.io": {}, "ep.io": {"bytes_sent": 1}}}`,
		`{"stats": {"unknown": {"completed_requests": 2}, "a b": {}}, "hosts": {"unknown": ["unknown", {"x": 1}, false], "ep.io:80": ["spin", {}, true]}}`,
		`{"hosts": {"a": ["empty", {"code": 999}, false], "a": ["empty", {"code": 200}, false]}, "stats": {"a": {"open_requests": -1}}}`,
		`{"hosts": {"a": [[[[[[]]]]]]}}`,
		`{"hosts": {`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		snap, derr := Decode([]byte(data))
		table := hostmap.New(1)
		b := table.NewBuilder(0)
		im, err := Import(data, b)
		if err != nil {
			if derr == nil {
				t.Fatalf("input %q: Import fails (%v) where Decode accepts", data, err)
			}
			return
		}
		table.Replace(b)
		if table.Len() != im.Rules {
			t.Fatalf("input %q: %d rules in the table, Import says %d", data, table.Len(), im.Rules)
		}
		hosts, _, _ := splitDocument(data)
		members, refused := 0, 0
		_ = EachMember(hosts, func(string, string) error { members++; return nil })
		for _, r := range im.Refused {
			if r.Err == nil {
				t.Fatalf("input %q: refused %q without a reason", data, r.Host)
			}
			if r.Rule != "" {
				refused++
			}
		}
		if members != im.Rules+refused {
			t.Fatalf("input %q: %d members of hosts, %d loaded and %d refused", data, members, im.Rules, refused)
		}
		if derr != nil {
			return
		}
		if len(im.Refused) != 0 {
			t.Fatalf("input %q: Decode accepts it, Import refuses %+v", data, im.Refused)
		}
		if table.Len() != len(snap.Hosts) {
			t.Fatalf("input %q: %d rules, Decode reads %d", data, table.Len(), len(snap.Hosts))
		}
		for k, r := range snap.Hosts {
			h, ok := table.Get(k)
			if !ok || !r.Equal(h.Unpack()) {
				t.Fatalf("input %q: rule %q is not what Decode reads", data, k)
			}
		}
		want := maps.Clone(snap.Stats)
		if c, ok := want[UnknownHost]; ok {
			if _, named := snap.Hosts[UnknownHost]; !named {
				delete(want, UnknownHost)
				want[""] = c
			}
		}
		if !reflect.DeepEqual(want, im.Stats) {
			t.Fatalf("input %q: counters %+v, Decode reads %+v", data, im.Stats, want)
		}
	})
}
