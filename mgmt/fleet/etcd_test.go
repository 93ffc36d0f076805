package fleet_test

import (
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// testEtcd is a one-member etcd run in-process on loopback ports.
type testEtcd struct {
	dir                string
	clientURL, peerURL url.URL
	e                  *embed.Etcd
}

// freeURL returns an http URL on a loopback port free at the time.
func freeURL(t *testing.T) url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return url.URL{Scheme: "http", Host: addr}
}

// newTestEtcd picks the ports and data folder of an etcd; start starts it.
func newTestEtcd(t *testing.T) *testEtcd {
	t.Helper()
	e := &testEtcd{dir: t.TempDir(), clientURL: freeURL(t), peerURL: freeURL(t)}
	t.Cleanup(e.stop)
	return e
}

// startTestEtcd returns a running etcd.
func startTestEtcd(t *testing.T) *testEtcd {
	t.Helper()
	e := newTestEtcd(t)
	e.start(t)
	return e
}

// start starts the etcd, or again after stop, on the same ports and data.
// Its short election timeout lets leases as short as a second stand.
func (e *testEtcd) start(t *testing.T) {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = e.dir
	cfg.ListenClientUrls = []url.URL{e.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{e.clientURL}
	cfg.ListenPeerUrls = []url.URL{e.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{e.peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.LogLevel = "error"
	cfg.Logger = "zap"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	srv, err := embed.StartEtcd(cfg)
	require.NoError(t, err)
	select {
	case <-srv.Server.ReadyNotify():
	case <-time.After(10 * time.Second):
		srv.Close()
		t.Fatal("embedded etcd did not start within 10 s")
	}
	e.e = srv
}

// stop stops the etcd; its data stays for start.
func (e *testEtcd) stop() {
	if e.e != nil {
		e.e.Close()
		e.e = nil
	}
}

// client returns a new client of the etcd, closed at the end of the test.
func (e *testEtcd) client(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{e.clientURL.String()},
		DialTimeout: 2 * time.Second,
		Logger:      zap.NewNop(),
		// Reconnect fast after the test restarts etcd: gRPC's default
		// backoff grows to minutes.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: 300 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})},
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}
