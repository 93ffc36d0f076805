package fleet_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const prefix = "/mantrid-test/"

// start starts a registry of name with short timings.
func start(t *testing.T, c *clientv3.Client, name string, rev func() uint64) *fleet.Registry {
	t.Helper()
	r, err := fleet.Start(fleet.Options{Client: c, Prefix: prefix, Name: name, URL: "http://" + name + ":8042",
		Started: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), Revision: rev,
		TTL: time.Second, Poll: 20 * time.Millisecond, Retry: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// names lists the live nodes' names as r sees them, or nil on error.
func names(r *fleet.Registry) []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	nodes, err := r.Nodes(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// stored returns the node stored under name, and whether there is one.
func stored(t *testing.T, c *clientv3.Client, name string) (api.Node, bool) {
	t.Helper()
	resp, err := c.Get(t.Context(), prefix+fleet.NodesDir+name)
	require.NoError(t, err)
	if len(resp.Kvs) == 0 {
		return api.Node{}, false
	}
	var n api.Node
	require.NoError(t, json.Unmarshal(resp.Kvs[0].Value, &n))
	return n, true
}

func TestOptionsValidate(t *testing.T) {
	c := &clientv3.Client{}
	for _, tt := range []struct {
		name string
		o    fleet.Options
		ok   bool
	}{
		{"good", fleet.Options{Client: c, Name: "n1"}, true},
		{"no client", fleet.Options{Name: "n1"}, false},
		{"no name", fleet.Options{Client: c}, false},
		{"slash", fleet.Options{Client: c, Name: "a/b"}, false},
		{"negative ttl", fleet.Options{Client: c, Name: "n1", TTL: -1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			assert.Equal(t, tt.ok, err == nil, "err %v", err)
		})
	}
}

func TestRegistry(t *testing.T) {
	e := startTestEtcd(t)
	c := e.client(t)
	var rev atomic.Uint64
	rev.Store(3)
	a := start(t, c, "a", rev.Load)
	b := start(t, e.client(t), "b", nil)

	require.Eventually(t, func() bool { return len(names(a)) == 2 && len(names(b)) == 2 }, 5*time.Second, 10*time.Millisecond)
	nodes, err := a.Nodes(t.Context())
	require.NoError(t, err)
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	assert.Equal(t, []api.Node{
		{Name: "a", URL: "http://a:8042", Started: started, Revision: 3, Self: true},
		{Name: "b", URL: "http://b:8042", Started: started, Revision: 0},
	}, nodes)
	n, ok := stored(t, c, "a")
	require.True(t, ok)
	assert.False(t, n.Self, "the stored node says nothing of self")

	// The revision applied reaches etcd within a few polls.
	rev.Store(9)
	assert.Eventually(t, func() bool { n, _ := stored(t, c, "a"); return n.Revision == 9 }, 2*time.Second, 10*time.Millisecond)

	// A clean stop deletes the key at once.
	require.NoError(t, b.Close())
	_, ok = stored(t, c, "b")
	assert.False(t, ok, "b's key after Close")
	assert.Equal(t, []string{"a"}, names(a))
	assert.NoError(t, b.Close(), "a second Close")
}

// TestRegistryLeaseExpires checks that a node that dies without revoking
// its lease (its etcd client gone) drops out when the lease expires.
func TestRegistryLeaseExpires(t *testing.T) {
	e := startTestEtcd(t)
	c := e.client(t)
	a := start(t, c, "a", nil)
	dyingClient := e.client(t)
	start(t, dyingClient, "dies", nil)
	require.Eventually(t, func() bool { _, ok := stored(t, c, "dies"); return ok }, 5*time.Second, 10*time.Millisecond)

	lost := time.Now()
	require.NoError(t, dyingClient.Close())
	assert.Equal(t, []string{"a", "dies"}, names(a), "listed right after its client went")
	require.Eventually(t, func() bool { _, ok := stored(t, c, "dies"); return !ok }, 5*time.Second, 20*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(lost), 500*time.Millisecond, "the key went before its lease could expire")
	assert.Equal(t, []string{"a"}, names(a))
}

// TestRegistryReregisters checks that a node whose lease is lost (revoked
// here, as when it expired during an etcd outage) registers again.
func TestRegistryReregisters(t *testing.T) {
	e := startTestEtcd(t)
	c := e.client(t)
	a := start(t, c, "a", nil)
	require.Eventually(t, func() bool { return a.Lease() != 0 }, 5*time.Second, 10*time.Millisecond)
	first := a.Lease()
	_, err := c.Revoke(t.Context(), first)
	require.NoError(t, err)
	_, ok := stored(t, c, "a")
	require.False(t, ok, "the revoke deleted the key")

	require.Eventually(t, func() bool { _, ok := stored(t, c, "a"); return ok }, 5*time.Second, 10*time.Millisecond)
	assert.NotEqual(t, first, a.Lease(), "registered under a new lease")
	resp, err := c.Get(t.Context(), prefix+fleet.NodesDir+"a")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, int64(a.Lease()), resp.Kvs[0].Lease)
}

// TestRegistryEtcdDown checks that a node started while etcd is down
// registers once it is up, lists itself meanwhile only through an error,
// and registers again after an outage longer than its lease.
func TestRegistryEtcdDown(t *testing.T) {
	e := newTestEtcd(t)
	c := e.client(t)
	a := start(t, c, "a", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err := a.Nodes(ctx)
	cancel()
	assert.Error(t, err, "Nodes with etcd down")

	e.start(t)
	require.Eventually(t, func() bool { _, ok := stored(t, c, "a"); return ok }, 10*time.Second, 20*time.Millisecond)

	e.stop()
	time.Sleep(1500 * time.Millisecond) // past the 1 s lease
	e.start(t)
	require.Eventually(t, func() bool { _, ok := stored(t, c, "a"); return ok && a.Lease() != 0 }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, []string{"a"}, names(a))
}
