package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// sampleRules has one rule of each action and ACTION form.
var sampleRules = map[string]string{
	"top-secret.com":    `["empty",{"code":403},true]`,
	"localhost":         `["empty",{"code":402},false]`,
	"ep.io":             `["proxy",{"backends":[["10.0.0.2",8000],["::1",8001]]},true]`,
	"http://ep.io":      `["redirect",{"redirect_to":"https://ep.io"},true]`,
	"local.ep.io":       `["spin",{},true]`,
	"maintenance.ep.io": `["static",{"type":"test"},false]`,
	"nohosts.example":   `["no_hosts",{},false]`,
	"a-very-long-hostname-that-pushes-the-columns.example.com": `["unknown",{},false]`,
}

// sampleTable is sampleRules as the first Mantrid's client printed them
// (generated with Python's "%-35s %-25s %-8s").
const sampleTable = "" +
	"HOST                                ACTION                    SUBDOMS \n" +
	"a-very-long-hostname-that-pushes-the-columns.example.com unknown                   False   \n" +
	"ep.io                               proxy<10.0.0.2:8000,[::1]:8001> True    \n" +
	"http://ep.io                        redirect<https://ep.io>   True    \n" +
	"local.ep.io                         spin                      True    \n" +
	"localhost                           empty<402>                False   \n" +
	"maintenance.ep.io                   static<test>              False   \n" +
	"nohosts.example                     no_hosts                  False   \n" +
	"top-secret.com                      empty<403>                True    \n"

// sampleJSON is sampleRules as list --json and export print them.
const sampleJSON = `{
  "a-very-long-hostname-that-pushes-the-columns.example.com": ["unknown",{},false],
  "ep.io": ["proxy",{"backends":[["10.0.0.2",8000],["::1",8001]]},true],
  "http://ep.io": ["redirect",{"redirect_to":"https://ep.io"},true],
  "local.ep.io": ["spin",{},true],
  "localhost": ["empty",{"code":402},false],
  "maintenance.ep.io": ["static",{"type":"test"},false],
  "nohosts.example": ["no_hosts",{},false],
  "top-secret.com": ["empty",{"code":403},true]
}
`

func TestList(t *testing.T) {
	full := newFakeAPI(t, sampleRules, nil)
	empty := newFakeAPI(t, nil, nil)
	tests := []struct {
		name string
		api  *fakeAPI
		args []string
		want string
	}{
		{name: "table", api: full, args: []string{"list"}, want: sampleTable},
		{name: "no rules", api: empty, args: []string{"list"}, want: "HOST                                ACTION                    SUBDOMS \n"},
		{name: "json", api: full, args: []string{"--json", "list"}, want: sampleJSON},
		{name: "json after the command", api: full, args: []string{"list", "--json"}, want: sampleJSON},
		{name: "json, no rules", api: empty, args: []string{"list", "--json"}, want: "{}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runAt(t, tt.api, tt.args...)
			assert.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Equal(t, tt.want, res.stdout, "args %q", tt.args)
			assert.Empty(t, res.stderr, "args %q", tt.args)
		})
	}
}

func TestDescribeRule(t *testing.T) {
	tests := []struct {
		rule, wantAction, wantSubdoms string
	}{
		{`["proxy",{"backends":["10.0.0.2:8000","[fd00::1]:80"],"attempts":3,"delay":0.5},false]`, "proxy<10.0.0.2:8000,[fd00::1]:80>", "False"},
		{`["proxy",{"backends":[["backend.internal","8000"]]},true]`, "proxy<backend.internal:8000>", "True"},
		{`["empty",{"code":"403"},true]`, "empty<403>", "True"},
		{`["redirect",{"redirect_to":"ep.io/x"},false]`, "redirect<ep.io/x>", "False"},
		{`["spin",{"timeout":300},false]`, "spin", "False"},
		{`["mirror",{"backends":[]},true]`, "mirror", "True"},
		{`["empty",{"code":1000},true]`, "empty", "True"},
		{`["x\u001b[31m",{},1]`, "x?[31m", "?"},
		{`{"not":"a rule"}`, "?", "?"},
	}
	for _, tt := range tests {
		action, subdoms := describeRule([]byte(tt.rule))
		assert.Equal(t, tt.wantAction, action, "describeRule(%s) action", tt.rule)
		assert.Equal(t, tt.wantSubdoms, subdoms, "describeRule(%s) subdoms", tt.rule)
	}
}
