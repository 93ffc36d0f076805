package fleet_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/client"
	"github.com/mantrid/mantrid/mgmt/fleet"
	"github.com/mantrid/mantrid/mgmt/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const token = "fleet-e2e-token"

// node is one Mantrid of an in-process fleet: a rule table, the REST API
// on a loopback port, and its registration in etcd.
type node struct {
	name   string
	table  *hostmap.Table
	srv    *mgmt.Server
	reg    *fleet.Registry
	etcd   *clientv3.Client
	client *client.Client
}

// startNode starts a node with two rules and counters scaled by k, its
// API served as the daemon serves it and registered in e.
func startNode(t *testing.T, e *testEtcd, name string, k int64) *node {
	t.Helper()
	n := &node{name: name, table: hostmap.New(1), etcd: e.client(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	n.reg, err = fleet.Start(fleet.Options{Client: n.etcd, Prefix: prefix, Name: name, URL: url,
		TTL: time.Second, Poll: 20 * time.Millisecond, Retry: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { n.reg.Close() })
	n.srv = mgmt.NewServer(n.table, store.NewMemory(n.table, nil), mgmt.ServerOptions{Token: token, Fleet: n.reg})
	go n.srv.Serve(ln)
	t.Cleanup(func() { n.srv.Shutdown(context.Background()) })
	n.client, err = client.New(url, client.WithToken(token))
	require.NoError(t, err)

	require.NoError(t, n.client.Replace(t.Context(), strings.NewReader(
		`{"ep.io":["empty",{"code":204},true],"`+name+`.ep.io":["empty",{"code":404},false]}`)))
	require.True(t, n.table.SetCounts("ep.io", actions.Counts{CompletedRequests: 10 * k, BytesSent: 100 * k, BytesReceived: 1000 * k}))
	require.True(t, n.table.SetCounts(name+".ep.io", actions.Counts{CompletedRequests: k}))
	n.table.Counters().SetBase(0, actions.Counts{CompletedRequests: 3 * k}) // "unknown"
	return n
}

// sum adds up the plain GET /stats/ of nodes.
func sum(t *testing.T, nodes ...*node) map[string]api.Stats {
	t.Helper()
	out := map[string]api.Stats{}
	for _, n := range nodes {
		m, err := n.client.Stats(t.Context())
		require.NoError(t, err, "stats of %s", n.name)
		for host, st := range m {
			o := out[host]
			out[host] = api.Stats{OpenRequests: o.OpenRequests + st.OpenRequests, CompletedRequests: o.CompletedRequests + st.CompletedRequests,
				BytesSent: o.BytesSent + st.BytesSent, BytesReceived: o.BytesReceived + st.BytesReceived}
		}
	}
	return out
}

// listed returns the names of the live nodes as n lists them.
func listed(t *testing.T, n *node) []string {
	t.Helper()
	nodes, err := n.client.Nodes(t.Context())
	require.NoError(t, err)
	var out []string
	for _, x := range nodes {
		out = append(out, x.Name)
	}
	return out
}

// TestFleetAnswersAsOne runs three nodes on one etcd: GET /stats/?fleet=1
// on any of them equals the sum of the three nodes' /stats/; a node whose
// API stops is named missing while its lease lives, and leaves the fleet
// when the lease expires; a node that stops cleanly leaves at once.
func TestFleetAnswersAsOne(t *testing.T) {
	e := startTestEtcd(t)
	n1, n2, n3 := startNode(t, e, "n1", 1), startNode(t, e, "n2", 2), startNode(t, e, "n3", 4)
	require.Eventually(t, func() bool { return len(listed(t, n1)) == 3 }, 5*time.Second, 10*time.Millisecond)

	nodes, err := n2.client.Nodes(t.Context())
	require.NoError(t, err)
	require.Len(t, nodes, 3)
	for i, want := range []*node{n1, n2, n3} {
		assert.Equal(t, want.name, nodes[i].Name)
		assert.Equal(t, want.client.URL(), nodes[i].URL)
		assert.Equal(t, want == n2, nodes[i].Self, "self is the node asked")
		assert.WithinDuration(t, time.Now(), nodes[i].Started, 10*time.Second)
	}

	want := sum(t, n1, n2, n3)
	assert.Equal(t, api.Stats{CompletedRequests: 70, BytesSent: 700, BytesReceived: 7000}, want["ep.io"])
	assert.Equal(t, api.Stats{CompletedRequests: 21}, want["unknown"])
	for _, n := range []*node{n1, n2, n3} {
		fs, err := n.client.FleetStats(t.Context())
		require.NoError(t, err, "asked on %s", n.name)
		assert.Equal(t, want, fs.Stats, "asked on %s", n.name)
		assert.Equal(t, []string{"n1", "n2", "n3"}, fs.Nodes)
		assert.Empty(t, fs.Missing)
	}
	fs, err := n1.client.FleetHostStats(t.Context(), "EP.io")
	require.NoError(t, err)
	assert.Equal(t, map[string]api.Stats{"EP.io": want["ep.io"]}, fs.Stats)

	// n3's API stops; its lease lives on (a hung or just-killed node).
	require.NoError(t, n3.srv.Shutdown(t.Context()))
	fs, err = n1.client.FleetStats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, sum(t, n1, n2), fs.Stats)
	assert.Equal(t, []string{"n1", "n2"}, fs.Nodes)
	require.Len(t, fs.Missing, 1)
	assert.Equal(t, "n3", fs.Missing[0].Node)
	assert.Equal(t, n3.client.URL(), fs.Missing[0].URL)
	assert.NotEmpty(t, fs.Missing[0].Error)

	// n3 dies: its lease expires and it leaves the fleet.
	require.NoError(t, n3.etcd.Close())
	require.Eventually(t, func() bool { return len(listed(t, n1)) == 2 }, 5*time.Second, 20*time.Millisecond)
	fs, err = n1.client.FleetStats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"n1", "n2"}, fs.Nodes)
	assert.Empty(t, fs.Missing)

	// n2 stops cleanly: it leaves at once.
	require.NoError(t, n2.reg.Close())
	assert.Equal(t, []string{"n1"}, listed(t, n1))

	// etcd down: the fleet cannot be listed, and the answer says so.
	e.stop()
	_, err = n1.client.Nodes(t.Context())
	var se *client.ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 503, se.Status)
	assert.Equal(t, api.CodeFleetUnavailable, se.API.Code)
}
