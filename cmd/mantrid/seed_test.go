package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteRefused checks the side file: one line per refused entry, the
// rule and counters compacted as written; counters alone are not counted
// as refused rules; no refusal removes an old side file.
func TestWriteRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json.refused")
	refused := []state.Refused{
		{Host: "ep.io:80", Rule: "[\"spin\",\n {}, true]", Stats: `{ "completed_requests": 3 }`, Err: hostmap.ErrBadKey},
		{Host: "a b", Stats: `{}`, Err: errors.New("counters: not a JSON object")},
	}
	require.NoError(t, writeRefused(path, refused))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t,
		`{"host":"ep.io:80","error":"hostname_invalid","reason":"invalid rule key","rule":["spin",{},true],"stats":{"completed_requests":3}}`+"\n"+
			`{"host":"a b","error":"state_not_a_dict","reason":"counters: not a JSON object","stats":{}}`+"\n", string(data))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())

	count := newRefusedRules(path)
	assert.Equal(t, int64(1), count.Count(), "only lines with a rule count")
	more := append(refused, state.Refused{Host: "x.io", Rule: `["spin",{"x":1},true]`, Err: errors.New("x")})
	time.Sleep(10 * time.Millisecond) // a new modification time, whatever the file system's resolution
	require.NoError(t, writeRefused(path, more))
	assert.Equal(t, int64(2), count.Count(), "the file is read again when it changes")

	require.NoError(t, writeRefused(path, nil))
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist, "a store made without refusals removes an old side file")
	assert.Equal(t, int64(0), count.Count(), "no side file: 0")
	require.NoError(t, writeRefused(path, nil), "nothing to remove")

	require.NoError(t, os.Mkdir(path, 0o755))
	assert.Equal(t, int64(-1), count.Count(), "a side file that cannot be read")
}
