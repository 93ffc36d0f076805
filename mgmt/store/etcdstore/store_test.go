package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/store"
	"github.com/mantrid/mantrid/mgmt/store/etcdstore/etcdtest"
)

// node is one Mantrid's store stack: a table, its Local cache, the etcd
// follower.
type node struct {
	dir     string
	table   *hostmap.Table
	local   *store.Local
	st      *Store
	changes atomic.Int64 // calls of the change hook
}

// openNode opens a node on dir following etcd at endpoint.
func openNode(t *testing.T, dir, endpoint string) *node {
	t.Helper()
	n := &node{dir: dir, table: hostmap.New(2)}
	var err error
	n.local, err = store.Open(store.Options{Dir: dir, Table: n.table, OnChange: func(string) { n.changes.Add(1) }})
	require.NoError(t, err)
	n.st, err = Open(Options{Endpoints: []string{endpoint}, Cache: n.local, Table: n.table, Dir: dir,
		WriteTimeout: time.Second, ApplyTimeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(n.close)
	return n
}

func (n *node) close() {
	if n.st != nil {
		n.st.Close()
		n.local.Close()
		n.st = nil
	}
}

// rule returns key's rule as JSON, or "".
func (n *node) rule(key string) string {
	h, ok := n.table.Get(key)
	if !ok {
		return ""
	}
	return string(h.Unpack().AppendJSON(nil))
}

// eventually waits until n's rule for key is want ("" for none).
func (n *node) eventually(t *testing.T, key, want string, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return n.rule(key) == want }, within, 5*time.Millisecond,
		"rule of %s: got %q, want %q", key, n.rule(key), want)
}

func proxyTo(port int) string {
	return fmt.Sprintf(`["proxy",{"backends":[["127.0.0.1",%d]]},false]`, port)
}

func mustRule(t testing.TB, js string) *actions.Rule {
	t.Helper()
	r, err := actions.ParseRule([]byte(js))
	require.NoError(t, err, js)
	return r
}

func TestFollowSetDeleteReplace(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := openNode(t, t.TempDir(), etcd.Endpoint)
	b := openNode(t, t.TempDir(), etcd.Endpoint)
	ctx := t.Context()

	require.NoError(t, setRule(ctx, a.st, "ep.io", mustRule(t, proxyTo(1))))
	assert.Equal(t, proxyTo(1), a.rule("ep.io"), "the writer's table has the change when Set returns")
	b.eventually(t, "ep.io", proxyTo(1), 2*time.Second)

	require.NoError(t, setRule(ctx, b.st, "ep.io", mustRule(t, proxyTo(2))))
	a.eventually(t, "ep.io", proxyTo(2), 2*time.Second)
	existed, err := delRule(ctx, a.st, "ep.io")
	require.NoError(t, err)
	assert.True(t, existed)
	assert.Empty(t, a.rule("ep.io"))
	b.eventually(t, "ep.io", "", 2*time.Second)
	existed, err = delRule(ctx, a.st, "ep.io")
	require.NoError(t, err)
	assert.False(t, existed, "a second delete finds nothing")

	before := b.changes.Load()
	bl := a.table.NewBuilder(1000)
	for i := range 1000 {
		bl.Add(fmt.Sprintf("h%d.io", i), mustRule(t, proxyTo(3)))
	}
	require.NoError(t, replaceRules(ctx, a.st, bl))
	assert.Equal(t, 1000, a.table.Len())
	require.Eventually(t, func() bool { return b.table.Len() == 1000 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, proxyTo(3), b.rule("h999.io"))
	assert.Eventually(t, func() bool { return b.changes.Load() > before }, time.Second, time.Millisecond,
		"the change hook ran on the follower (just after the table changed)")

	resp, err := a.st.cli.Get(ctx, a.st.prefix+"hosts/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	assert.EqualValues(t, 1000, resp.Count, "the old generation was deleted")

	require.NoError(t, setRule(ctx, a.st, "after.io", mustRule(t, proxyTo(4))))
	b.eventually(t, "after.io", proxyTo(4), 2*time.Second)
	assert.Equal(t, 1001, b.table.Len())
}

func TestConditionalWrites(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := openNode(t, t.TempDir(), etcd.Endpoint)
	ctx := t.Context()

	rev, err := a.st.put(ctx, "ep.io", []byte(proxyTo(1)), store.Cond{IfNoneMatch: true})
	require.NoError(t, err)
	_, err = a.st.put(ctx, "ep.io", []byte(proxyTo(2)), store.Cond{IfNoneMatch: true})
	assert.ErrorIs(t, err, ErrPrecondition, "If-None-Match on an existing rule")
	require.NoError(t, a.st.waitApplied(ctx, rev, time.Second))
	_, err = a.st.put(ctx, "ep.io", []byte(proxyTo(2)), store.Cond{IfMatch: uint64(rev - 1)})
	assert.ErrorIs(t, err, ErrPrecondition, "a stale revision")
	rev2, err := a.st.put(ctx, "ep.io", []byte(proxyTo(3)), store.Cond{IfMatch: uint64(rev)})
	require.NoError(t, err, "the current revision")
	_, _, err = a.st.del(ctx, "ep.io", store.Cond{IfMatch: uint64(rev)})
	assert.ErrorIs(t, err, ErrPrecondition, "delete with a stale revision")
	existed, _, err := a.st.del(ctx, "ep.io", store.Cond{IfMatch: uint64(rev2)})
	require.NoError(t, err)
	assert.True(t, existed)
}

// TestETagsAcrossNodes: a rule's revision, its ETag, is its key's etcd
// ModRevision on every node, so an ETag read on one node conditions a
// write on another; of two writers with the same ETag one wins; a bulk
// replace and a reload keep each rule's revision.
func TestETagsAcrossNodes(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := openNode(t, t.TempDir(), etcd.Endpoint)
	b := openNode(t, t.TempDir(), etcd.Endpoint)
	ctx := t.Context()

	rev, err := a.st.Set(ctx, "ep.io", mustRule(t, proxyTo(1)), store.Cond{IfNoneMatch: true})
	require.NoError(t, err)
	b.eventually(t, "ep.io", proxyTo(1), 2*time.Second)
	ha, _ := a.table.Get("ep.io")
	hb, _ := b.table.Get("ep.io")
	assert.Equal(t, rev, ha.Rev, "the writer's ETag is the change's revision")
	assert.Equal(t, rev, hb.Rev, "the follower's ETag is the same")

	var wins atomic.Int32
	var pre atomic.Int32
	done := make(chan struct{})
	for i, n := range []*node{a, b} {
		go func() {
			defer func() { done <- struct{}{} }()
			_, err := n.st.Set(ctx, "ep.io", mustRule(t, proxyTo(10+i)), store.Cond{IfMatch: hb.Rev})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrPrecondition):
				pre.Add(1)
			default:
				t.Errorf("node %d: %v", i, err)
			}
		}()
	}
	<-done
	<-done
	assert.EqualValues(t, 1, wins.Load(), "exactly one of two writers with one ETag wins")
	assert.EqualValues(t, 1, pre.Load())

	_, _, err = b.st.Delete(ctx, "ep.io", store.Cond{IfMatch: rev})
	var pe *store.PreconditionError
	require.ErrorAs(t, err, &pe, "a stale ETag")
	assert.True(t, pe.Exists)
	assert.Greater(t, pe.Rev, rev, "the error tells the rule's revision now")
	_, err = b.st.Set(ctx, "none.io", mustRule(t, proxyTo(1)), store.Cond{IfMatch: store.AnyRev})
	require.ErrorAs(t, err, &pe, "If-Match: * on a host without a rule")
	assert.False(t, pe.Exists)

	bl := a.table.NewBuilder(10)
	for i := range 10 {
		bl.Add(fmt.Sprintf("h%d.io", i), mustRule(t, proxyTo(3)))
	}
	require.NoError(t, replaceRules(ctx, a.st, bl))
	require.Eventually(t, func() bool { return b.table.Len() == 10 }, 5*time.Second, 5*time.Millisecond)
	for i := range 10 {
		k := fmt.Sprintf("h%d.io", i)
		resp, err := a.st.cli.Get(ctx, a.st.ruleKey(a.st.generation(), k))
		require.NoError(t, err)
		require.Len(t, resp.Kvs, 1)
		ha, _ := a.table.Get(k)
		hb, _ := b.table.Get(k)
		assert.EqualValues(t, resp.Kvs[0].ModRevision, ha.Rev, "%s on the writer", k)
		assert.EqualValues(t, resp.Kvs[0].ModRevision, hb.Rev, "%s on the follower", k)
	}
}

func TestOutageAndCatchUp(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := openNode(t, t.TempDir(), etcd.Endpoint)
	bdir := t.TempDir()
	b := openNode(t, bdir, etcd.Endpoint)
	ctx := t.Context()
	require.NoError(t, setRule(ctx, a.st, "ep.io", mustRule(t, proxyTo(1))))
	b.eventually(t, "ep.io", proxyTo(1), 2*time.Second)
	require.Eventually(t, func() bool { return b.st.Status().Connected }, 3*time.Second, 10*time.Millisecond)

	etcd.Stop()
	start := time.Now()
	err := setRule(ctx, a.st, "other.io", mustRule(t, proxyTo(2)))
	assert.ErrorIs(t, err, store.ErrUnavailable)
	assert.Less(t, time.Since(start), 3*time.Second, "a write fails within the write timeout")
	assert.Equal(t, proxyTo(1), a.rule("ep.io"), "rules stay as last seen")
	require.Eventually(t, func() bool { return !b.st.Status().Connected }, 5*time.Second, 10*time.Millisecond)

	b.close() // a restart during the outage: the local copy is served at once
	openStart := time.Now()
	b = openNode(t, bdir, etcd.Endpoint)
	t.Logf("open with etcd down: %s", time.Since(openStart))
	assert.Less(t, time.Since(openStart), 2*time.Second, "the start does not wait for etcd")
	assert.Equal(t, proxyTo(1), b.rule("ep.io"))
	assert.False(t, b.st.Status().Connected)

	etcd.Restart()
	require.Eventually(t, func() bool { return a.st.Status().Connected && b.st.Status().Connected },
		5*time.Second, 10*time.Millisecond)
	changed := time.Now()
	require.NoError(t, setRule(ctx, a.st, "back.io", mustRule(t, proxyTo(3))))
	b.eventually(t, "back.io", proxyTo(3), time.Second)
	t.Logf("after reconnect: change on every node in %s", time.Since(changed))
}

func TestCompactionForcesReload(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := openNode(t, t.TempDir(), etcd.Endpoint)
	bdir := t.TempDir()
	b := openNode(t, bdir, etcd.Endpoint)
	ctx := t.Context()
	for i := range 20 {
		require.NoError(t, setRule(ctx, a.st, fmt.Sprintf("h%d.io", i), mustRule(t, proxyTo(1))))
	}
	b.eventually(t, "h19.io", proxyTo(1), 2*time.Second)
	b.close()
	m, err := readMark(bdir)
	require.NoError(t, err)
	require.Positive(t, m.Revision)

	for i := range 10 { // while b is away: deletions and changes
		_, err := delRule(ctx, a.st, fmt.Sprintf("h%d.io", i))
		require.NoError(t, err)
	}
	require.NoError(t, setRule(ctx, a.st, "h15.io", mustRule(t, proxyTo(2))))
	require.NoError(t, setRule(ctx, a.st, "new.io", mustRule(t, proxyTo(3))))
	compacted := etcd.Compact()
	require.Greater(t, compacted, m.Revision)

	b = openNode(t, bdir, etcd.Endpoint)
	b.eventually(t, "new.io", proxyTo(3), 3*time.Second)
	assert.Equal(t, rulesJSON(a.table), rulesJSON(b.table), "the reload lost nothing and kept nothing deleted")
	assert.Empty(t, b.rule("h0.io"))
	assert.Equal(t, proxyTo(2), b.rule("h15.io"))
}

func rulesJSON(t *hostmap.Table) map[string]string {
	out := map[string]string{}
	t.Range(func(key string, h hostmap.Hit) bool {
		out[key] = string(h.Unpack().AppendJSON(nil))
		return true
	})
	return out
}

// TestCutOffNodeCatchesUp: a node whose etcd member is down while the
// others keep quorum misses the changes made meanwhile through them, and
// gets them once its member is back.
func TestCutOffNodeCatchesUp(t *testing.T) {
	members := etcdtest.StartCluster(t, 3)
	a := openNode(t, t.TempDir(), members[0].Endpoint)
	b := openNode(t, t.TempDir(), members[2].Endpoint)
	ctx := t.Context()
	require.NoError(t, setRule(ctx, a.st, "ep.io", mustRule(t, proxyTo(1))))
	b.eventually(t, "ep.io", proxyTo(1), 3*time.Second)

	members[2].Stop()
	require.Eventually(t, func() bool { return !b.st.Status().Connected }, 5*time.Second, 10*time.Millisecond)
	// The other two members keep quorum; a write may fail while they
	// elect a leader, when the stopped member was it.
	require.Eventually(t, func() bool { return setRule(ctx, a.st, "while.io", mustRule(t, proxyTo(2))) == nil },
		10*time.Second, 100*time.Millisecond, "writes through the members that keep quorum")
	existed, err := delRule(ctx, a.st, "ep.io")
	require.NoError(t, err)
	require.True(t, existed)
	assert.Equal(t, proxyTo(1), b.rule("ep.io"), "the cut-off node serves its rules as last seen")

	members[2].Restart()
	b.eventually(t, "while.io", proxyTo(2), 5*time.Second)
	b.eventually(t, "ep.io", "", time.Second)
	require.Eventually(t, func() bool { return b.st.Status().Connected }, 5*time.Second, 10*time.Millisecond)
}

// setRule, delRule and replaceRules call the store without a condition
// and keep what the tests check.
func setRule(ctx context.Context, st *Store, key string, r *actions.Rule) error {
	_, err := st.Set(ctx, key, r, store.Cond{})
	return err
}

func delRule(ctx context.Context, st *Store, key string) (bool, error) {
	existed, _, err := st.Delete(ctx, key, store.Cond{})
	return existed, err
}

func replaceRules(ctx context.Context, st *Store, b *hostmap.Builder) error {
	_, err := st.Replace(ctx, b)
	return err
}
