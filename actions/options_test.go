package actions

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// boundCase is one option value and whether it must be accepted.
type boundCase struct {
	name string
	in   string // the whole rule JSON
	ok   bool
}

func runBoundCases(t *testing.T, tests []boundCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRule([]byte(tt.in))
			if tt.ok {
				assert.NoError(t, err, "input %q: got error, want accepted", tt.in)
				return
			}
			require.Error(t, err, "input %q: got %+v, want rejected", tt.in, r)
			assert.Equal(t, CodeHostOptionInvalid, err.(RuleError).Code, "input %q: got %v", tt.in, err)
		})
	}
}

// jsonQuote returns s as a JSON string.
func jsonQuote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func emptyRule(code string) string { return `["empty",{"code":` + code + `},false]` }
func proxyRule(opts string) string { return `["proxy",{"backends":["h:80"]` + opts + `},false]` }
func spinRule(opts string) string  { return `["spin",{` + opts + `},false]` }
func backendRule(b string) string  { return `["proxy",{"backends":[` + b + `]},false]` }

func TestOptionBounds(t *testing.T) {
	runBoundCases(t, []boundCase{
		{"code 99", emptyRule("99"), false},
		{"code 100", emptyRule("100"), true},
		{"code 101", emptyRule("101"), true},
		{"code 598", emptyRule("598"), true},
		{"code 599", emptyRule("599"), true},
		{"code 600", emptyRule("600"), false},
		{"code -403", emptyRule("-403"), false},
		{"code huge", emptyRule("1e400"), false},
		{"code int64 overflow", emptyRule("99999999999999999999"), false},
		{"attempts 0", proxyRule(`,"attempts":0`), false},
		{"attempts 1", proxyRule(`,"attempts":1`), true},
		{"attempts 2", proxyRule(`,"attempts":2`), true},
		{"attempts 99", proxyRule(`,"attempts":99`), true},
		{"attempts 100", proxyRule(`,"attempts":100`), true},
		{"attempts 101", proxyRule(`,"attempts":101`), false},
		{"delay -0.000000001", proxyRule(`,"delay":-0.000000001`), false},
		{"delay 0", proxyRule(`,"delay":0`), true},
		{"delay 0.000000001", proxyRule(`,"delay":0.000000001`), true},
		{"delay 3599.999999999", proxyRule(`,"delay":3599.999999999`), true},
		{"delay 3600", proxyRule(`,"delay":3600`), true},
		{"delay 3600.000001", proxyRule(`,"delay":3600.000001`), false},
		{"delay 1e308", proxyRule(`,"delay":1e308`), false},
		{"timeout 0", spinRule(`"timeout":0`), false},
		{"timeout below 1ns", spinRule(`"timeout":1e-10`), false},
		{"timeout 1ns", spinRule(`"timeout":0.000000001`), true},
		{"timeout 86399", spinRule(`"timeout":86399`), true},
		{"timeout 86400", spinRule(`"timeout":86400`), true},
		{"timeout 86401", spinRule(`"timeout":86401`), false},
		{"timeout 86400.001", spinRule(`"timeout":86400.001`), false},
		{"timeout negative", spinRule(`"timeout":-1`), false},
		{"check_interval 0", spinRule(`"check_interval":0`), false},
		{"check_interval -0", spinRule(`"check_interval":-0`), false},
		{"check_interval 0.001", spinRule(`"check_interval":0.001`), true},
		{"check_interval 3599", spinRule(`"check_interval":3599`), true},
		{"check_interval 3600", spinRule(`"check_interval":3600`), true},
		{"check_interval 3601", spinRule(`"check_interval":3601`), false},
	})
}

// TestInjectionRefused checks that no option can carry bytes that would
// split a response or escape static_dir (SPEC §9.8).
func TestInjectionRefused(t *testing.T) {
	redirect := func(s string) string { return `["redirect",{"redirect_to":` + jsonQuote(s) + `},false]` }
	static := func(s string) string { return `["static",{"type":` + jsonQuote(s) + `},false]` }
	var tests []boundCase
	for _, bad := range []string{"\r", "\n", "\x00", " ", "\t", "\x7f", "\u00e9"} {
		q := fmt.Sprintf("%q", bad)
		tests = append(tests,
			boundCase{"redirect_to " + q, redirect("https://ep.io/" + bad + "x"), false},
			boundCase{"redirect_to header " + q, redirect("https://ep.io" + bad + "Set-Cookie:x"), false},
			boundCase{"backend pair " + q, backendRule(`[` + jsonQuote("a"+bad+"b") + `,80]`), false},
			boundCase{"backend string " + q, backendRule(jsonQuote("a" + bad + "b:80")), false},
			boundCase{"static type " + q, static("te" + bad + "st"), false},
		)
	}
	tests = append(tests,
		boundCase{"static traversal", static("../etc/passwd"), false},
		boundCase{"static slash", static("a/b"), false},
		boundCase{"static backslash", static(`a\b`), false},
		boundCase{"static hidden", static(".hidden"), false},
		boundCase{"static dotdot inside", static("a..b"), false},
		boundCase{"static dotdot", static(".."), false},
		boundCase{"static empty", static(""), false},
		boundCase{"static 63", static(strings.Repeat("a", 63)), true},
		boundCase{"static 64", static(strings.Repeat("a", 64)), true},
		boundCase{"static 65", static(strings.Repeat("a", 65)), false},
		boundCase{"static dots and dashes", static("no-hosts_v1.2"), true},
		boundCase{"static trailing dot", static("a."), true},
	)
	runBoundCases(t, tests)
}
