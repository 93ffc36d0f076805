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
	"strings"
	"sync"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/embed"
)

// startTimeout bounds the wait for the server to be ready.
const startTimeout = 20 * time.Second

// Server is one etcd member. Stop and Restart stop and restart it on the
// same ports and data, for outage tests.
type Server struct {
	t   testing.TB
	cfg *embed.Config
	e   *embed.Etcd
	// Endpoint is the client URL, http://127.0.0.1:PORT.
	Endpoint string
}

// Start starts a one-member cluster; the test's cleanup stops it.
func Start(t testing.TB) *Server { return StartCluster(t, 1)[0] }

// StartCluster starts a cluster of n members (for quorum tests); the
// test's cleanup stops them.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	members := make([]*Server, n)
	var initial []string
	for i := range members {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = t.TempDir()
		cfg.LogLevel = "fatal"
		cfg.UnsafeNoFsync = true // a test's data need not survive a crash
		cu := url.URL{Scheme: "http", Host: freeAddr(t)}
		pu := url.URL{Scheme: "http", Host: freeAddr(t)}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		initial = append(initial, cfg.Name+"="+pu.String())
		members[i] = &Server{t: t, cfg: cfg, Endpoint: cu.String()}
	}
	var wg sync.WaitGroup
	for _, m := range members {
		m.cfg.InitialCluster = strings.Join(initial, ",")
		t.Cleanup(m.Stop)
		wg.Go(m.start) // the members wait for each other
	}
	wg.Wait()
	for _, m := range members {
		if m.e == nil {
			t.Fatalf("etcd member %s did not start", m.cfg.Name)
		}
	}
	return members
}

// start starts the member and waits until it is ready; on failure m.e
// stays nil and the error is logged.
func (m *Server) start() {
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		m.t.Errorf("etcd member %s did not start: %v", m.cfg.Name, err)
		return
	}
	select {
	case <-e.Server.ReadyNotify():
		m.e = e
	case <-time.After(startTimeout):
		e.Close()
		m.t.Errorf("etcd member %s not ready within %s", m.cfg.Name, startTimeout)
	}
}

// Restart starts the member again after Stop, on the same ports and data.
func (s *Server) Restart() {
	s.t.Helper()
	if s.e != nil {
		return
	}
	s.start()
	if s.e == nil {
		s.t.FailNow()
	}
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
