package actions

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseRuleFast checks that the fast parser takes the plain rules
// (every canonical example without escapes, spaced or not) with the same
// result as ParseRule, and leaves the rest to it.
func TestParseRuleFast(t *testing.T) {
	var r Rule
	for _, c := range canonicalCases {
		want := requireRule(t, c.in)
		if c.name == "redirect escapes" {
			assert.False(t, ParseRuleFast([]byte(c.in), &r), "%s: escapes are left to ParseRule", c.name)
			continue
		}
		require.True(t, ParseRuleFast([]byte(c.in), &r), "%s: %s", c.name, c.in)
		assert.True(t, want.Equal(&r), "%s: got %s, want %s", c.name, r.AppendJSON(nil), want.AppendJSON(nil))
		tw, tr := &interner{}, &interner{}
		assert.Equal(t, AppendPacked(nil, want, tw.id), AppendPacked(nil, &r, tr.id), "%s: packed", c.name)
		assert.Equal(t, tw.addrs, tr.addrs, "%s: backend addresses", c.name)
	}
	for _, in := range []string{
		`["empty",{"code":403,"code":404},false]`,              // repeated option
		`["empty",{"cod":403},false]`,                          // unknown option
		`["empty",{},false]`,                                   // missing option
		`["empty",{"code":99},false]`,                          // out of range
		`["proxy",{"backends":[]},false]`,                      // no backends
		`["proxy",{"backends":["a"]},false]`,                   // no port
		`["spin",{},"true"]`,                                   // subdomains not a bool
		`["spin",{},true] x`,                                   // trailing data
		`["spin",{},true,1]`,                                   // four elements
		`["static",{"type":"../x"},false]`,                     // invalid type
		`["redirect",{"redirect_to":"http://a b"},false]`,      // space
		`["no_hosts",{"x":1},false]`,                           // options on no_hosts
		`["spin",{"timeout":0},false]`,                         // zero timeout
		`["proxy",{"backends":[["a",1]],"delay":1e400},false]`, // out of range
		`["empty",{"code":4.5e2},false] `,                      // not whole, yet accepted by ParseRule? no: 450 is whole
	} {
		ok := ParseRuleFast([]byte(in), &r)
		_, err := ParseRule([]byte(in))
		if err != nil {
			assert.False(t, ok, "%s: the fast parser accepted what ParseRule refuses", in)
		}
	}
}

// FuzzParseRuleFast holds the fast parser to ParseRule: whatever it
// accepts, ParseRule accepts as an Equal rule; and it is valid JSON, as a
// bulk body's checks take it to be (mgmt/state.ReadMembers).
func FuzzParseRuleFast(f *testing.F) {
	for _, c := range canonicalCases {
		f.Add([]byte(c.in))
	}
	f.Add([]byte(` [ "proxy" , { "backends" : [ [ "[::1]" , "80" ] , "a:1" ] , "attempts" : "2" } , true ] `))
	f.Add([]byte(`["spin",{"timeout":-0,"check_interval":1E-9},false]`))
	var r Rule
	f.Fuzz(func(t *testing.T, data []byte) {
		if !ParseRuleFast(data, &r) {
			return
		}
		if !json.Valid(data) || bytes.ContainsFunc(data, func(c rune) bool { return c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r' }) {
			t.Fatalf("%q: the fast parser accepted what is not valid JSON", data)
		}
		want, err := ParseRule(data)
		if err != nil {
			t.Fatalf("%q: the fast parser accepted it, ParseRule says %v", data, err)
		}
		if !want.Equal(&r) {
			t.Fatalf("%q: fast %s, ParseRule %s", data, r.AppendJSON(nil), want.AppendJSON(nil))
		}
	})
}
