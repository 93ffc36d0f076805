package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExampleConfigQuickStart runs what `make run` runs — examples/mantrid.conf
// with examples/state.json — with the ports changed to free ones, and makes
// the README's quick-start requests.
func TestExampleConfigQuickStart(t *testing.T) {
	conf, err := os.ReadFile("../../examples/mantrid.conf")
	require.NoError(t, err)
	state, err := os.ReadFile("../../examples/state.json")
	require.NoError(t, err)
	makefile, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	require.Contains(t, string(makefile), "-c examples/mantrid.conf", "make run uses the example config")
	require.Contains(t, string(makefile), "cp examples/state.json run/state.json", "make run seeds the example state")

	_, err = ParseConfig("examples/mantrid.conf", strings.NewReader(string(conf)))
	require.NoError(t, err, "the example config parses")

	// Free ports, and the state file and static folder in a temp folder.
	text := regexp.MustCompile(`(127\.0\.0\.1):\d+`).ReplaceAllString(string(conf), "$1:0")
	text = regexp.MustCompile(`(?m)^(state_file|static_dir) .*$`).ReplaceAllString(text, "")
	dir := t.TempDir()
	confPath := filepath.Join(dir, "mantrid.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(testIdentity+text+"\nstate_file = "+filepath.Join(dir, "state.json")+"\nstatic_dir = "+filepath.Join(dir, "static")+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), state, 0o644))
	ex := startMantridConf(t, confPath)

	cl := newClient(t, ex.addr())
	resp, body := cl.get("localhost", "/")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, "Congratulations")
	resp, _ = cl.get("empty.localhost", "/")
	assert.Equal(t, 402, resp.StatusCode)
	resp, _ = cl.get("a.go.localhost", "/x?y")
	assert.Equal(t, 302, resp.StatusCode)
	assert.Equal(t, "https://example.com/x?y", resp.Header.Get("Location"))
	resp, _ = cl.get("nowhere", "/")
	assert.Equal(t, 503, resp.StatusCode)
}
