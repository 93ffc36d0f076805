package main

// The first Mantrid's own tests (github.com/epio/mantrid, mantrid/tests:
// actions.py, loadbalancer.py, client.py), ported to the real binaries:
// each expectation that describes what a client or an operator sees is
// checked here against mantrid and mantrid-client. What the first Mantrid
// did differently on purpose is listed in the README ("Differences from
// the first Mantrid"); where a check here differs from the original, the
// comment says so.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/static"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// builtinPage returns the status and body of a built-in static page.
func builtinPage(t *testing.T, name string) (int, string) {
	t.Helper()
	pages, err := static.Load("")
	require.NoError(t, err)
	p, ok := pages.Get(name)
	require.True(t, ok, "built-in page %s", name)
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(p.AppendTo(nil, false, false)))), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// apiDo sends a request with a JSON body ("" for none) to the REST API and
// returns the status and body of the answer.
func apiDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestFirstMantridActions ports ActionTests and LiveActionTests of
// mantrid/tests/actions.py: each action's answer as a client sees it.
func TestFirstMantridActions(t *testing.T) {
	p := startMantrid(t, "", stateWith(map[string]string{
		"zomg-lol.com":  `["empty", {"code": 500}, false]`,
		"kittens.net":   `["static", {"type": "timeout"}, false]`,
		"firefly.org":   `["unknown", {}, false]`,
		"thevoid.local": `["no_hosts", {}, false]`,
		"lions.net":     `["redirect", {"redirect_to": "http://tigers.net"}, false]`,
		"oh-my.com":     `["redirect", {"redirect_to": "https://meme-overload.com"}, false]`,
		"example.com":   `["redirect", {"redirect_to": "example.net"}, false]`,
		"test-host.com": `["static", {"type": "test"}, true]`, // LiveActionTests.setUp
	}))
	cl := newClient(t, p.addr())

	t.Run("test_empty", func(t *testing.T) {
		resp, body := cl.get("zomg-lol.com", "/")
		assert.Equal(t, "500 Internal Server Error", resp.Status)
		assert.Equal(t, "0", resp.Header.Get("Content-Length"))
		assert.Empty(t, body)
	})
	t.Run("test_handle (static)", func(t *testing.T) {
		status, page := builtinPage(t, static.Timeout)
		resp, body := cl.get("kittens.net", "/")
		assert.Equal(t, status, resp.StatusCode)
		assert.Equal(t, page, body, "the timeout page")
	})
	t.Run("test_unknown", func(t *testing.T) {
		_, page := builtinPage(t, static.Unknown)
		resp, body := cl.get("firefly.org", "/")
		assert.Equal(t, 503, resp.StatusCode, "the unknown action answers the unknown page")
		assert.Equal(t, page, body)
	})
	t.Run("test_nohosts", func(t *testing.T) {
		status, page := builtinPage(t, static.NoHosts)
		resp, body := cl.get("thevoid.local", "/")
		assert.Equal(t, status, resp.StatusCode)
		assert.Equal(t, page, body, "the no-hosts page")
	})
	t.Run("test_redirect", func(t *testing.T) {
		for _, tt := range []struct {
			host, path, extra, want string
			internal                bool
		}{
			{"lions.net", "/", "", "http://tigers.net/", false},
			{"lions.net", "/bears/", "", "http://tigers.net/bears/", false},
			{"oh-my.com", "/bears2/", "", "https://meme-overload.com/bears2/", false},
			{"example.com", "/test/", "", "http://example.net/test/", false},
			// The first Mantrid blanked X-Forwarded-Protocol from external
			// clients too: only a trusted (bind_internal) peer sets it.
			{"example.com", "/test/", "X-Forwarded-Protocol: SSL\r\n", "https://example.net/test/", true},
			{"example.com", "/test/", "X-Forwarded-Protocol: SSL\r\n", "http://example.net/test/", false},
		} {
			c := cl
			if tt.internal {
				c = newClient(t, p.internalAddr())
			}
			resp, _ := c.get(tt.host, tt.path, tt.extra)
			assert.Equal(t, "302 Found", resp.Status, "%s%s %q", tt.host, tt.path, tt.extra)
			assert.Equal(t, tt.want, resp.Header.Get("Location"), "%s%s %q internal %v", tt.host, tt.path, tt.extra, tt.internal)
		}
	})
	t.Run("test_proxy (no backends)", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPut, p.apiURL()+"/hostname/khaaaaaaaaaaaaan.xxx/", `["proxy", {"backends": []}, false]`)
		assert.Equal(t, 400, status, body)
		assert.Contains(t, body, `"error":"host_option_invalid"`)
		status, body = apiDo(t, http.MethodGet, p.apiURL()+"/hostname/khaaaaaaaaaaaaan.xxx/", "")
		assert.Equal(t, 200, status)
		assert.Equal(t, "null", body, "nothing was set")
	})
	t.Run("LiveActionTests.test_unknown", func(t *testing.T) {
		// httplib2 sent the address it was given as Host: no rule has it.
		_, page := builtinPage(t, static.Unknown)
		resp, body := cl.get(p.addr(), "/")
		assert.Equal(t, 503, resp.StatusCode)
		assert.Equal(t, page, body, "the body of the unknown page")
		resp, _ = cl.get("www.test-host.com", "/")
		assert.Equal(t, 200, resp.StatusCode, "the rule that is there still matches")
	})
}

// TestFirstMantridSpin ports ActionTests.test_spin: a held request gets the
// timeout page once spin's timeout passes, and is served by the new rule
// when the host's rule changes while it waits.
func TestFirstMantridSpin(t *testing.T) {
	p := startMantrid(t, "", stateWith(map[string]string{
		"aeracode.org": `["spin", {"timeout": 2, "check_interval": 1}, false]`,
	}))
	status, page := builtinPage(t, static.Timeout)

	cl := newClient(t, p.addr())
	start := time.Now()
	resp, body := cl.get("aeracode.org", "/")
	took := time.Since(start)
	assert.Equal(t, status, resp.StatusCode)
	assert.Equal(t, page, body, "the timeout page")
	assert.GreaterOrEqual(t, took, time.Second, "Spin did not last for long enough")
	assert.Less(t, took, 3*time.Second, "Spin lasted for too long (the original allowed 2.2 s)")

	cl = newClient(t, p.addr())
	start = time.Now()
	cl.send("GET / HTTP/1.1\r\nHost: aeracode.org\r\n\r\n")
	time.Sleep(700 * time.Millisecond)
	require.NoError(t, apiPut(p.apiURL(), "aeracode.org", `["empty", {"code": 402}, false]`))
	resp, body = cl.read("GET")
	took = time.Since(start)
	assert.Equal(t, "402 Payment Required", resp.Status)
	assert.Empty(t, body)
	assert.Less(t, took, 2*time.Second, "Spin lasted for too long")
}

// TestFirstMantridResolution ports BalancerTests.test_resolution of
// mantrid/tests/loadbalancer.py with its four rules, seeing each action
// from outside: empty answers 402, spin holds the request, redirect
// answers 302, proxy reaches the backend, and no match is the unknown
// page. The original's proxy rule had the backend "0.0.0.0:0", which
// Mantrid refuses (TestFirstMantridQuirkyStateFile); here it is a live
// backend answering 299.
func TestFirstMantridResolution(t *testing.T) {
	p := startMantrid(t, "", fmt.Sprintf(`{"hosts": {
		"localhost": ["empty", {"code": 402}, false],
		"local.ep.io": ["spin", {}, true],
		"http://ep.io": ["redirect", {"redirect_to": "https://www.ep.io"}, true],
		"ep.io": ["proxy", {"backends": ["127.0.0.1:%d"]}, true]}}`, statusBackend(t)))
	_, unknown := builtinPage(t, static.Unknown)
	const held = -1
	var spinning []*client
	for _, tt := range []struct {
		host  string
		https bool
		want  int
	}{
		{"localhost", false, 402},
		{"local.ep.io", false, held},
		{"ep.io", false, 302},
		{"ep.io", true, 299},
		{"subdomain.localhost", false, 503},
		{"subdomain.local.ep.io", false, held},
		{"subdomain.ep.io", false, 302},
		{"multi.level.subdomain.local.ep.io", false, held},
		{"i-love-bees.com", false, 503},
	} {
		addr, extra := p.addr(), ""
		if tt.https {
			addr, extra = p.internalAddr(), "X-Forwarded-Proto: https\r\n"
		}
		cl := newClient(t, addr)
		if tt.want == held {
			cl.send("GET / HTTP/1.1\r\nHost: " + tt.host + "\r\n\r\n")
			require.NoError(t, cl.c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
			_, err := cl.br.Peek(1)
			assert.True(t, isTimeout(err), "%s: held by spin, yet an answer or a close came (%v)", tt.host, err)
			spinning = append(spinning, cl)
			continue
		}
		resp, body := cl.get(tt.host, "/", extra)
		assert.Equal(t, tt.want, resp.StatusCode, "Host %s, https %v", tt.host, tt.https)
		switch tt.want {
		case 302:
			assert.Equal(t, "https://www.ep.io/", resp.Header.Get("Location"), "Host %s", tt.host)
		case 503:
			assert.Equal(t, unknown, body, "Host %s: the unknown page", tt.host)
		}
	}
	// The held requests were held by local.ep.io's rule: changing it
	// serves them.
	require.NoError(t, apiPut(p.apiURL(), "local.ep.io", `["empty", {"code": 204}, true]`))
	for _, cl := range spinning {
		require.NoError(t, cl.c.SetReadDeadline(time.Now().Add(5*time.Second)))
		resp, _ := cl.read("GET")
		assert.Equal(t, 204, resp.StatusCode, "a held request, after its rule changed")
	}
}

// apiHosts returns GET /hostname/ decoded.
func apiHosts(t *testing.T, p *proc) map[string]any {
	t.Helper()
	var hosts map[string]any
	apiGetJSON(t, p.apiURL()+"/hostname/", &hosts)
	return hosts
}

// apiStatsHosts returns the hosts GET /stats/ lists, sorted.
func apiStatsHosts(t *testing.T, p *proc) []string {
	t.Helper()
	var stats map[string]wireStats
	apiGetJSON(t, p.apiURL()+"/stats/", &stats)
	return slices.Sorted(maps.Keys(stats))
}

// decodeRules decodes a rules object given as JSON, for comparing with
// apiHosts.
func decodeRules(t *testing.T, js string) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &v))
	return v
}

// TestFirstMantridClient ports ClientTests of mantrid/tests/client.py
// (set, set_all, delete and the stats that follow the rules) through the
// REST API, then the first Mantrid's mantrid-client commands (list, set,
// stats, delete) and their tables. Mantrid's /stats/ also lists
// "unknown" from the start, where the first Mantrid listed it after the
// first unmatched request; a host's counters are kept when its rule is
// replaced, where the first Mantrid reset them.
func TestFirstMantridClient(t *testing.T) {
	p := startMantrid(t, "", "")
	api := p.apiURL()

	t.Run("test_set_single", func(t *testing.T) {
		assert.Empty(t, apiHosts(t, p), "we start empty")
		assert.Equal(t, []string{"unknown"}, apiStatsHosts(t, p))

		status, body := apiDo(t, http.MethodPut, api+"/hostname/test-host.com/", `["spin", {}, false]`)
		require.Equal(t, 200, status, body)
		assert.JSONEq(t, `{"ok": true}`, body)
		assert.Equal(t, decodeRules(t, `{"test-host.com": ["spin", {}, false]}`), apiHosts(t, p))
		assert.Equal(t, []string{"test-host.com", "unknown"}, apiStatsHosts(t, p))

		require.NoError(t, apiPut(api, "test-host.com", `["unknown", {}, true]`))
		assert.Equal(t, decodeRules(t, `{"test-host.com": ["unknown", {}, true]}`), apiHosts(t, p), "override")
		assert.Equal(t, []string{"test-host.com", "unknown"}, apiStatsHosts(t, p))

		status, body = apiDo(t, http.MethodPut, api+"/hostname/test-host.com/", `["do-da-be-dee", {}, "bruce"]`)
		assert.Equal(t, 400, status, "a wrong setting is refused: %s", body)
		assert.Equal(t, decodeRules(t, `{"test-host.com": ["unknown", {}, true]}`), apiHosts(t, p), "unchanged")

		status, body = apiDo(t, http.MethodDelete, api+"/hostname/test-host.com/", "")
		require.Equal(t, 200, status, body)
		assert.Empty(t, apiHosts(t, p))
		assert.Equal(t, []string{"unknown"}, apiStatsHosts(t, p), "the host's stats go with it")
	})

	t.Run("test_set_multiple", func(t *testing.T) {
		for _, hosts := range []string{
			`{"kittens.com": ["spin", {}, false], "khaaaaaaaaaan.com": ["unknown", {}, true]}`,
			`{"ceilingcat.net": ["spin", {}, false], "khaaaaaaaaaan.com": ["unknown", {}, true]}`,
		} {
			status, body := apiDo(t, http.MethodPut, api+"/hostname/", hosts)
			require.Equal(t, 200, status, body)
			want := decodeRules(t, hosts)
			assert.Equal(t, want, apiHosts(t, p))
			assert.Equal(t, slices.Sorted(maps.Keys(want)), slices.DeleteFunc(apiStatsHosts(t, p), func(h string) bool { return h == "unknown" }),
				"stats for exactly the hosts set")
		}
		status, body := apiDo(t, http.MethodPut, api+"/hostname/", `["not", "a", "dict"]`)
		assert.Equal(t, 400, status)
		assert.Contains(t, body, `"error":"body_not_a_dict"`)
	})

	t.Run("management root", func(t *testing.T) {
		// management.py: the path "/" raised HttpMethodNotAllowed.
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			status, body := apiDo(t, method, api+"/", "")
			assert.Equal(t, 405, status, "%s /", method)
			assert.Contains(t, body, `"error":"method_not_allowed"`, "%s /", method)
		}
		status, body := apiDo(t, http.MethodGet, api+"/nowhere/", "")
		assert.Equal(t, 404, status)
		assert.JSONEq(t, `{"error": "not_found"}`, body)
	})

	t.Run("mantrid-client", func(t *testing.T) {
		_, errOut, code := runClient(t, p, "set", "top-secret.com", "empty", "true", "code=403")
		require.Equal(t, 0, code, errOut)
		_, errOut, code = runClient(t, p, "set", "localhost", "proxy", "true", "backends=localhost:8000,localhost:8001")
		require.Equal(t, 0, code, errOut)
		_, errOut, code = runClient(t, p, "set", "www.forever.com", "spin", "true")
		require.Equal(t, 0, code, errOut)
		_, errOut, code = runClient(t, p, "delete", "ceilingcat.net")
		require.Equal(t, 0, code, errOut)
		cl := newClient(t, p.addr())
		for range 2 {
			resp, _ := cl.get("top-secret.com", "/")
			require.Equal(t, 403, resp.StatusCode)
		}

		// cli.py's list: "%-35s %-25s %-8s", sorted, Python's True/False.
		out, errOut, code := runClient(t, p, "list")
		require.Equal(t, 0, code, errOut)
		row := func(format string, cells ...any) string {
			return strings.TrimRight(fmt.Sprintf(format, cells...), " ")
		}
		const listRow = "%-35s %-25s %-8s"
		want := []string{
			row(listRow, "HOST", "ACTION", "SUBDOMS"),
			row(listRow, "khaaaaaaaaaan.com", "unknown", "True"),
			row(listRow, "localhost", "proxy<localhost:8000,localhost:8001>", "True"),
			row(listRow, "top-secret.com", "empty<403>", "True"),
			row(listRow, "www.forever.com", "spin", "True"),
		}
		assert.Equal(t, want, trimLines(out), "list:\n%s", out)

		// cli.py's stats: "%-35s %-11s %-11s %-11s %-11s", BYTES IN is
		// bytes_received, BYTES OUT bytes_sent.
		out, errOut, code = runClient(t, p, "stats", "top-secret.com")
		require.Equal(t, 0, code, errOut)
		st, err := fetchStats(api, "top-secret.com")
		require.NoError(t, err)
		const statsRow = "%-35s %-11s %-11s %-11s %-11s"
		assert.Equal(t, []string{
			row(statsRow, "HOST", "OPEN", "COMPLETED", "BYTES IN", "BYTES OUT"),
			row(statsRow, "top-secret.com", "0", "2", fmt.Sprint(st.BytesReceived), fmt.Sprint(st.BytesSent)),
		}, trimLines(out), "stats:\n%s", out)
		assert.Positive(t, st.BytesReceived)
		assert.Positive(t, st.BytesSent)
	})
}

// trimLines splits out into lines without trailing blanks.
func trimLines(out string) []string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// quirkyState is a state file the first Mantrid loads (it checked nothing
// when loading) with one rule of each kind Mantrid refuses, next to valid
// ones, and counters for some of each.
const quirkyState = `{"hosts": {
 "ok.test": ["empty", {"code": 402}, false],
 "static.test": ["static", {"type": "test"}, false],
 "ep.io": ["empty", {"code": 410}, true],
 "opt.test": ["empty", {"code": 403, "colour": "red"}, false],
 "port.test": ["proxy", {"backends": ["0.0.0.0:0"]}, true],
 "ep.io:8080": ["empty", {"code": 200}, false],
 "code.test": ["empty", {"code": 999}, false],
 "EP.io": ["empty", {"code": 401}, true],
 "gone.test": ["unknown", {"type": "gone"}, false]
}, "stats": {
 "ok.test": {"open_requests": 2, "completed_requests": 5, "bytes_sent": 500, "bytes_received": 300},
 "ep.io:8080": {"open_requests": 0, "completed_requests": 7, "bytes_sent": 70, "bytes_received": 30},
 "unknown": {"open_requests": 0, "completed_requests": 11, "bytes_sent": 110, "bytes_received": 90}
}}`

// quirkyRefused are the hosts of quirkyState that Mantrid refuses, in
// document order, with the error code each gets.
var quirkyRefused = []struct{ host, code string }{
	{"opt.test", "host_option_unknown"},
	{"port.test", "host_option_invalid"},
	{"ep.io:8080", "hostname_invalid"},
	{"code.test", "host_option_invalid"},
	{"EP.io", "hostname_duplicate"},
	{"gone.test", "host_option_unknown"},
}

// processRefused returns refused_rules of GET /process/.
func processRefused(t *testing.T, p *proc) int64 {
	t.Helper()
	var proc struct {
		RefusedRules *int64 `json:"refused_rules"`
	}
	apiGetJSON(t, p.apiURL()+"/process/", &proc)
	require.NotNil(t, proc.RefusedRules, "GET /process/ has refused_rules")
	return *proc.RefusedRules
}

// TestFirstMantridQuirkyStateFile starts Mantrid on a state file that the
// first Mantrid loaded, holding one rule of each kind Mantrid's checks
// refuse (an unknown option, port 0, a key with a port, code 999, "EP.io"
// next to "ep.io", options on unknown): it starts, serves the valid
// rules, logs one WARN line per refused rule, keeps them in the side file
// and counts them in GET /process/, across a restart, until the side file
// is removed. An import of the same file through the API changes nothing
// and lists the refused hosts.
func TestFirstMantridQuirkyStateFile(t *testing.T) {
	p := startMantrid(t, "", quirkyState)
	statePath := filepath.Join(p.dir, "state.json")
	sidePath := statePath + ".refused"

	cl := newClient(t, p.addr())
	_, unknownPage := builtinPage(t, static.Unknown)
	for _, tt := range []struct {
		host string
		want int
	}{
		{"ok.test", 402}, {"static.test", 200}, {"ep.io", 410}, {"www.ep.io", 410}, {"EP.IO", 410},
		{"opt.test", 503}, {"port.test", 503}, {"code.test", 503}, {"gone.test", 503},
	} {
		resp, body := cl.get(tt.host, "/")
		assert.Equal(t, tt.want, resp.StatusCode, "Host %s", tt.host)
		if tt.want == 503 {
			assert.Equal(t, unknownPage, body, "Host %s: refused, so no rule matches", tt.host)
		}
	}
	assert.Equal(t, decodeRules(t, `{"ok.test": ["empty", {"code": 402}, false], "static.test": ["static", {"type": "test"}, false],
		"ep.io": ["empty", {"code": 410}, true]}`), apiHosts(t, p), "the valid rules, and only them")
	st, err := fetchStats(p.apiURL(), "ok.test")
	require.NoError(t, err)
	assert.Equal(t, wireStats{CompletedRequests: 6, BytesSent: st.BytesSent, BytesReceived: st.BytesReceived}, st,
		"the state file's counters (open_requests reset) and one request")
	assert.Greater(t, st.BytesSent, int64(500))

	// One WARN line per refused rule, with the host, the code and a reason.
	log := p.Log()
	warnRE := regexp.MustCompile(`(?m)^.*level=WARN msg="rule of the state file refused" host=(\S+) error=(\S+) reason=\S.*$`)
	var warned []string
	for _, m := range warnRE.FindAllStringSubmatch(log, -1) {
		warned = append(warned, m[1]+" "+m[2])
	}
	var want []string
	for _, r := range quirkyRefused {
		want = append(want, r.host+" "+r.code)
	}
	assert.Equal(t, want, warned, "WARN lines in:\n%s", log)

	// The side file: one JSON object a line, the rule as written.
	side, err := os.ReadFile(sidePath)
	require.NoError(t, err, "the side file next to the state file")
	lines := strings.Split(strings.TrimSuffix(string(side), "\n"), "\n")
	require.Len(t, lines, len(quirkyRefused), "side file:\n%s", side)
	var doc struct {
		Hosts map[string]json.RawMessage `json:"hosts"`
	}
	require.NoError(t, json.Unmarshal([]byte(quirkyState), &doc))
	for i, line := range lines {
		var e struct {
			Host   string          `json:"host"`
			Error  string          `json:"error"`
			Reason string          `json:"reason"`
			Rule   json.RawMessage `json:"rule"`
			Stats  json.RawMessage `json:"stats"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &e), "line %d: %s", i+1, line)
		assert.Equal(t, quirkyRefused[i].host, e.Host, "line %d", i+1)
		assert.Equal(t, quirkyRefused[i].code, e.Error, "line %d", i+1)
		assert.NotEmpty(t, e.Reason, "line %d", i+1)
		assert.JSONEq(t, string(doc.Hosts[e.Host]), string(e.Rule), "line %d: the rule as the state file wrote it", i+1)
		if e.Host == "ep.io:8080" {
			assert.JSONEq(t, `{"open_requests": 0, "completed_requests": 7, "bytes_sent": 70, "bytes_received": 30}`, string(e.Stats),
				"the refused rule's counters go with it")
		} else {
			assert.Empty(t, e.Stats, "line %d", i+1)
		}
	}
	assert.Contains(t, lines[4], `the rule of \"ep.io\" is kept`, "EP.io: the key written in normal form wins")
	after, err := os.ReadFile(statePath)
	require.NoError(t, err)
	assert.Equal(t, quirkyState, string(after), "the state file is left as it was")

	assert.Equal(t, int64(len(quirkyRefused)), processRefused(t, p))

	// Importing the same file through the API refuses it whole and lists
	// the refused hosts: a replace with the valid rules alone would delete
	// the rules in force for the others.
	require.NoError(t, apiPut(p.apiURL(), "kept.test", `["empty", {"code": 204}, false]`))
	before := apiHosts(t, p)
	out, errOut, code := runClient(t, p, "import", statePath)
	assert.Equal(t, 1, code, "import: %s%s", out, errOut)
	assert.Contains(t, errOut, "mantrid-client: host_option_unknown: nothing was imported: 6 entries are refused")
	for _, r := range quirkyRefused {
		assert.Contains(t, errOut, fmt.Sprintf("\n  refused %q: %s: ", r.host, r.code), "stderr:\n%s", errOut)
	}
	assert.Equal(t, before, apiHosts(t, p), "nothing changed")

	// A restart loads the store, not the state file: the count stays with
	// the side file, and follows it when the operator removes it.
	p.stop()
	p = startMantridConf(t, filepath.Join(p.dir, "mantrid.conf"))
	assert.Contains(t, p.Log(), `msg="rules of the state file were refused when the store was created" refused_rules=6`)
	assert.Equal(t, int64(len(quirkyRefused)), processRefused(t, p))
	assert.Contains(t, apiHosts(t, p), "kept.test", "the store, not the state file")
	require.NoError(t, os.Remove(sidePath))
	assert.Equal(t, int64(0), processRefused(t, p), "the side file removed")
}
