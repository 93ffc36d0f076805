package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckRules(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		want              int
	}{
		{name: "empty object", in: `{}`, want: 0},
		{name: "empty object with space", in: " \t\r\n{ \n}\n ", want: 0},
		{name: "two rules", in: "{\"a.io\": [\"spin\", {}, true],\n \"http://b.io\": [\"empty\", {\"code\": 403}, false]}\n", want: 2},
		{name: "brackets and quotes in strings", in: `{"a.io": ["redirect", {"redirect_to": "x]}\"[{"}, true]}`, want: 1},
		{name: "nested lists", in: `{"a.io": ["proxy", {"backends": [["h", 1], ["i", 2]]}, true]}`, want: 1},
		{name: "escaped hostname", in: `{"a\u002eio": ["spin", {}, true], "b.io": ["spin", {}, true]}`, want: 2},
		{name: "rules left to the server", in: `{"a.io": ["nonsense"]}`, want: 1},
		{name: "nothing", in: "", wantErr: "the rules are empty"},
		{name: "blank", in: " \n", wantErr: "the rules are empty"},
		{name: "array", in: `[]`, wantErr: "must be one JSON object"},
		{name: "string", in: `"a"`, wantErr: "must be one JSON object"},
		{name: "null", in: `null`, wantErr: "must be one JSON object"},
		{name: "text", in: "ep.io spin true\n", wantErr: "must be one JSON object"},
		{name: "rule not a list", in: `{"a.io": {"open_requests": 1}}`, wantErr: `the rule of host "a.io" is not a JSON array`},
		{name: "rule a string", in: `{"a.io": "spin"}`, wantErr: `the rule of host "a.io" is not a JSON array`},
		{name: "state file", in: `{"hosts": {"a.io": ["spin",{},true]}, "stats": {}}`, wantErr: `the rule of host "hosts" is not a JSON array`},
		{name: "duplicate host", in: `{"a.io": ["spin",{},true], "a.io": ["spin",{},false]}`, wantErr: `host "a.io" is given twice`},
		{name: "duplicate host escaped", in: `{"a.io": ["spin",{},true], "a\u002eio": ["spin",{},false]}`, wantErr: `host "a.io" is given twice`},
		{name: "truncated rule", in: `{"a.io": ["spin",{},tr`, wantErr: `the JSON ends too early in the rule of host "a.io"`},
		{name: "truncated string", in: `{"a.io": ["sp`, wantErr: `the JSON ends too early in the rule of host "a.io"`},
		{name: "truncated key", in: `{"a.i`, wantErr: "the JSON ends too early"},
		{name: "truncated after key", in: `{"a.io" `, wantErr: `the JSON ends too early in the rule of host "a.io"`},
		{name: "unclosed object", in: `{"a.io": ["spin",{},true]`, wantErr: "the JSON ends too early"},
		{name: "unclosed after comma", in: `{"a.io": ["spin",{},true],`, wantErr: "the JSON ends too early"},
		{name: "trailing comma", in: `{"a.io": ["spin",{},true],}`, wantErr: "not valid JSON at byte 27: expected a hostname in double quotes"},
		{name: "key not a string", in: `{a.io: ["spin",{},true]}`, wantErr: "not valid JSON at byte 2: expected a hostname in double quotes"},
		{name: "no colon", in: `{"a.io" ["spin",{},true]}`, wantErr: `not valid JSON at byte 9: expected : after host "a.io"`},
		{name: "no comma", in: `{"a.io": ["spin",{},true] "b.io": []}`, wantErr: `expected , or } after the rule of host "a.io"`},
		{name: "bad syntax in rule", in: `{"a.io": ["spin",{},yes]}`, wantErr: `not valid JSON at byte 21: invalid character 'y' looking for beginning of value in the rule of host "a.io"`},
		{name: "mismatched brackets", in: `{"a.io": ["spin",{],true]}`, wantErr: `in the rule of host "a.io"`},
		{name: "control character", in: "{\"a\x01io\": []}", wantErr: "control character in a string"},
		{name: "bad escape in key", in: `{"a\qio": []}`, wantErr: `the hostname "a\qio" is not a valid JSON string`},
		{name: "trailing data", in: `{} {}`, wantErr: "there is more data after the JSON object, at byte 4"},
		{name: "trailing garbage", in: `{}x`, wantErr: "more data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, split := range []bool{false, true} {
				r := strings.NewReader(tt.in)
				var n int
				var err error
				if split {
					n, err = CheckRules(iotest.OneByteReader(r))
				} else {
					n, err = CheckRules(r)
				}
				if tt.wantErr != "" {
					require.Error(t, err, "CheckRules(%q) = %d, nil; want error %q", tt.in, n, tt.wantErr)
					assert.Contains(t, err.Error(), tt.wantErr, "CheckRules(%q)", tt.in)
					continue
				}
				require.NoError(t, err, "CheckRules(%q)", tt.in)
				assert.Equal(t, tt.want, n, "CheckRules(%q)", tt.in)
			}
		})
	}
}

func TestCheckRulesReadError(t *testing.T) {
	r := iotest.DataErrReader(iotest.ErrReader(errors.New("disk on fire")))
	_, err := CheckRules(r)
	require.Error(t, err)
	assert.Equal(t, "cannot read the rules: disk on fire", err.Error())
}

// BenchmarkCheckRules checks a document of 100,000 proxy rules.
func BenchmarkCheckRules(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("{\n")
	for i := range 100_000 {
		if i > 0 {
			sb.WriteString(",\n")
		}
		fmt.Fprintf(&sb, `  "host%07d.example.com": ["proxy",{"backends":[["10.0.0.2",8000]]},true]`, i)
	}
	sb.WriteString("\n}\n")
	doc := sb.String()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckRules(strings.NewReader(doc)); err != nil {
			b.Fatal(err)
		}
	}
}
