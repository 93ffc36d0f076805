package actions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireRuleError parses in and checks that it fails with code.
func requireRuleError(t *testing.T, in string, code string) RuleError {
	t.Helper()
	r, err := ParseRule([]byte(in))
	require.Error(t, err, "input %q: got rule %+v, want error %s", in, r, code)
	var re RuleError
	require.True(t, errors.As(err, &re), "input %q: error %T is not a RuleError", in, err)
	assert.Equal(t, code, re.Code, "input %q: got code %q (%v), want %q", in, re.Code, err, code)
	assert.Nil(t, r, "input %q: rule returned with an error", in)
	return re
}

func requireRule(t *testing.T, in string) *Rule {
	t.Helper()
	r, err := ParseRule([]byte(in))
	require.NoError(t, err, "input %q", in)
	require.NotNil(t, r, "input %q", in)
	return r
}

func TestParseRuleErrorCodes(t *testing.T) {
	tests := []struct {
		name, in, code, detail string
	}{
		{"empty body", ``, CodeBadJSON, "not valid JSON"},
		{"garbage", `[`, CodeBadJSON, ""},
		{"trailing data", `["empty",{"code":403},false] x`, CodeBadJSON, ""},
		{"trailing comma", `["empty",{"code":403},false,]`, CodeBadJSON, ""},
		{"control char in string", "[\"empty\",{\"code\":\"4\x0103\"},false]", CodeBadJSON, ""},
		{"object", `{"action":"empty"}`, CodeHostDetailsNotList, ""},
		{"string", `"empty"`, CodeHostDetailsNotList, ""},
		{"null", `null`, CodeHostDetailsNotList, ""},
		{"number", `403`, CodeHostDetailsNotList, ""},
		{"empty list", `[]`, CodeHostDetailsWrongLength, "not 0"},
		{"two elements", `["empty",{"code":403}]`, CodeHostDetailsWrongLength, "not 2"},
		{"four elements", `["empty",{"code":403},false,1]`, CodeHostDetailsWrongLength, "not 4"},
		{"unknown action", `["teleport",{},false]`, CodeHostActionInvalid, ""},
		{"action case", `["Empty",{"code":403},false]`, CodeHostActionInvalid, ""},
		{"action not string", `[1,{},false]`, CodeHostActionInvalid, ""},
		{"action null", `[null,{},false]`, CodeHostActionInvalid, ""},
		{"options list", `["empty",[],false]`, CodeHostKwargsNotDict, ""},
		{"options null", `["no_hosts",null,false]`, CodeHostKwargsNotDict, ""},
		{"options string", `["no_hosts","{}",false]`, CodeHostKwargsNotDict, ""},
		{"subs string", `["no_hosts",{},"true"]`, CodeHostMatchSubdomainsNotBool, ""},
		{"subs number", `["no_hosts",{},1]`, CodeHostMatchSubdomainsNotBool, ""},
		{"subs null", `["no_hosts",{},null]`, CodeHostMatchSubdomainsNotBool, ""},
		{"unknown option", `["empty",{"code":403,"body":"x"},false]`, CodeHostOptionUnknown, `"body"`},
		{"lowest unknown named", `["empty",{"zz":1,"code":403,"aa":1},false]`, CodeHostOptionUnknown, `"aa"`},
		{"option of other action", `["proxy",{"backends":["a:1"],"code":403},false]`, CodeHostOptionUnknown, `"code"`},
		{"no_hosts option", `["no_hosts",{"type":"x"},false]`, CodeHostOptionUnknown, `"type"`},
		{"unknown option", `["unknown",{"a":1},true]`, CodeHostOptionUnknown, `"a"`},
		{"unknown before missing", `["empty",{"cod":403},false]`, CodeHostOptionUnknown, `"cod"`},
		{"empty no code", `["empty",{},false]`, CodeHostOptionMissing, `"code"`},
		{"proxy no backends", `["proxy",{"attempts":2},false]`, CodeHostOptionMissing, `"backends"`},
		{"redirect no target", `["redirect",{},false]`, CodeHostOptionMissing, `"redirect_to"`},
		{"static no type", `["static",{},false]`, CodeHostOptionMissing, `"type"`},
		{"code bool", `["empty",{"code":true},false]`, CodeHostOptionInvalid, "code"},
		{"code fraction", `["empty",{"code":403.5},false]`, CodeHostOptionInvalid, "code"},
		{"backends string", `["proxy",{"backends":"a:1"},false]`, CodeHostOptionInvalid, "backends"},
		{"delay negative", `["proxy",{"backends":["a:1"],"delay":-1},false]`, CodeHostOptionInvalid, "delay"},
		{"redirect_to number", `["redirect",{"redirect_to":1},false]`, CodeHostOptionInvalid, "redirect_to"},
		{"type number", `["static",{"type":1},false]`, CodeHostOptionInvalid, "type"},
		{"timeout string word", `["spin",{"timeout":"soon"},false]`, CodeHostOptionInvalid, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := requireRuleError(t, tt.in, tt.code)
			assert.Contains(t, re.Detail, tt.detail, "input %q: detail %q", tt.in, re.Detail)
			assert.True(t, strings.HasPrefix(re.Error(), tt.code), "input %q: Error() %q does not start with the code", tt.in, re.Error())
		})
	}
}

func TestParseRuleDetailNeverEchoesControlBytes(t *testing.T) {
	for _, in := range []string{
		"[\"empty\",{\"co\\u0000de\\r\\n\":403},false]",
		"[\"proxy\",{\"backends\":[[\"a\\r\\nb\",80]]},false]",
		"[\"proxy\",{\"backends\":[\"a\\u0000b:80\"]},false]",
		"[\"redirect\",{\"redirect_to\":\"http://a\\r\\nSet-Cookie: x\"},false]",
		"[\"empty\",{\"" + strings.Repeat("\\n", 500) + "\":1},false]",
		"[\"empty\" \x00 ,{},false]",
	} {
		_, err := ParseRule([]byte(in))
		require.Error(t, err, "input %q", in)
		msg := err.Error()
		assert.False(t, strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }),
			"input %q: error %q holds control characters", in, msg)
		assert.Less(t, len(msg), 300, "input %q: error %q is long", in, msg)
	}
}

func TestParseRuleExamples(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Rule
	}{
		{"proxy", `["proxy", {"backends": [["127.0.0.1", 8000], "10.0.0.2:80"], "attempts": 3, "delay": 0.5}, true]`,
			Rule{Kind: Proxy, Subdomains: true, Backends: []Backend{{"127.0.0.1", 8000}, {"10.0.0.2", 80}},
				Attempts: 3, Delay: 500 * time.Millisecond, given: givenAttempts | givenDelay}},
		{"proxy defaults", `["proxy", {"backends": ["b:1"]}, false]`,
			Rule{Kind: Proxy, Backends: []Backend{{"b", 1}}, Attempts: 1, Delay: time.Second}},
		{"empty", `["empty", {"code": 403}, false]`, Rule{Kind: Empty, Code: 403}},
		{"redirect", `["redirect", {"redirect_to": "https://example.com"}, true]`,
			Rule{Kind: Redirect, Subdomains: true, RedirectTo: "https://example.com"}},
		{"spin", `["spin", {"timeout": 60, "check_interval": 1}, false]`,
			Rule{Kind: Spin, Timeout: time.Minute, CheckInterval: time.Second, given: givenTimeout | givenCheckInterval}},
		{"spin defaults", `["spin", {}, true]`,
			Rule{Kind: Spin, Subdomains: true, Timeout: 120 * time.Second, CheckInterval: time.Second}},
		{"static", `["static", {"type": "test"}, false]`, Rule{Kind: Static, Type: "test"}},
		{"no_hosts", `["no_hosts", {}, false]`, Rule{Kind: NoHosts}},
		{"unknown", `["unknown", {}, false]`, Rule{Kind: Unknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := requireRule(t, tt.in)
			assert.Equal(t, withAddrs(tt.want), got, "input %q", tt.in)
		})
	}
}

// TestParseRuleValueGoTypes feeds values as the bulk API and state loader
// decode them: float64 from encoding/json, json.Number, Go integers.
func TestParseRuleValueGoTypes(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want Rule
	}{
		{"float64", []any{"empty", map[string]any{"code": float64(404)}, true}, Rule{Kind: Empty, Code: 404, Subdomains: true}},
		{"json.Number", []any{"empty", map[string]any{"code": json.Number("404")}, false}, Rule{Kind: Empty, Code: 404}},
		{"int", []any{"empty", map[string]any{"code": 404}, false}, Rule{Kind: Empty, Code: 404}},
		{"int64", []any{"empty", map[string]any{"code": int64(404)}, false}, Rule{Kind: Empty, Code: 404}},
		{"uint64", []any{"empty", map[string]any{"code": uint64(404)}, false}, Rule{Kind: Empty, Code: 404}},
		{"float32", []any{"spin", map[string]any{"timeout": float32(1.5)}, false},
			Rule{Kind: Spin, Timeout: 1500 * time.Millisecond, CheckInterval: time.Second, given: givenTimeout}},
		{"int seconds", []any{"proxy", map[string]any{"backends": []any{[]any{"h", 80}}, "delay": 2}, false},
			Rule{Kind: Proxy, Backends: []Backend{{"h", 80}}, Attempts: 1, Delay: 2 * time.Second, given: givenDelay}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRuleValue(tt.in)
			require.NoError(t, err, "input %#v", tt.in)
			assert.Equal(t, withAddrs(tt.want), got, "input %#v", tt.in)
		})
	}
	for _, in := range []any{
		[]any{"empty", map[string]any{"code": uint64(1 << 63)}, false},
		[]any{"empty", map[string]any{"code": []string{"403"}}, false},
		[]any{"empty", map[string]string{"code": "403"}, false},
		[]string{"no_hosts"},
	} {
		_, err := ParseRuleValue(in)
		assert.Error(t, err, "input %#v: want an error", in)
	}
}

// TestParseRuleDoesNotAliasInput checks that a parsed rule keeps no
// reference into the caller's buffer, which the API reuses.
func TestParseRuleDoesNotAliasInput(t *testing.T) {
	buf := []byte(`["static",{"type":"test"},false]`)
	r := requireRule(t, string(buf))
	r2, err := ParseRule(buf)
	require.NoError(t, err)
	for i := range buf {
		buf[i] = 'x'
	}
	assert.Equal(t, "test", r2.Type, "rule changed when the input buffer was overwritten")
	assert.True(t, r.Equal(r2))
}

// withAddrs fills in the dial addresses the parser computes for backends.
func withAddrs(r Rule) *Rule {
	for _, b := range r.Backends {
		r.addrs = append(r.addrs, b.Addr())
	}
	return &r
}
