package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantURI    string
		wantBody   string // the rule as sent
		wantStored string // the rule as the server keeps it
		wantStdout string
	}{
		{name: "empty", args: []string{"set", "top-secret.com", "empty", "true", "code=403"},
			wantURI: "/hostname/top-secret.com/", wantBody: `["empty",{"code":"403"},true]`,
			wantStored: `["empty",{"code":403},true]`},
		{name: "proxy with backends", args: []string{"set", "ep.io", "proxy", "true", "backends=10.0.0.2:8000,10.0.0.3:8000", "attempts=3"},
			wantURI:    "/hostname/ep.io/",
			wantBody:   `["proxy",{"attempts":"3","backends":[["10.0.0.2",8000],["10.0.0.3",8000]]},true]`,
			wantStored: `["proxy",{"attempts":3,"backends":[["10.0.0.2",8000],["10.0.0.3",8000]]},true]`},
		{name: "proxy with IPv6 backends", args: []string{"set", "ep.io", "proxy", "False", "backends=[fd00::2]:8000, [::1]:80", "delay=0.5"},
			wantURI:    "/hostname/ep.io/",
			wantBody:   `["proxy",{"backends":[["fd00::2",8000],["::1",80]],"delay":"0.5"},false]`,
			wantStored: `["proxy",{"backends":[["fd00::2",8000],["::1",80]],"delay":0.5},false]`},
		{name: "protocol-qualified redirect", args: []string{"set", "http://ep.io", "redirect", "TRUE", "redirect_to=https://ep.io/?a=b"},
			wantURI: "/hostname/http:%2F%2Fep.io/", wantBody: `["redirect",{"redirect_to":"https://ep.io/?a=b"},true]`,
			wantStored: `["redirect",{"redirect_to":"https://ep.io/?a=b"},true]`},
		{name: "spin without options", args: []string{"set", "local.ep.io", "spin", "true"},
			wantURI: "/hostname/local.ep.io/", wantBody: `["spin",{},true]`, wantStored: `["spin",{},true]`},
		{name: "static", args: []string{"set", "maintenance.ep.io", "static", "false", "type=test"},
			wantURI: "/hostname/maintenance.ep.io/", wantBody: `["static",{"type":"test"},false]`,
			wantStored: `["static",{"type":"test"},false]`},
		{name: "json", args: []string{"--json", "set", "ep.io", "no_hosts", "false"},
			wantURI: "/hostname/ep.io/", wantBody: `["no_hosts",{},false]`, wantStored: `["no_hosts",{},false]`,
			wantStdout: "{\"ok\":true}\n"},
		{name: "json after the command", args: []string{"set", "--json", "ep.io", "unknown", "true"},
			wantURI: "/hostname/ep.io/", wantBody: `["unknown",{},true]`, wantStored: `["unknown",{},true]`,
			wantStdout: "{\"ok\":true}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil, nil)
			res := runAt(t, f, tt.args...)
			require.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Equal(t, tt.wantStdout, res.stdout, "args %q", tt.args)
			assert.Empty(t, res.stderr, "args %q", tt.args)
			assert.Equal(t, []request{{Method: "PUT", URI: tt.wantURI, Body: tt.wantBody}}, f.requests(), "args %q", tt.args)
			for host, rule := range f.snapshot() {
				assert.Equal(t, tt.wantStored, rule, "args %q: rule of %s", tt.args, host)
			}
		})
	}
}

func TestSetUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantMsg string
	}{
		{name: "nothing", args: nil, wantMsg: "you must supply a hostname"},
		{name: "no action", args: []string{"ep.io"}, wantMsg: "you must supply an action"},
		{name: "no subdoms", args: []string{"ep.io", "spin"}, wantMsg: "you must supply true or false for the subdomains flag"},
		{name: "subdoms not a bool", args: []string{"ep.io", "spin", "yes"}, wantMsg: "you must supply true or false for the subdomains flag"},
		{name: "option without =", args: []string{"ep.io", "empty", "true", "code"}, wantMsg: "code is not a valid option (no =)"},
		{name: "option without name", args: []string{"ep.io", "empty", "true", "=403"}, wantMsg: "=403 is not a valid option (no name before =)"},
		{name: "option twice", args: []string{"ep.io", "empty", "true", "code=403", "code=404"}, wantMsg: "option code is given twice"},
		{name: "proxy needs backends", args: []string{"ep.io", "proxy", "true", "attempts=3"},
			wantMsg: "the proxy action requires a backends option, e.g. backends=10.0.0.2:8000,10.0.0.3:8000"},
		{name: "static needs type", args: []string{"ep.io", "static", "true"}, wantMsg: "the static action requires a type option"},
		{name: "redirect needs redirect_to", args: []string{"ep.io", "redirect", "true", "to=https://ep.io"},
			wantMsg: "the redirect action requires a redirect_to option"},
		{name: "empty needs code", args: []string{"ep.io", "empty", "false"}, wantMsg: "the empty action requires a code option, e.g. code=403"},
		{name: "backend without port", args: []string{"ep.io", "proxy", "true", "backends=10.0.0.2"},
			wantMsg: `backends: "10.0.0.2" is not HOST:PORT (IPv6: [ADDR]:PORT)`},
		{name: "bare IPv6 backend", args: []string{"ep.io", "proxy", "true", "backends=::1:80"},
			wantMsg: `backends: "::1:80" is not HOST:PORT`},
		{name: "backend without host", args: []string{"ep.io", "proxy", "true", "backends=:80"},
			wantMsg: `backends: ":80" is not HOST:PORT`},
		{name: "empty backend", args: []string{"ep.io", "proxy", "true", "backends=a:1,"},
			wantMsg: `backends: "" is not HOST:PORT`},
		{name: "port not a number", args: []string{"ep.io", "proxy", "true", "backends=a:http"},
			wantMsg: `backends: the port of "a:http" must be a number from 1 to 65535`},
		{name: "port 0", args: []string{"ep.io", "proxy", "true", "backends=a:0"},
			wantMsg: `backends: the port of "a:0" must be a number from 1 to 65535`},
		{name: "port 65536", args: []string{"ep.io", "proxy", "true", "backends=a:65536"},
			wantMsg: `backends: the port of "a:65536" must be a number from 1 to 65535`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil, nil)
			args := append([]string{"set"}, tt.args...)
			res := runAt(t, f, args...)
			assert.Equal(t, exitUsage, res.code, "args %q", args)
			assert.Empty(t, res.stdout, "args %q", args)
			assert.True(t, strings.HasPrefix(firstLine(res.stderr), "mantrid-client: "+tt.wantMsg),
				"args %q: stderr %q, want it to start with %q", args, res.stderr, "mantrid-client: "+tt.wantMsg)
			assert.Contains(t, res.stderr, "\nUsage: mantrid-client set <hostname> <action> <subdoms> [option=value, ...]\n", "args %q", args)
			assert.Empty(t, f.requests(), "args %q: nothing is sent", args)
		})
	}
}

func TestParseBackendsBounds(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []any
	}{
		{in: "a:1", want: []any{[]any{"a", 1}}},
		{in: "a:65535", want: []any{[]any{"a", 65535}}},
		{in: "[::1]:8000,b.internal:8001", want: []any{[]any{"::1", 8000}, []any{"b.internal", 8001}}},
	} {
		got, err := parseBackends(tt.in)
		require.NoError(t, err, "parseBackends(%q)", tt.in)
		assert.Equal(t, tt.want, got, "parseBackends(%q)", tt.in)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
