package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFile writes content to a new file in a test folder and returns its
// path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.json")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestImport(t *testing.T) {
	const doc = "{\n  \"ep.io\": [\"proxy\", {\"backends\": [\"10.0.0.2:8000\"]}, true],\n  \"localhost\": [\"empty\", {\"code\": \"402\"}, false]\n}\n"
	want := map[string]string{
		"ep.io":     `["proxy",{"backends":[["10.0.0.2",8000]]},true]`,
		"localhost": `["empty",{"code":402},false]`,
	}
	one := `{"a.io": ["spin", {}, true]}`
	tests := []struct {
		name    string
		args    []string
		stdin   string
		body    string
		want    map[string]string
		wantOut string
	}{
		{name: "file", args: []string{"import", writeFile(t, doc)}, body: doc, want: want, wantOut: "imported 2 rules\n"},
		{name: "stdin", args: []string{"import", "-"}, stdin: doc, body: doc, want: want, wantOut: "imported 2 rules\n"},
		{name: "one rule", args: []string{"import", "-"}, stdin: one, body: one,
			want: map[string]string{"a.io": `["spin",{},true]`}, wantOut: "imported 1 rule\n"},
		{name: "json", args: []string{"--json", "import", writeFile(t, doc)}, body: doc, want: want, wantOut: "{\"ok\":true}\n"},
		{name: "empty allowed", args: []string{"import", "--allow-empty", "-"}, stdin: "{}", body: "{}",
			want: map[string]string{}, wantOut: "imported 0 rules\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, sampleRules, nil)
			res := runCLI(t, map[string]string{api.EnvURL: f.URL}, tt.stdin, tt.args...)
			require.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Equal(t, tt.wantOut, res.stdout, "args %q", tt.args)
			assert.Empty(t, res.stderr, "args %q", tt.args)
			assert.Equal(t, []request{{Method: "PUT", URI: "/hostname/", Body: tt.body}}, f.requests(), "args %q", tt.args)
			assert.Equal(t, tt.want, f.snapshot(), "args %q: the rules after import", tt.args)
		})
	}
}

// TestImportRoundTrip imports what export printed.
func TestImportRoundTrip(t *testing.T) {
	from := newFakeAPI(t, sampleRules, sampleCounters)
	to := newFakeAPI(t, map[string]string{"old.io": `["spin",{},true]`}, map[string]api.Stats{"old.io": {CompletedRequests: 9}})
	exported := runAt(t, from, "export")
	require.Equal(t, exitOK, exported.code, exported.stderr)
	res := runCLI(t, map[string]string{api.EnvURL: to.URL}, exported.stdout, "import", "-")
	require.Equal(t, exitOK, res.code, res.stderr)
	assert.Equal(t, "imported 8 rules, with the counters\n", res.stdout)
	assert.Equal(t, from.snapshot(), to.snapshot(), "the rules after export | import")
	assert.Equal(t, sampleCounters, to.stats, "the counters after export | import")
	reqs := to.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "PUT", reqs[0].Method)
	assert.Equal(t, api.StatePath, reqs[0].URI, "a state document goes to /state/")
}

func TestCheckDocuments(t *testing.T) {
	for _, tt := range []struct {
		doc   string
		state bool
		hosts int
		err   string
	}{
		{`{"a.io": ["spin", {}, true]}`, false, 1, ""},
		{`{"hosts": ["spin", {}, true]}`, false, 1, ""},
		{`{"hosts": {"a.io": ["spin", {}, true], "b.io": ["spin", {}, true]}, "stats": {"a.io": {"open_requests": 0}}}`, true, 2, ""},
		{` {"stats": {"x": {"a": [1, "}"]}}, "other": 5, "hosts": {}}`, true, 0, ""},
		{`{"stats": {}}`, true, 0, `needs a "hosts" object`},
		{`{"hosts": {"a.io": ["spin", {}, true], "a.io": ["spin", {}, true]}}`, true, 0, "given twice"},
		{`{"hosts": {"a.io": {"spin": 1}}}`, true, 0, "is not a JSON array"},
		{`{"hosts": {}} x`, true, 0, "more data after"},
		{`{"hosts": {}, "hosts": {}}`, true, 0, `"hosts" is given twice`},
	} {
		doc, err := client.Check(strings.NewReader(tt.doc))
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.doc)
			continue
		}
		require.NoError(t, err, tt.doc)
		assert.Equal(t, client.Document{State: tt.state, Hosts: tt.hosts}, doc, tt.doc)
	}
}

func TestImportRefused(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantErr  string
		wantSent bool
	}{
		{name: "array", args: []string{"import", "-"}, stdin: `[["spin",{},true]]`,
			wantErr: "standard input: the rules must be one JSON object"},
		{name: "not JSON", args: []string{"import", writeFile(t, "ep.io spin true\n")},
			wantErr: "rules.json: the rules must be one JSON object"},
		{name: "bad JSON", args: []string{"import", "-"}, stdin: `{"ep.io": ["spin", {}, true],}`,
			wantErr: "standard input: not valid JSON at byte 30: expected a hostname in double quotes"},
		{name: "empty file", args: []string{"import", writeFile(t, "")}, wantErr: "the rules are empty: expected a JSON object"},
		{name: "truncated", args: []string{"import", "-"}, stdin: `{"ep.io": ["spin", {}, true], "a.io": [`,
			wantErr: `standard input: the JSON ends too early in the rule of host "a.io"`},
		{name: "empty object", args: []string{"import", "-"}, stdin: " {}\n",
			wantErr: "standard input holds no rules: importing it would delete every rule (add --allow-empty to do that)"},
		{name: "missing file", args: []string{"import", missing}, wantErr: "open " + missing + ": no such file or directory"},
		{name: "server refuses", args: []string{"import", "-"}, stdin: `{"ep.io": ["spin", {}, true], "bad.io": ["empty", {}, true]}`,
			wantErr: `host_option_missing: option "code" is required for action empty (host "bad.io")`, wantSent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, sampleRules, nil)
			res := runCLI(t, map[string]string{api.EnvURL: f.URL}, tt.stdin, tt.args...)
			assert.Equal(t, exitFailure, res.code, "args %q stdin %q", tt.args, tt.stdin)
			assert.Empty(t, res.stdout, "args %q stdin %q", tt.args, tt.stdin)
			assert.True(t, strings.HasPrefix(res.stderr, "mantrid-client: "), "args %q: stderr %q", tt.args, res.stderr)
			assert.Contains(t, res.stderr, tt.wantErr, "args %q stdin %q", tt.args, tt.stdin)
			assert.Equal(t, tt.wantSent, len(f.requests()) > 0, "args %q stdin %q: sent %v", tt.args, tt.stdin, f.requests())
			assert.Len(t, f.snapshot(), len(sampleRules), "args %q stdin %q: the rules stay", tt.args, tt.stdin)
		})
	}
}

func TestImportStdinLeavesNoTempFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, stdin := range []string{`{"a.io": ["spin", {}, true]}`, `[]`} {
		f := newFakeAPI(t, nil, nil)
		runCLI(t, map[string]string{api.EnvURL: f.URL}, stdin, "import", "-")
		left, err := os.ReadDir(tmp)
		require.NoError(t, err)
		assert.Empty(t, left, "stdin %q: temporary files left behind", stdin)
	}
}
