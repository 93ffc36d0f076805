package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiDo sends one REST API request with the headers given ("If-Match",
// value, …) through hc and returns the status, the ETag and the body.
func apiCond(t *testing.T, hc *http.Client, method, url, body string, header ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("ETag"), string(b)
}

// TestETagConditionalWrites drives the real binary with the local store:
// a write with a stale ETag gets 412 and changes nothing (the API and the
// data path still give the rule in force); two clients racing on one host
// with the same ETag: exactly one gets 200, and its rule is served; the
// ETag survives a restart.
func TestETagConditionalWrites(t *testing.T) {
	p := startMantrid(t, "", "")
	hc := &http.Client{}
	rule := func(code int) string { return fmt.Sprintf(`["empty",{"code":%d},false]`, code) }
	url := p.apiURL() + "/hostname/etag.test/"
	cl := newClient(t, p.addr())
	served := func() int {
		t.Helper()
		resp, _ := cl.get("etag.test", "/")
		return resp.StatusCode
	}

	status, created, body := apiCond(t, hc, "PUT", url, rule(401), "If-None-Match", "*")
	require.Equal(t, 200, status, "create: %s", body)
	require.NotEmpty(t, created, "a PUT answers with the new ETag")
	status, _, body = apiCond(t, hc, "PUT", url, rule(402), "If-None-Match", "*")
	require.Equal(t, 412, status, "create again: %s", body)
	_, etag, _ := apiCond(t, hc, "GET", url, "")
	require.Equal(t, created, etag, "GET gives the PUT's ETag")

	status, current, body := apiCond(t, hc, "PUT", url, rule(403), "If-Match", etag)
	require.Equal(t, 200, status, "PUT with the current ETag: %s", body)
	require.NotEqual(t, etag, current)
	status, _, body = apiCond(t, hc, "PUT", url, rule(404), "If-Match", etag)
	assert.Equal(t, 412, status, "PUT with a stale ETag")
	assert.Contains(t, body, `"error":"precondition_failed"`)
	status, _, body = apiCond(t, hc, "DELETE", url, "", "If-Match", etag)
	assert.Equal(t, 412, status, "DELETE with a stale ETag: %s", body)
	status, got, body := apiCond(t, hc, "GET", url, "")
	require.Equal(t, 200, status)
	assert.JSONEq(t, rule(403), body, "nothing changed")
	assert.Equal(t, current, got, "the ETag did not move")
	assert.Equal(t, 403, served(), "the data path serves the rule in force")
	status, _, body = apiCond(t, hc, "PUT", url, rule(404), "If-Match", "3 ")
	assert.Equal(t, 400, status, "a malformed If-Match")
	assert.Contains(t, body, `"error":"precondition_invalid"`)

	// Two clients, each on its own connections, race with one ETag.
	clients := []*http.Client{{Transport: &http.Transport{}}, {Transport: &http.Transport{}}}
	for round := range 20 {
		_, etag, _ = apiCond(t, hc, "GET", url, "")
		statuses, tags := make([]int, 2), make([]string, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range clients {
			wg.Go(func() {
				<-start
				statuses[i], tags[i], _ = apiCond(t, c, "PUT", url, rule(410+i), "If-Match", etag)
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for i, s := range statuses {
			switch s {
			case 200:
				require.Equal(t, -1, won, "round %d: both won (%v)", round, statuses)
				won = i
			case 412:
			default:
				t.Fatalf("round %d: client %d got %d", round, i, s)
			}
		}
		require.NotEqual(t, -1, won, "round %d: nobody won (%v)", round, statuses)
		var got json.RawMessage
		apiGetJSON(t, url, &got)
		assert.JSONEq(t, rule(410+won), string(got), "round %d: the winner's rule", round)
		assert.Equal(t, 410+won, served(), "round %d: the winner's rule is served", round)
		current = tags[won]
	}

	p.stop()
	again := startMantridConf(t, filepath.Join(p.dir, "mantrid.conf"))
	status, got, _ = apiCond(t, hc, "GET", again.apiURL()+"/hostname/etag.test/", "")
	require.Equal(t, 200, status)
	assert.Equal(t, current, got, "the ETag after a restart")
	status, _, _ = apiCond(t, hc, "PUT", again.apiURL()+"/hostname/etag.test/", rule(405), "If-Match", current)
	assert.Equal(t, 200, status, "the ETag from before the restart still matches")
}
