package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testToken = "fleet-test-token"

// testFleet is a Fleet whose node list the test sets; each Server sees it
// through view, which marks its own node Self.
type testFleet struct {
	mu    sync.Mutex
	nodes []api.Node
	err   error
}

func (f *testFleet) set(nodes []api.Node, err error) {
	f.mu.Lock()
	f.nodes, f.err = nodes, err
	f.mu.Unlock()
}

type fleetView struct {
	f    *testFleet
	self string
}

func (v fleetView) Nodes(context.Context) ([]api.Node, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	if v.f.err != nil {
		return nil, v.f.err
	}
	out := make([]api.Node, len(v.f.nodes))
	for i, n := range v.f.nodes {
		n.Self = n.Name == v.self
		out[i] = n
	}
	return out, nil
}

// testNode is one node of a test fleet: a Server on a loopback listener.
type testNode struct {
	name string
	s    *Server
	http *httptest.Server
}

// newTestNode starts a node with newTestServer's rules, ep.io's counters
// set to counts, and the token.
func newTestNode(t *testing.T, f *testFleet, name string, counts actions.Counts, timeout time.Duration) *testNode {
	t.Helper()
	s, rules := newTestServer(t, ServerOptions{Token: testToken, Fleet: fleetView{f, name}, FleetTimeout: timeout})
	require.True(t, rules.table.SetCounts("ep.io", counts))
	h, _ := rules.table.Get("ep.io")
	for range counts.OpenRequests { // SetCounts sets the totals, not the open requests
		rules.table.Counters().Slot(0, h.Stat).Begin(0)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return &testNode{name: name, s: s, http: hs}
}

func (n *testNode) node() api.Node {
	return api.Node{Name: n.name, URL: n.http.URL, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Revision: 7}
}

// get sends GET path with the token to n and returns the status and body.
func (n *testNode) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	w := doToken(n.s.Handler(), path)
	return w.Code, w.Body.Bytes()
}

func doToken(h http.Handler, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "http://localhost:8042"+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestFleetList(t *testing.T) {
	f := &testFleet{}
	a := newTestNode(t, f, "a", actions.Counts{}, 0)
	b := newTestNode(t, f, "b", actions.Counts{}, 0)
	f.set([]api.Node{a.node(), b.node()}, nil)

	code, body := a.get(t, "/fleet/")
	require.Equal(t, 200, code, "%s", body)
	assert.JSONEq(t, `{"nodes":[
		{"name":"a","url":"`+a.http.URL+`","started":"2026-01-02T03:04:05Z","revision":7,"self":true},
		{"name":"b","url":"`+b.http.URL+`","started":"2026-01-02T03:04:05Z","revision":7,"self":false}]}`, string(body))
	code, _ = a.get(t, "/FLEET")
	assert.Equal(t, 200, code, "without the slash, in capitals")

	w := do(a.s.Handler(), "PUT", "/fleet/", "{}")
	assert.Equal(t, 401, w.Code, "no token")
	req := httptest.NewRequest("DELETE", "http://localhost:8042/fleet/", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	a.s.Handler().ServeHTTP(rec, req)
	assert.Equal(t, 405, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))

	f.set(nil, errors.New("etcd is down"))
	code, body = a.get(t, "/fleet/")
	assert.Equal(t, 503, code)
	assert.JSONEq(t, `{"error":"fleet_unavailable","detail":"etcd is down"}`, string(body))
	code, body = a.get(t, "/stats/?fleet=1")
	assert.Equal(t, 503, code, "%s", body)
}

// TestFleetListAlone checks GET /fleet/ of a Server given no Fleet: this
// node alone, named by the hostname.
func TestFleetListAlone(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{})
	w := do(s.Handler(), "GET", "/fleet/", "")
	require.Equal(t, 200, w.Code, w.Body.String())
	var fl api.Fleet
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &fl))
	require.Len(t, fl.Nodes, 1, "%s", w.Body)
	host, _ := os.Hostname()
	assert.Equal(t, host, fl.Nodes[0].Name)
	assert.True(t, fl.Nodes[0].Self)
	assert.WithinDuration(t, time.Now(), fl.Nodes[0].Started, 5*time.Second)

	s = NewServer(newRules(1, nil).table, newRules(1, nil).store, ServerOptions{Fleet: Alone(func() api.Node {
		return api.Node{Name: "n1", URL: "http://10.0.0.1:8042", Revision: 42}
	})})
	w = do(s.Handler(), "GET", "/fleet", "")
	assert.JSONEq(t, `{"nodes":[{"name":"n1","url":"http://10.0.0.1:8042","started":"0001-01-01T00:00:00Z","revision":42,"self":true}]}`, w.Body.String())
}

// sumOf sums the plain GET /stats/ answers of nodes, as a client would.
func sumOf(t *testing.T, nodes ...*testNode) map[string]api.Stats {
	t.Helper()
	sum := map[string]api.Stats{}
	for _, n := range nodes {
		code, body := n.get(t, "/stats/")
		require.Equal(t, 200, code, "%s", body)
		var m map[string]api.Stats
		require.NoError(t, json.Unmarshal(body, &m))
		for host, st := range m {
			sum[host] = addStats(sum[host], st)
		}
	}
	return sum
}

func TestFleetStats(t *testing.T) {
	f := &testFleet{}
	a := newTestNode(t, f, "a", actions.Counts{CompletedRequests: 1, BytesSent: 10, BytesReceived: 100}, 0)
	b := newTestNode(t, f, "b", actions.Counts{OpenRequests: 2, CompletedRequests: 20, BytesSent: 200, BytesReceived: 2000}, 0)
	c := newTestNode(t, f, "c", actions.Counts{CompletedRequests: 300, BytesSent: 3000, BytesReceived: 30000}, 0)
	f.set([]api.Node{c.node(), a.node(), b.node()}, nil)

	for _, n := range []*testNode{a, b, c} {
		code, body := n.get(t, "/stats/?fleet=1")
		require.Equal(t, 200, code, "%s", body)
		var fs api.FleetStats
		require.NoError(t, json.Unmarshal(body, &fs))
		assert.Equal(t, sumOf(t, a, b, c), fs.Stats, "asked on %s", n.name)
		assert.Equal(t, api.Stats{OpenRequests: 2, CompletedRequests: 321, BytesSent: 3210, BytesReceived: 32100}, fs.Stats["ep.io"])
		assert.Equal(t, []string{"a", "b", "c"}, fs.Nodes)
		assert.Equal(t, []api.MissingNode{}, fs.Missing)
	}

	code, body := b.get(t, "/stats/EP.io/?fleet=1")
	require.Equal(t, 200, code, "%s", body)
	assert.JSONEq(t, `{"stats":{"open_requests":2,"completed_requests":321,"bytes_sent":3210,"bytes_received":32100},
		"nodes":["a","b","c"],"missing":[]}`, string(body))
	code, body = b.get(t, "/stats/nope.io/?fleet=1")
	require.Equal(t, 200, code, "%s", body)
	assert.JSONEq(t, `{"stats":{},"nodes":["a","b","c"],"missing":[]}`, string(body))
	code, body = b.get(t, "/stats/a%20b/?fleet=1")
	assert.Equal(t, 400, code, "%s", body)

	// Without ?fleet=1 (or with fleet=0) the answer is the node's own.
	for _, path := range []string{"/stats/ep.io/", "/stats/ep.io/?fleet=0", "/stats/ep.io/?other=1"} {
		code, body = b.get(t, path)
		require.Equal(t, 200, code, "%s: %s", path, body)
		assert.JSONEq(t, `{"open_requests":2,"completed_requests":20,"bytes_sent":200,"bytes_received":2000}`, string(body), path)
	}
	for _, path := range []string{"/stats/?fleet=yes", "/stats/?fleet=1&fleet=1", "/stats/ep.io/?fleet="} {
		code, body = b.get(t, path)
		assert.Equal(t, 400, code, "%s: %s", path, body)
		assert.Contains(t, string(body), `"error":"query_invalid"`, path)
	}

	// c stops: it is named missing, and the sum is a's and b's.
	c.http.Close()
	code, body = a.get(t, "/stats/?fleet=1")
	require.Equal(t, 200, code, "%s", body)
	var fs api.FleetStats
	require.NoError(t, json.Unmarshal(body, &fs))
	assert.Equal(t, sumOf(t, a, b), fs.Stats)
	assert.Equal(t, []string{"a", "b"}, fs.Nodes)
	require.Len(t, fs.Missing, 1, "%s", body)
	assert.Equal(t, "c", fs.Missing[0].Node)
	assert.Equal(t, c.http.URL, fs.Missing[0].URL)
	assert.Contains(t, fs.Missing[0].Error, "connect", "the error says why")
}

// TestFleetStatsPeerToken checks that peers are asked with the token: a
// node with another token cannot ask them and names them missing.
func TestFleetStatsPeerToken(t *testing.T) {
	f := &testFleet{}
	a := newTestNode(t, f, "a", actions.Counts{}, 0)
	s, _ := newTestServer(t, ServerOptions{Token: "another-token", Fleet: fleetView{f, "x"}})
	f.set([]api.Node{a.node(), {Name: "x", URL: "http://127.0.0.1:1"}}, nil)
	req := httptest.NewRequest("GET", "http://localhost:8042/stats/?fleet=1", nil)
	req.Header.Set("Authorization", "Bearer another-token")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	require.Equal(t, 200, w.Code, w.Body.String())
	var fs api.FleetStats
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &fs))
	assert.Equal(t, []string{"x"}, fs.Nodes)
	require.Len(t, fs.Missing, 1, "%s", w.Body)
	assert.Contains(t, fs.Missing[0].Error, "unauthorized")

	code, body := a.get(t, "/stats/?fleet=1")
	require.Equal(t, 200, code)
	assert.Contains(t, string(body), `"nodes":["a"]`)
	assert.Contains(t, string(body), `"node":"x"`, "x (its URL refuses connections) is missing")
}

// TestFleetStatsTimeout checks that a peer that does not answer holds the
// answer no longer than FleetTimeout, and is named missing.
func TestFleetStatsTimeout(t *testing.T) {
	f := &testFleet{}
	const timeout = 300 * time.Millisecond
	a := newTestNode(t, f, "a", actions.Counts{CompletedRequests: 5}, timeout)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	f.set([]api.Node{a.node(), {Name: "slow", URL: slow.URL}}, nil)

	start := time.Now()
	code, body := a.get(t, "/stats/ep.io/?fleet=1")
	took := time.Since(start)
	require.Equal(t, 200, code, "%s", body)
	assert.GreaterOrEqual(t, took, timeout)
	assert.Less(t, took, timeout+time.Second, "the answer waited past the fleet timeout")
	var fs api.FleetHostStats
	require.NoError(t, json.Unmarshal(body, &fs))
	assert.JSONEq(t, `{"open_requests":0,"completed_requests":5,"bytes_sent":0,"bytes_received":0}`, string(fs.Stats))
	assert.Equal(t, []string{"a"}, fs.Nodes)
	require.Len(t, fs.Missing, 1)
	assert.Equal(t, "slow", fs.Missing[0].Node)
	assert.Contains(t, fs.Missing[0].Error, "timed out")
}

func TestStatusOfUnavailable(t *testing.T) {
	assert.Equal(t, 503, statusOf(api.CodeStoreUnavailable))
	assert.Equal(t, 503, statusOf(api.CodeFleetUnavailable))
	assert.Equal(t, 400, statusOf(api.CodeQueryInvalid))
}
