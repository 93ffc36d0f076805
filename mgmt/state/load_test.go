package state

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustRule(t testing.TB, js string) *actions.Rule {
	t.Helper()
	r, err := actions.ParseRule([]byte(js))
	require.NoError(t, err, "rule %s", js)
	return r
}

// TestLoadLegacy loads a state file as the first Mantrid (Python's
// json.dump) wrote it: rules as lists, numbers as ints, some options as the
// strings its CLI sent, backends as [host, port] lists, stats objects with
// missing counters.
func TestLoadLegacy(t *testing.T) {
	snap, err := Load("testdata/legacy.json")
	require.NoError(t, err)
	want := map[string]string{
		"localhost":    `["empty",{"code":402},false]`,
		"local.ep.io":  `["spin",{},true]`,
		"http://ep.io": `["redirect",{"redirect_to":"https://ep.io"},true]`,
		"ep.io":        `["proxy",{"attempts":2,"backends":[["10.0.0.1",8080],["10.0.0.2",8080]],"delay":0.5},true]`,
		"static.ep.io": `["static",{"type":"test"},false]`,
		"cli.ep.io":    `["empty",{"code":403},false]`,
		"slow.ep.io":   `["spin",{"check_interval":2,"timeout":60},false]`,
		"gone.ep.io":   `["unknown",{},false]`,
	}
	require.Len(t, snap.Hosts, len(want))
	for host, js := range want {
		r := snap.Hosts[host]
		require.NotNil(t, r, "host %s missing", host)
		assert.Equal(t, js, string(r.AppendJSON(nil)), "host %s", host)
	}
	assert.Equal(t, map[string]actions.Counts{
		"unknown":     {CompletedRequests: 17, BytesSent: 4512, BytesReceived: 3000},
		"ep.io":       {OpenRequests: 3, CompletedRequests: 120, BytesSent: 1048576, BytesReceived: 20480},
		"localhost":   {CompletedRequests: 5},
		"local.ep.io": {},
	}, snap.Stats, "stats are returned as stored, open_requests included")
}

func TestLoadMissing(t *testing.T) {
	snap, err := Load(filepath.Join(t.TempDir(), "none.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NotNil(t, snap)
	assert.Empty(t, snap.Hosts)
	assert.Empty(t, snap.Stats)
}

func TestDecodeAccepts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		in    string
		hosts int
		stats map[string]actions.Counts
	}{
		{"no stats member", `{"hosts": {}}`, 0, map[string]actions.Counts{}},
		{"null stats", `{"hosts": {}, "stats": null}`, 0, nil},
		{"other members ignored", `{"version": 2, "hosts": {"a.b": ["spin", {}, true]}, "x": [1]}`, 1, map[string]actions.Counts{}},
		{"keys normalised", `{"hosts": {"EP.io.": ["spin", {}, true]}, "stats": {"EP.IO": {"bytes_sent": 1}}}`, 1,
			map[string]actions.Counts{"ep.io": {BytesSent: 1}}},
		{"whole floats as counters", `{"hosts": {}, "stats": {"unknown": {"bytes_sent": 12.0, "bytes_received": 1.2e1}}}`, 0,
			map[string]actions.Counts{"unknown": {BytesSent: 12, BytesReceived: 12}}},
		{"largest counter", `{"hosts": {}, "stats": {"unknown": {"bytes_sent": 9223372036854775807}}}`, 0,
			map[string]actions.Counts{"unknown": {BytesSent: 1<<63 - 1}}},
		{"unknown counter names ignored", `{"hosts": {}, "stats": {"unknown": {"weird": "x"}}}`, 0,
			map[string]actions.Counts{"unknown": {}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := Decode([]byte(tt.in))
			if tt.stats == nil {
				assert.Error(t, err, "input %s", tt.in)
				return
			}
			require.NoError(t, err, "input %s", tt.in)
			assert.Len(t, snap.Hosts, tt.hosts, "input %s", tt.in)
			assert.Equal(t, tt.stats, snap.Stats, "input %s", tt.in)
		})
	}
}

// TestLoadRefuses checks that every kind of broken file is an error that
// names the file and the problem, and that Load leaves the file alone.
func TestLoadRefuses(t *testing.T) {
	legacy, err := os.ReadFile("testdata/legacy.json")
	require.NoError(t, err)
	for _, tt := range []struct {
		name, in, want string
		// entry is set when the problem is in one entry: Import then
		// refuses that entry, for a reason holding entry, instead of the
		// file (see TestImportRefuses).
		entry string
	}{
		{"empty file", ``, "file is empty", ""},
		{"blank file", " \n", "file is empty", ""},
		{"corrupt", `{"hosts": {"a": [}`, "not valid JSON: error at byte", ""},
		{"truncated", string(legacy[:len(legacy)/2]), "truncated", ""},
		{"trailing garbage", `{"hosts": {}} x`, "not valid JSON", ""},
		{"not an object", `[]`, "not a JSON object", ""},
		{"no hosts", `{"stats": {}}`, `no "hosts" object`, ""},
		{"hosts twice", `{"hosts": {}, "hosts": {}}`, `"hosts" appears twice`, ""},
		{"hosts not an object", `{"hosts": []}`, "hosts: not a JSON object", ""},
		{"hosts null", `{"hosts": null}`, "hosts: not a JSON object", ""},
		{"invalid rule", `{"hosts": {"ep.io": ["fly", {}, true]}}`, `hosts: "ep.io": host_action_invalid`, "host_action_invalid"},
		{"invalid option", `{"hosts": {"ep.io": ["empty", {"code": 99}, true]}}`, `hosts: "ep.io": host_option_invalid`, "host_option_invalid"},
		{"invalid key", `{"hosts": {"ep io": ["spin", {}, true]}}`, `hosts: "ep io": hostmap: invalid rule key`, "invalid rule key"},
		{"control byte in key quoted", `{"hosts": {"a\u0000b": ["spin", {}, true]}}`, `hosts: "a\x00b"`, "invalid rule key"},
		{"key twice after normalising", `{"hosts": {"ep.io": ["spin", {}, true], "EP.io.": ["spin", {}, true]}}`, `given twice`, "given twice"},
		{"stats not an object", `{"hosts": {}, "stats": 5}`, "stats: not a JSON object", ""},
		{"host stats not an object", `{"hosts": {}, "stats": {"unknown": 5}}`, `stats: "unknown": stats are not a JSON object`, "not a JSON object"},
		{"negative counter", `{"hosts": {}, "stats": {"unknown": {"bytes_sent": -1}}}`, `bytes_sent is negative`, "bytes_sent is negative"},
		{"negative float counter", `{"hosts": {}, "stats": {"unknown": {"bytes_sent": -1.5}}}`, `bytes_sent is negative`, "bytes_sent is negative"},
		{"fractional counter", `{"hosts": {}, "stats": {"unknown": {"bytes_sent": 1.5}}}`, `bytes_sent is not a whole number`, "bytes_sent is not a whole number"},
		{"huge counter", `{"hosts": {}, "stats": {"unknown": {"bytes_sent": 9223372036854775808}}}`, `bytes_sent is out of range`, "bytes_sent is out of range"},
		{"string counter", `{"hosts": {}, "stats": {"unknown": {"bytes_sent": "1"}}}`, `bytes_sent is not a number`, "bytes_sent is not a number"},
		{"stats key invalid", `{"hosts": {}, "stats": {"a b": {}}}`, `stats: "a b"`, "invalid rule key"},
		{"stats key twice", `{"hosts": {}, "stats": {"a": {}, "A": {}}}`, `given twice`, "given twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.in), 0o644))
			old := time.Now().Add(-time.Hour).Truncate(time.Second)
			require.NoError(t, os.Chtimes(path, old, old))
			snap, err := Load(path)
			require.Error(t, err, "input %q", tt.in)
			assert.Nil(t, snap)
			assert.Contains(t, err.Error(), "state file "+path+": ", "error names the file")
			assert.Contains(t, err.Error(), tt.want, "input %q", tt.in)
			assert.False(t, strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 }),
				"error %q holds control bytes", err)
			after, rerr := os.ReadFile(path)
			require.NoError(t, rerr)
			assert.Equal(t, tt.in, string(after), "Load changed the file")
			fi, serr := os.Stat(path)
			require.NoError(t, serr)
			assert.True(t, fi.ModTime().Equal(old), "Load touched the file: mtime %v, want %v", fi.ModTime(), old)

			im, ierr := ImportFile(path, hostmap.New(1).NewBuilder(0))
			if tt.entry != "" {
				require.NoError(t, ierr, "ImportFile of %q", tt.in)
				require.Len(t, im.Refused, 1, "ImportFile of %q refuses the entry", tt.in)
				assert.Contains(t, im.Refused[0].Err.Error(), tt.entry, "ImportFile of %q", tt.in)
				return
			}
			require.Error(t, ierr, "ImportFile of %q", tt.in)
			assert.Equal(t, err.Error(), ierr.Error(), "ImportFile refuses as Load does")
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir) // a folder is not a file
	require.Error(t, err)
	assert.False(t, errors.Is(err, os.ErrNotExist))
	assert.Contains(t, err.Error(), "state file "+dir)
}

func TestCounter(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""}, {"-0", 0, ""}, {"7", 7, ""}, {"7.0", 7, ""}, {"7e0", 7, ""},
		{"-1", 0, "negative"}, {"0.5", 0, "whole"}, {"1e19", 0, "out of range"}, {"9223372036854775807", 1<<63 - 1, ""},
	} {
		got, err := counter(json.Number(tt.in))
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, "input %s", tt.in)
			continue
		}
		assert.NoError(t, err, "input %s", tt.in)
		assert.Equal(t, tt.want, got, "input %s", tt.in)
	}
}
