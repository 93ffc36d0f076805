package client

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// FuzzCheckRules checks CheckRules against encoding/json: no panic; the
// same answer however the input is split; and what it accepts is one valid
// JSON object whose members are arrays, as many as it counted.
func FuzzCheckRules(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"a.io": ["spin", {}, true]}`, `{"a\u002eio": ["x]\"[", {"k": [1, {"n": null}]}, false], "b": []}`,
		`[]`, `{"a": {}}`, `{"a": [}`, `{"a": []`, `{"a": [],}`, `{} x`, "{\"a\x01\": []}", `{"a": [1], "a": [2]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		n, err := CheckRules(strings.NewReader(doc))
		n1, err1 := CheckRules(iotest.OneByteReader(strings.NewReader(doc)))
		if n != n1 || (err == nil) != (err1 == nil) || (err != nil && err.Error() != err1.Error()) {
			t.Fatalf("CheckRules(%q) = %d, %v; split into bytes: %d, %v", doc, n, err, n1, err1)
		}
		if err != nil {
			return
		}
		if !json.Valid([]byte(doc)) {
			t.Fatalf("CheckRules(%q) = %d, nil; but it is not valid JSON", doc, n)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(doc), &m); err != nil || m == nil {
			t.Fatalf("CheckRules(%q) = %d, nil; but it is not a JSON object: %v", doc, n, err)
		}
		for host, raw := range m {
			if raw[0] != '[' {
				t.Fatalf("CheckRules(%q) accepted the rule %s of %q, not an array", doc, raw, host)
			}
		}
		if utf8.ValidString(doc) && len(m) != n {
			t.Fatalf("CheckRules(%q) = %d; encoding/json finds %d members", doc, n, len(m))
		}
	})
}
