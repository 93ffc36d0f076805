package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mantrid/mantrid/bench/hostset"
)

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "put.json")
	set := hostset.Set{N: 5, Extra: []hostset.Extra{hostset.BenchExtra("127.0.0.1:9")}}
	require.NoError(t, write(set, hostset.Put, path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(b, &body), "hostgen's put output: %s", b)
	assert.Len(t, body, 6)
	assert.Contains(t, body, "app0000004.example-hosting.com")
	assert.Contains(t, body, "bench.test")
	assert.Error(t, write(set, hostset.Put, filepath.Join(t.TempDir(), "no", "such", "dir")))
}
