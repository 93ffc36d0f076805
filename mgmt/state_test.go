package mgmt

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPutState imports a state document and checks rules and counters.
func TestPutState(t *testing.T) {
	s, r := newTestServer(t, ServerOptions{})
	w := do(s.Handler(), "PUT", "/state/", `{"hosts": {"new.io": ["empty", {"code": 410}, true], "EP.io": `+proxyRule+`},
		"stats": {"new.io": {"completed_requests": 4}, "unknown": {"bytes_sent": 9}}}`)
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Equal(t, map[string]string{"new.io": `["empty",{"code":410},true]`, "ep.io": proxyRule}, r.rules())
	h, ok := r.table.Get("new.io")
	require.True(t, ok)
	assert.Equal(t, int64(4), r.table.Counts(h.Stat).CompletedRequests)
	assert.Equal(t, int64(9), r.table.Counts(0).BytesSent, "unknown's counters are the unmatched requests'")
}

// TestPutStateRefused checks that a state document with rules Mantrid
// refuses changes nothing, and that the answer lists every refused entry
// with its code, in document order, the first one's code and host on top.
func TestPutStateRefused(t *testing.T) {
	s, r := newTestServer(t, ServerOptions{})
	before := r.rules()
	doc := `{"hosts": {
		"ok.io": ["spin", {}, true],
		"port.io": ["proxy", {"backends": [["10.0.0.1", 0]]}, true],
		"ep.io:8080": ["spin", {}, false],
		"EP.io": ["empty", {"code": 403}, true],
		"ep.io": ["empty", {"code": 404}, true],
		"code.io": ["empty", {"code": 999}, false],
		"opt.io": ["spin", {"colour": "red"}, false],
		"gone.io": ["unknown", {"code": 404}, false]},
		"stats": {"ok.io": {"completed_requests": 1}, "neg.io": {"bytes_sent": -1}}}`
	w := do(s.Handler(), "PUT", "/state/", doc)
	require.Equal(t, 400, w.Code, w.Body.String())
	var e api.Error
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
	assert.Equal(t, actions.CodeHostOptionInvalid, e.Code, "the first refused entry's code")
	assert.Equal(t, "port.io", e.Host)
	assert.Contains(t, e.Detail, "nothing was imported: 7 entries are refused")
	want := []api.Refusal{
		{Host: "port.io", Code: actions.CodeHostOptionInvalid},
		{Host: "ep.io:8080", Code: api.CodeHostnameInvalid},
		{Host: "EP.io", Code: api.CodeHostnameDuplicate},
		{Host: "code.io", Code: actions.CodeHostOptionInvalid},
		{Host: "opt.io", Code: actions.CodeHostOptionUnknown},
		{Host: "gone.io", Code: actions.CodeHostOptionUnknown},
		{Host: "neg.io", Code: api.CodeStateNotADict},
	}
	require.Len(t, e.Refused, len(want), "refused: %+v", e.Refused)
	for i, w := range want {
		assert.Equal(t, w.Host, e.Refused[i].Host, "refused[%d]", i)
		assert.Equal(t, w.Code, e.Refused[i].Code, "refused[%d] %s", i, w.Host)
		assert.NotEmpty(t, e.Refused[i].Detail, "refused[%d] %s", i, w.Host)
		assert.NotContains(t, e.Refused[i].Detail, w.Code+":", "the detail does not repeat the code")
	}
	assert.Contains(t, e.Refused[2].Detail, `the rule of "ep.io" is kept`, "the key in normal form wins")
	assert.Equal(t, before, r.rules(), "nothing changed")
}

// TestPutStateRefusedBounded checks that the list of refused entries stops
// at api.MaxRefusals while the detail counts them all.
func TestPutStateRefusedBounded(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{})
	var doc strings.Builder
	doc.WriteString(`{"hosts": {`)
	const n = api.MaxRefusals + 7
	for i := range n {
		if i > 0 {
			doc.WriteString(",")
		}
		doc.WriteString(`"h` + strconv.Itoa(i) + `.io:80": ["spin", {}, true]`)
	}
	doc.WriteString(`}}`)
	w := do(s.Handler(), "PUT", "/state/", doc.String())
	require.Equal(t, 400, w.Code)
	var e api.Error
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
	assert.Len(t, e.Refused, api.MaxRefusals)
	assert.Contains(t, e.Detail, strconv.Itoa(n)+" entries are refused")
	assert.Equal(t, "h0.io:80", e.Refused[0].Host)
}
