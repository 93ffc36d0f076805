package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// result is what one run of the command produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs mantrid-client with args, the environment env and stdin.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	p := process{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(name string) string { return env[name] },
	}
	code := run(append([]string{"mantrid-client"}, args...), p)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// runAt runs mantrid-client against the fake API f (through MANTRID_URL).
func runAt(t *testing.T, f *fakeAPI, args ...string) result {
	t.Helper()
	return runCLI(t, map[string]string{api.EnvURL: f.URL}, "", args...)
}

// closedURL returns the URL of a loopback port where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

func TestURLPrecedence(t *testing.T) {
	flagAPI := newFakeAPI(t, map[string]string{"flag.io": `["spin",{},false]`}, nil)
	envAPI := newFakeAPI(t, map[string]string{"env.io": `["spin",{},false]`}, nil)
	env := map[string]string{api.EnvURL: envAPI.URL}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantHost string
	}{
		{name: "MANTRID_URL", env: env, args: []string{"export"}, wantHost: "env.io"},
		{name: "--url beats MANTRID_URL", env: env, args: []string{"--url", flagAPI.URL, "export"}, wantHost: "flag.io"},
		{name: "--url after the command", env: env, args: []string{"export", "--url", flagAPI.URL}, wantHost: "flag.io"},
		{name: "after beats before", env: nil, args: []string{"--url", envAPI.URL, "export", "--url=" + flagAPI.URL}, wantHost: "flag.io"},
		{name: "--url without MANTRID_URL", env: nil, args: []string{"--url", flagAPI.URL + "/", "export"}, wantHost: "flag.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, tt.env, "", tt.args...)
			require.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Contains(t, res.stdout, `"`+tt.wantHost+`"`, "args %q env %v", tt.args, tt.env)
		})
	}
}

func TestPickURL(t *testing.T) {
	tests := []struct {
		name, flag, env, want string
		flagSet               bool
	}{
		{name: "default", want: "http://localhost:8042"},
		{name: "env", env: "http://10.0.0.1:8042", want: "http://10.0.0.1:8042"},
		{name: "flag", flag: "http://10.0.0.2:8042", flagSet: true, env: "http://10.0.0.1:8042", want: "http://10.0.0.2:8042"},
		{name: "empty flag is still given", flag: "", flagSet: true, env: "http://10.0.0.1:8042", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pickURL(tt.flag, tt.flagSet, func(name string) string {
				if name == api.EnvURL {
					return tt.env
				}
				return ""
			})
			assert.Equal(t, tt.want, got, "pickURL(%q, %v) with MANTRID_URL=%q", tt.flag, tt.flagSet, tt.env)
		})
	}
}

func TestUsageErrors(t *testing.T) {
	f := newFakeAPI(t, nil, nil)
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantMsg   string
		wantUsage string
	}{
		{name: "no command", args: nil, wantMsg: "no command given: use one of list, get, set, delete, stats, nodes, export, import",
			wantUsage: "mantrid-client [--url URL] [--token-file PATH] [--json] [--timeout DURATION] <command> [arguments...]"},
		{name: "unknown command", args: []string{"lsit"}, wantMsg: `"lsit" is not a command`,
			wantUsage: "mantrid-client [--url URL]"},
		{name: "unknown global flag", args: []string{"--verbose", "list"}, wantMsg: "flag provided but not defined: -verbose",
			wantUsage: "mantrid-client [--url URL]"},
		{name: "unknown command flag", args: []string{"list", "-x"}, wantMsg: "flag provided but not defined: -x",
			wantUsage: "mantrid-client list\n"},
		{name: "bad timeout", args: []string{"--timeout", "soon", "list"}, wantMsg: `invalid value "soon" for flag -timeout`,
			wantUsage: "mantrid-client [--url URL]"},
		{name: "list with an argument", args: []string{"list", "ep.io"}, wantMsg: `list takes no arguments, not "ep.io"`,
			wantUsage: "mantrid-client list\n"},
		{name: "get without host", args: []string{"get"}, wantMsg: "get takes one hostname", wantUsage: "mantrid-client get <hostname>"},
		{name: "delete two hosts", args: []string{"delete", "a.io", "b.io"}, wantMsg: `delete takes one hostname, not "b.io"`,
			wantUsage: "mantrid-client delete <hostname>"},
		{name: "stats two hosts", args: []string{"stats", "a.io", "b.io"}, wantMsg: `stats takes at most one hostname, not "b.io"`,
			wantUsage: "mantrid-client stats [hostname]"},
		{name: "flag after the arguments", args: []string{"stats", "a.io", "--json"},
			wantMsg: `stats takes at most one hostname, not "--json" (options go before the arguments)`, wantUsage: "mantrid-client stats [hostname]"},
		{name: "empty hostname", args: []string{"get", ""}, wantMsg: `hostname must not be empty, "." or ".."`,
			wantUsage: "mantrid-client get <hostname>"},
		{name: "dot hostname", args: []string{"delete", ".."}, wantMsg: `hostname must not be empty`,
			wantUsage: "mantrid-client delete <hostname>"},
		{name: "empty stats hostname", args: []string{"stats", ""}, wantMsg: `hostname must not be empty`,
			wantUsage: "mantrid-client stats [hostname]"},
		{name: "empty set hostname", args: []string{"set", "", "spin", "true"}, wantMsg: "you must supply a hostname",
			wantUsage: "mantrid-client set <hostname>"},
		{name: "dot set hostname", args: []string{"set", ".", "spin", "true"}, wantMsg: "hostname must not be empty",
			wantUsage: "mantrid-client set <hostname>"},
		{name: "unknown help topic", args: []string{"help", "lsit"}, wantMsg: "No help topic for 'lsit'"},
		{name: "import without file", args: []string{"import"}, wantMsg: "import takes one file name, or - for standard input",
			wantUsage: "mantrid-client import FILE|-"},
		{name: "URL without scheme", args: []string{"--url", "localhost:8042", "list"},
			wantMsg: `invalid URL "localhost:8042": it must start with http:// or https://`, wantUsage: "mantrid-client list\n"},
		{name: "bad MANTRID_URL", env: map[string]string{api.EnvURL: "http://[::1"}, args: []string{"list"},
			wantMsg: `invalid URL "http://[::1"`, wantUsage: "mantrid-client list\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = map[string]string{api.EnvURL: f.URL}
			}
			res := runCLI(t, env, "", tt.args...)
			assert.Equal(t, exitUsage, res.code, "args %q: exit status", tt.args)
			assert.Empty(t, res.stdout, "args %q: stdout", tt.args)
			assert.Contains(t, res.stderr, "mantrid-client: "+tt.wantMsg, "args %q: stderr", tt.args)
			if tt.wantUsage != "" {
				assert.Contains(t, res.stderr, "Usage: "+tt.wantUsage, "args %q: stderr", tt.args)
			}
		})
	}
	assert.Empty(t, f.requests(), "a usage error sends nothing")
}

func TestServerErrorShown(t *testing.T) {
	f := newFakeAPI(t, nil, nil)
	res := runAt(t, f, "set", "ep.io", "empty", "true", "code=99")
	assert.Equal(t, exitFailure, res.code, "stderr %q", res.stderr)
	assert.Empty(t, res.stdout)
	assert.Equal(t, "mantrid-client: host_option_invalid: code: must be an integer status code from 100 to 599\n", res.stderr)

	res = runAt(t, f, "--json", "set", "ep.io", "teleport", "true")
	assert.Equal(t, exitFailure, res.code, "unknown actions are left to the server")
	assert.Empty(t, res.stdout, "--json prints no data on an error")
	assert.True(t, strings.HasPrefix(res.stderr, "mantrid-client: host_action_invalid: "), "stderr %q", res.stderr)
}

func TestNotTheAPI(t *testing.T) {
	f := newFakeAPI(t, nil, nil)
	res := runCLI(t, map[string]string{api.EnvURL: f.URL + "/elsewhere"}, "", "list")
	assert.Equal(t, exitFailure, res.code)
	assert.Equal(t, "mantrid-client: not_found\n", res.stderr, "a 404 with an API error body shows its code")
}

func TestUnreachable(t *testing.T) {
	base := closedURL(t)
	for _, args := range [][]string{{"list"}, {"get", "ep.io"}, {"set", "ep.io", "spin", "true"}, {"delete", "ep.io"},
		{"stats"}, {"stats", "ep.io"}, {"export"}, {"--json", "list"}} {
		res := runCLI(t, map[string]string{api.EnvURL: base}, "", args...)
		assert.Equal(t, exitFailure, res.code, "args %q", args)
		assert.Empty(t, res.stdout, "args %q", args)
		assert.Equal(t, "mantrid-client: cannot reach Mantrid at "+base+": connection refused\n", res.stderr, "args %q", args)
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{args: []string{"--help"}, want: []string{
			"USAGE:\n   mantrid-client [--url URL] [--token-file PATH] [--json] [--timeout DURATION] <command> [arguments...]",
			"list     list every rule as a table", "get      ", "set      ", "delete   ", "stats    ", "export   ", "import   ",
			"mantrid-client set top-secret.com empty true code=403",
			"mantrid-client set ep.io proxy true backends=10.0.0.2:8000,10.0.0.3:8000 attempts=3",
			"--url URL", "$MANTRID_URL", "http://localhost:8042", "--json", "Exit status",
		}},
		{args: []string{"help", "set"}, want: []string{
			"mantrid-client set [command options] <hostname> <action> <subdoms> [option=value, ...]",
			"code=NNN", "type=NAME", "redirect_to=URL", "backends=HOST:PORT[,HOST:PORT...]", "attempts=N", "delay=SECONDS",
			"timeout=SECONDS", "check_interval=SECONDS", "no_hosts", "unknown",
			"mantrid-client set top-secret.com empty true code=403",
			"mantrid-client set ep.io proxy true backends=10.0.0.2:8000,10.0.0.3:8000 attempts=3",
		}},
		{args: []string{"list", "--help"}, want: []string{"proxy<HOST:PORT,...>", "True", "--json"}},
		{args: []string{"stats", "-h"}, want: []string{"BYTES IN    bytes received from clients", "[hostname]"}},
		{args: []string{"help", "get"}, want: []string{"null when it has none"}},
		{args: []string{"help", "delete"}, want: []string{"mantrid-client delete [command options] <hostname>"}},
		{args: []string{"help", "export"}, want: []string{"import restores"}},
		{args: []string{"import", "--help"}, want: []string{"FILE|-", "--allow-empty", "Rules not in the file are deleted"}},
	}
	for _, tt := range tests {
		res := runCLI(t, nil, "", tt.args...)
		assert.Equal(t, exitOK, res.code, "args %q", tt.args)
		assert.Empty(t, res.stderr, "args %q", tt.args)
		for _, want := range tt.want {
			assert.Contains(t, res.stdout, want, "args %q", tt.args)
		}
	}
}

// TestHelpTables keeps the sample tables of the help in the format the
// commands print.
func TestHelpTables(t *testing.T) {
	for _, row := range [][]any{
		{"HOST", "ACTION", "SUBDOMS"}, {"ep.io", "proxy<10.0.0.2:8000>", "True"},
		{"http://ep.io", "redirect<https://ep.io>", "True"}, {"top-secret.com", "empty<403>", "True"},
	} {
		line := strings.TrimRight(sprintf(listFormat, row...), " \n")
		assert.Contains(t, listHelp, line+"\n", "list help row %q", row)
	}
	for _, row := range [][]any{
		{"HOST", "OPEN", "COMPLETED", "BYTES IN", "BYTES OUT"}, {"ep.io", "2", "1042", "230112", "9120334"},
	} {
		line := strings.TrimRight(sprintf(statsFormat, row...), " \n")
		assert.Contains(t, statsHelp, line+"\n", "stats help row %q", row)
	}
}

// TestTokenSources: the token comes from --token-file (after the command
// beats before it), else $MANTRID_TOKEN, trimmed; a token file that cannot
// give a token is an error before anything is sent.
func TestTokenSources(t *testing.T) {
	f := newFakeAPI(t, nil, nil)
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	good, other := file("good", "  tok-file\n"), file("other", "tok-other")
	empty, spaced := file("empty", "\n \n"), file("spaced", "two words\n")
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantAuth string
		wantErr  string
	}{
		{name: "none", args: []string{"list"}},
		{name: "env", env: map[string]string{api.EnvToken: " tok-env "}, args: []string{"list"}, wantAuth: "Bearer tok-env"},
		{name: "file beats env", env: map[string]string{api.EnvToken: "tok-env"}, args: []string{"--token-file", good, "list"}, wantAuth: "Bearer tok-file"},
		{name: "after the command beats before", args: []string{"--token-file", other, "list", "--token-file", good}, wantAuth: "Bearer tok-file"},
		{name: "missing file", args: []string{"--token-file", filepath.Join(dir, "none"), "list"}, wantErr: "mantrid-client: token file: open " + filepath.Join(dir, "none") + ": no such file or directory\n"},
		{name: "empty file", args: []string{"--token-file", empty, "list"}, wantErr: "mantrid-client: token file " + empty + ": the token is empty\n"},
		{name: "not a token", args: []string{"--token-file", spaced, "list"}, wantErr: "mantrid-client: token file " + spaced + ": the token holds a space"},
		{name: "env not a token", env: map[string]string{api.EnvToken: "a b"}, args: []string{"list"}, wantErr: "mantrid-client: $MANTRID_TOKEN: the token holds a space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{api.EnvURL: f.URL}
			for k, v := range tt.env {
				env[k] = v
			}
			before := len(f.requests())
			res := runCLI(t, env, "", tt.args...)
			if tt.wantErr != "" {
				assert.Equal(t, exitFailure, res.code, "args %q", tt.args)
				assert.True(t, strings.HasPrefix(res.stderr, tt.wantErr), "stderr %q, want it to start with %q", res.stderr, tt.wantErr)
				assert.Len(t, f.requests(), before, "nothing is sent")
				return
			}
			require.Equal(t, exitOK, res.code, "args %q: %s", tt.args, res.stderr)
			got := f.requests()
			require.Len(t, got, before+1)
			assert.Equal(t, tt.wantAuth, got[before].Auth, "args %q env %v", tt.args, tt.env)
		})
	}
}

// TestHelpNamesTokenAndSocket: --help tells how to give the token and a
// Unix socket.
func TestHelpNamesTokenAndSocket(t *testing.T) {
	res := runCLI(t, nil, "", "--help")
	require.Equal(t, exitOK, res.code, res.stderr)
	for _, want := range []string{"--token-file PATH", "$MANTRID_TOKEN", "unix:PATH", "--url unix:/run/mantrid/api.sock"} {
		assert.Contains(t, res.stdout, want)
	}
}
