package state

import (
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportLegacy imports the first Mantrid's state file into a table and
// checks it holds what Load reads.
func TestImportLegacy(t *testing.T) {
	snap, err := Load("testdata/legacy.json")
	require.NoError(t, err)
	table := hostmap.New(1)
	b := table.NewBuilder(0)
	im, err := ImportFile("testdata/legacy.json", b)
	require.NoError(t, err)
	assert.Empty(t, im.Refused)
	assert.Equal(t, len(snap.Hosts), im.Rules)
	stats := im.Stats
	table.Replace(b)
	require.Equal(t, len(snap.Hosts), table.Len())
	for key, r := range snap.Hosts {
		h, ok := table.Get(key)
		require.True(t, ok, "host %s", key)
		assert.True(t, r.Equal(h.Unpack()), "host %s: %s", key, h.Unpack().AppendJSON(nil))
	}
	want := map[string]actions.Counts{}
	for key, c := range snap.Stats {
		want[key] = c
	}
	want[""] = want[UnknownHost]
	delete(want, UnknownHost)
	assert.Equal(t, want, stats, "the unmatched requests' counters come back under \"\"")
}

// TestImportUnknownRule checks that a rule named "unknown" takes the
// "unknown" counters, as in the first Mantrid.
func TestImportUnknownRule(t *testing.T) {
	doc := `{"hosts": {"unknown": ["empty", {"code": 404}, false]}, "stats": {"unknown": {"completed_requests": 3}}}`
	im, err := Import(doc, hostmap.New(1).NewBuilder(0))
	require.NoError(t, err)
	assert.Equal(t, map[string]actions.Counts{"unknown": {CompletedRequests: 3}}, im.Stats)
}

// TestImportRefuses imports a state file the first Mantrid loaded whose
// entries Mantrid's checks refuse one by one: every valid rule goes into
// the table, every refused one is listed in document order with its JSON
// as written, its counters and the reason, and never stops the import.
func TestImportRefuses(t *testing.T) {
	doc := `{"stats": {"ok.io": {"completed_requests": 2}, "ep.io:8080": {"completed_requests": 5},
	                "EP.io": {"bytes_sent": 7}, "ep.io": {"bytes_sent": 8}, "unknown": {"completed_requests": 1},
	                "gone.io": {"bytes_sent": -1}, "a b": {}},
	 "hosts": {
		"ok.io": ["spin", {}, true],
		"opt.io": ["spin", {"colour": "red"}, false],
		"port.io": ["proxy", {"backends": [["10.0.0.1", 0]]}, true],
		"ep.io:8080": ["empty", {"code": 403}, false],
		"code.io": ["empty", {"code": 999}, false],
		"EP.io": ["empty", {"code": 401}, true],
		"ep.io": ["empty", {"code": 402}, true],
		"Ep.Io": ["empty", {"code": 405}, true],
		"X.io": ["empty", {"code": 410}, false],
		"x.IO": ["empty", {"code": 411}, false],
		"twice.io": ["empty", {"code": 201}, false],
		"twice.io": ["empty", {"code": 202}, false],
		"unknown": ["unknown", {"page": "x"}, false],
		"nohosts.io": ["no_hosts", {}, false]}}`
	table := hostmap.New(1)
	b := table.NewBuilder(0)
	im, err := Import(doc, b)
	require.NoError(t, err)
	table.Replace(b)

	kept := map[string]string{
		"ok.io": `["spin",{},true]`, "ep.io": `["empty",{"code":402},true]`, "x.io": `["empty",{"code":410},false]`,
		"twice.io": `["empty",{"code":201},false]`, "nohosts.io": `["no_hosts",{},false]`,
	}
	got := map[string]string{}
	table.Range(func(key string, h hostmap.Hit) bool {
		got[key] = string(h.Unpack().AppendJSON(nil))
		return true
	})
	assert.Equal(t, kept, got, "the valid rules, the key in normal form (else the first) winning")
	assert.Equal(t, len(kept), im.Rules)

	type refusal struct{ host, rule, stats, why string }
	want := []refusal{
		{"opt.io", `["spin", {"colour": "red"}, false]`, "", "host_option_unknown"},
		{"port.io", `["proxy", {"backends": [["10.0.0.1", 0]]}, true]`, "", "host_option_invalid"},
		{"ep.io:8080", `["empty", {"code": 403}, false]`, `{"completed_requests": 5}`, "invalid rule key"},
		{"code.io", `["empty", {"code": 999}, false]`, "", "host_option_invalid"},
		{"EP.io", `["empty", {"code": 401}, true]`, `{"bytes_sent": 7}`, `the rule key "ep.io" is given twice; the rule of "ep.io" is kept`},
		{"Ep.Io", `["empty", {"code": 405}, true]`, "", `the rule of "ep.io" is kept`},
		{"x.IO", `["empty", {"code": 411}, false]`, "", `the rule key "x.io" is given twice; the rule of "X.io" is kept`},
		{"twice.io", `["empty", {"code": 202}, false]`, "", `the rule of "twice.io" is kept`},
		{"unknown", `["unknown", {"page": "x"}, false]`, "", "host_option_unknown"},
		{"gone.io", "", `{"bytes_sent": -1}`, "counters: bytes_sent is negative"},
		{"a b", "", `{}`, "invalid rule key"},
	}
	require.Len(t, im.Refused, len(want), "refused: %+v", im.Refused)
	for i, w := range want {
		r := im.Refused[i]
		assert.Equal(t, w.host, r.Host, "refused[%d]", i)
		assert.Equal(t, w.rule, r.Rule, "refused[%d] %s: the rule as written", i, w.host)
		assert.Equal(t, w.stats, r.Stats, "refused[%d] %s: its counters as written", i, w.host)
		require.Error(t, r.Err, "refused[%d] %s", i, w.host)
		assert.Contains(t, r.Err.Error(), w.why, "refused[%d] %s", i, w.host)
	}
	assert.ErrorIs(t, im.Refused[4].Err, hostmap.ErrDuplicateKey)
	assert.ErrorIs(t, im.Refused[2].Err, hostmap.ErrBadKey)
	var re actions.RuleError
	assert.ErrorAs(t, im.Refused[0].Err, &re)

	assert.Equal(t, map[string]actions.Counts{
		"ok.io": {CompletedRequests: 2}, "ep.io": {BytesSent: 8}, "": {CompletedRequests: 1},
	}, im.Stats, "counters of refused rules go with them; a refused rule named unknown leaves unknown's to the unmatched requests")
}

// TestImportAllRefused checks a document none of whose rules is valid:
// an empty table, every rule listed, no error.
func TestImportAllRefused(t *testing.T) {
	im, err := Import(`{"hosts": {"a.io:80": ["spin", {}, true], "b.io:80": ["spin", {}, true]}}`, hostmap.New(1).NewBuilder(0))
	require.NoError(t, err)
	assert.Equal(t, 0, im.Rules)
	assert.Len(t, im.Refused, 2)
}
