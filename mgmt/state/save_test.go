package state

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleSnapshot(t testing.TB) *Snapshot {
	return &Snapshot{
		Hosts: map[string]*actions.Rule{
			"ep.io":        mustRule(t, `["proxy",{"backends":["10.0.0.1:80",["::1",8080]],"delay":0.25},true]`),
			"http://ep.io": mustRule(t, `["redirect",{"redirect_to":"https://ep.io"},true]`),
			"localhost":    mustRule(t, `["empty",{"code":402},false]`),
		},
		Stats: map[string]actions.Counts{
			"unknown": {CompletedRequests: 3, BytesSent: 10, BytesReceived: 20},
			"ep.io":   {OpenRequests: 2, CompletedRequests: 5, BytesSent: 1 << 40, BytesReceived: 7},
		},
	}
}

func assertSameSnapshot(t *testing.T, want, got *Snapshot) {
	t.Helper()
	require.Len(t, got.Hosts, len(want.Hosts))
	for k, r := range want.Hosts {
		assert.True(t, r.Equal(got.Hosts[k]), "host %s: got %s, want %s", k, got.Hosts[k].AppendJSON(nil), r.AppendJSON(nil))
	}
	assert.Equal(t, want.Stats, got.Stats)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	want := sampleSnapshot(t)
	require.NoError(t, Save(path, want))
	got, err := Load(path)
	require.NoError(t, err)
	assertSameSnapshot(t, want, got)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), `{"hosts": {"ep.io": `), "hosts sorted, first Mantrid layout: %s", data)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, newFileMode, fi.Mode().Perm(), "mode of a new state file")
}

func TestSaveKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"hosts": {}}`), 0o600))
	require.NoError(t, Save(path, sampleSnapshot(t)))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestSaveEntries(t *testing.T) {
	r := mustRule(t, `["spin",{},true]`)
	for _, tt := range []struct {
		name    string
		hosts   []Entry
		unknown actions.Counts
		want    map[string]actions.Counts
	}{
		{"unknown written", []Entry{{Name: "a.io", Rule: r, Stats: actions.Counts{BytesSent: 1}}},
			actions.Counts{BytesSent: 2},
			map[string]actions.Counts{"a.io": {BytesSent: 1}, "unknown": {BytesSent: 2}}},
		{"rule named unknown takes the key", []Entry{{Name: "unknown", Rule: r, Stats: actions.Counts{BytesSent: 1}}},
			actions.Counts{BytesSent: 2},
			map[string]actions.Counts{"unknown": {BytesSent: 1}}},
		{"negative counters written as 0", []Entry{{Name: "a.io", Rule: r, Stats: actions.Counts{OpenRequests: -1, BytesSent: 5}}},
			actions.Counts{OpenRequests: -3},
			map[string]actions.Counts{"a.io": {BytesSent: 5}, "unknown": {}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			require.NoError(t, SaveEntries(path, tt.hosts, tt.unknown))
			got, err := Load(path)
			require.NoError(t, err)
			assert.Len(t, got.Hosts, len(tt.hosts))
			assert.Equal(t, tt.want, got.Stats)
		})
	}
}

// TestSaveFailureKeepsOldFile makes the folder read-only: the save fails
// with an error naming the file, the old file is intact and no temporary
// file is left behind.
func TestSaveFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, Save(path, sampleSnapshot(t)))
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	makeReadOnly(t, dir)

	err = Save(path, &Snapshot{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "state file "+path)
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "old file changed")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "temporary files left: %v", entries)
}

var errBoom = errors.New("boom")

// TestSaveEncodeErrorKeepsOldFile fails the encoder half-way, after the
// temporary file exists: the old file stays and the temporary one goes.
func TestSaveEncodeErrorKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	err := writeAtomic(path, func(w io.Writer) error {
		w.Write([]byte("half"))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	data, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	assert.Equal(t, "old", string(data))
	entries, rerr := os.ReadDir(dir)
	require.NoError(t, rerr)
	assert.Len(t, entries, 1, "temporary files left: %v", entries)
}

func TestAppendString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ep.io", `"ep.io"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"a\x00\x1f\x7f", `"a\u0000\u001f\u007f"`},
		{"é", `"é"`},
		{"\xff", `"\ufffd"`},
	} {
		assert.Equal(t, tt.want, string(actions.AppendJSONString(nil, tt.in)), "input %q", tt.in)
	}
}

func TestEncodeStreams(t *testing.T) {
	snap := &Snapshot{Hosts: map[string]*actions.Rule{}, Stats: map[string]actions.Counts{}}
	r := mustRule(t, `["static",{"type":"test"},false]`)
	for i := range 5000 {
		snap.Hosts["h"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+".io"+string(rune('a'+i/26%26))] = r
	}
	w := &countingWriter{}
	require.NoError(t, Encode(w, snap))
	assert.Greater(t, w.writes, 1, "Encode wrote everything at once")
	assert.LessOrEqual(t, w.max, flushAt+4096, "largest write")
	got, err := Decode(w.buf.Bytes())
	require.NoError(t, err)
	assert.Len(t, got.Hosts, len(snap.Hosts))
}

type countingWriter struct {
	buf         bytes.Buffer
	writes, max int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	w.max = max(w.max, len(p))
	return w.buf.Write(p)
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	assert.NoError(t, CheckWritable(filepath.Join(dir, "state.json")))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "probe file left behind")
	err = CheckWritable(filepath.Join(dir, "missing", "state.json"))
	assert.ErrorContains(t, err, "cannot be written")
}
