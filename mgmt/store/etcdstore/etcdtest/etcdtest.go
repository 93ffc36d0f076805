// Package etcdtest runs an etcd server inside a test process
// (go.etcd.io/etcd/server/v3/embed) on free loopback ports, with its data
// in the test's temporary folder, for the tests of etcdstore and of the
// mantrid binary. Only tests import it.
//
// Concurrency: a Server is used by one test goroutine.
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/embed"
)

// startTimeout bounds the wait for the server to be ready.
const startTimeout = 20 * time.Second

// Server is one etcd member. Stop and Start stop and restart it on the
// same ports and data, for outage tests.
type Server struct {
	t   testing.TB
	cfg *embed.Config
	e   *embed.Etcd
	// Endpoint is the client URL, http://127.0.0.1:PORT.
	Endpoint string
}

// Start starts a one-member cluster; the test's cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "test"
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "fatal"
	cfg.UnsafeNoFsync = true // a test's data need not survive a crash
	cu := url.URL{Scheme: "http", Host: freeAddr(t)}
	pu := url.URL{Scheme: "http", Host: freeAddr(t)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	s := &Server{t: t, cfg: cfg, Endpoint: cu.String()}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the member again after Stop (the first start, from Start).
func (s *Server) Restart() {
	s.t.Helper()
	if s.e != nil {
		return
	}
	s.cfg.ClusterState = embed.ClusterStateFlagNew
	e, err := embed.StartEtcd(s.cfg)
	if err != nil {
		s.t.Fatalf("etcd did not start: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(startTimeout):
		e.Close()
		s.t.Fatalf("etcd not ready within %s", startTimeout)
	}
	s.e = e
}

// Stop stops the member; its data stays for Restart.
func (s *Server) Stop() {
	if s.e != nil {
		s.e.Close()
		s.e = nil
	}
}

// Compact compacts the member's history up to its current revision.
func (s *Server) Compact() int64 {
	s.t.Helper()
	rev := s.e.Server.KV().Rev()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := s.e.Server.Compact(ctx, &pb.CompactionRequest{Revision: rev, Physical: true}); err != nil {
		s.t.Fatalf("compact: %v", err)
	}
	return rev
}

// freeAddr returns a loopback address with a port free now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("no free port: %v", err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
