package actions

import (
	"encoding/json"
	"testing"
)

var benchRules = []struct{ name, in string }{
	{"empty", `["empty", {"code": 403}, false]`},
	{"proxy", `["proxy", {"backends": [["127.0.0.1", 8000], "10.0.0.2:80"], "attempts": 3, "delay": 0.5}, true]`},
	{"redirect", `["redirect", {"redirect_to": "https://example.com"}, true]`},
}

func BenchmarkParseRule(b *testing.B) {
	for _, bb := range benchRules {
		b.Run(bb.name, func(b *testing.B) {
			data := []byte(bb.in)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseRule(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseRuleValue is the bulk path: the document is decoded once,
// then each rule is validated.
func BenchmarkParseRuleValue(b *testing.B) {
	var v any
	if err := json.Unmarshal([]byte(benchRules[1].in), &v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRuleValue(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r, err := ParseRule([]byte(benchRules[1].in))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendJSON(buf[:0])
	}
}
