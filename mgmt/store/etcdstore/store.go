package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/store"
)

// Defaults of Options.
const (
	// DefaultPrefix is where the rules live in etcd.
	DefaultPrefix = "/mantrid/"
	// DefaultWriteTimeout bounds a write's wait for etcd: past it the
	// write fails with store.ErrUnavailable.
	DefaultWriteTimeout = 3 * time.Second
	// DefaultApplyTimeout bounds a write's wait, after etcd committed it,
	// for this node's table to have it.
	DefaultApplyTimeout = 5 * time.Second
	// probeInterval is how often the health probe asks etcd for the
	// pointer key; probeTimeout bounds each probe.
	probeInterval = time.Second
	probeTimeout  = time.Second
	// retryDelay is the pause between attempts to reach etcd.
	retryDelay = 300 * time.Millisecond
	// pageSize is how many keys a reload reads per request.
	pageSize = 5000
	// txnOps is how many puts one transaction of a bulk write holds: etcd
	// refuses more than 128 operations per transaction by default
	// (--max-txn-ops).
	txnOps = 128
	// bulkWriters is how many transactions of a bulk write are in flight.
	bulkWriters = 8
)

// Options configures Open.
type Options struct {
	// Endpoints are the etcd client URLs; at least one.
	Endpoints []string
	// Prefix is prepended to every key; DefaultPrefix when "".
	Prefix string
	// Username and Password authenticate to etcd when Username is set.
	Username, Password string
	// TLS, when set, is used for the connections to etcd.
	TLS *tls.Config
	// Cache (required) is the node's local store: it holds the last
	// rules seen, feeds Table and calls the change hook. The caller opens
	// it before and closes it after the Store.
	Cache *store.Local
	// Table is the rule table Cache feeds.
	Table *hostmap.Table
	// Dir is Cache's folder: the revision file is kept there.
	Dir string
	// WriteTimeout is DefaultWriteTimeout when 0; ApplyTimeout is
	// DefaultApplyTimeout when 0.
	WriteTimeout, ApplyTimeout time.Duration
	// Logger receives state changes; default: discard.
	Logger *slog.Logger
}

// Store is the Store of a fleet (see the package comment).
type Store struct {
	cli      *clientv3.Client
	prefix   string
	cache    *store.Local
	table    *hostmap.Table
	dir      string
	log      *slog.Logger
	wtimeout time.Duration
	atimeout time.Duration
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu        sync.Mutex
	applied   int64         // the etcd revision the table reflects
	gen       string        // the generation the table holds
	cluster   uint64        // the etcd cluster's id, 0 until known
	advanced  chan struct{} // closed and replaced when applied grows
	connected bool
	since     time.Time
	restart   context.CancelFunc // ends the current watch, for the probe
}

// Client returns the store's etcd client, for the fleet's node registry
// (mgmt/fleet); it is closed by Close.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Status is what GET /process/ says of the link to etcd.
type Status struct {
	// Connected reports whether the last request to etcd succeeded.
	Connected bool `json:"connected"`
	// Since is when Connected last changed (or the Store opened).
	Since time.Time `json:"since"`
	// Revision is the etcd revision this node's rules reflect.
	Revision int64 `json:"revision"`
}

// Open starts following etcd into o.Cache. It does not wait for etcd:
// the table keeps the rules o.Cache loaded until etcd answers.
func Open(o Options) (*Store, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	if o.Cache == nil || o.Table == nil {
		return nil, errors.New("etcd: no local store (Cache, Table)")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: o.Endpoints, Username: o.Username, Password: o.Password, TLS: o.TLS,
		DialTimeout: probeTimeout, DialKeepAliveTime: 5 * time.Second, DialKeepAliveTimeout: 2 * time.Second,
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	s := &Store{cli: cli, prefix: o.Prefix, cache: o.Cache, table: o.Table, dir: o.Dir, log: o.Logger,
		wtimeout: orDefault(o.WriteTimeout, DefaultWriteTimeout), atimeout: orDefault(o.ApplyTimeout, DefaultApplyTimeout),
		advanced: make(chan struct{}), since: time.Now()}
	if m, err := readMark(o.Dir); err != nil {
		s.log.Warn("etcd revision file unreadable; the rules will be reloaded from etcd", "err", err)
	} else if m.Prefix == s.prefix {
		s.applied, s.gen, s.cluster = m.Revision, m.Generation, m.Cluster
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Go(func() { s.follow(ctx) })
	s.wg.Go(func() { s.probe(ctx) })
	return s, nil
}

// orDefault returns v, or def when v is not positive.
func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Status returns the state of the link to etcd.
func (s *Store) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Connected: s.connected, Since: s.since, Revision: s.applied}
}

// Close stops following etcd, records the revision reached and closes the
// connection. The Cache stays open.
func (s *Store) Close() error {
	s.cancel()
	s.wg.Wait()
	err := s.saveMark()
	return errors.Join(err, s.cli.Close())
}

// setConnected records the link's state and logs each change once.
func (s *Store) setConnected(up bool, cause error) {
	s.mu.Lock()
	if s.connected == up {
		s.mu.Unlock()
		return
	}
	s.connected, s.since = up, time.Now()
	rev := s.applied
	s.mu.Unlock()
	if up {
		s.log.Info("etcd connected", "revision", rev)
	} else {
		s.log.Warn("etcd disconnected; serving the rules as last seen, writes refused", "revision", rev, "err", cause)
	}
}

// advance records that the table reflects rev of generation gen and wakes
// the writers waiting for it. The revision only grows, unless reset (a
// reload, which may go back when etcd was restored from a backup).
func (s *Store) advance(rev int64, gen string, reset bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen = gen
	if rev > s.applied || reset {
		s.applied = rev
		close(s.advanced)
		s.advanced = make(chan struct{})
	}
}

// waitApplied waits until the table reflects rev, for read-your-writes.
func (s *Store) waitApplied(ctx context.Context, rev int64, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.Lock()
		done, ch := s.applied >= rev, s.advanced
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			return fmt.Errorf("%w: etcd committed the change (revision %d) but this node has not applied it within %s",
				store.ErrUnavailable, rev, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Key helpers: the pointer key, a generation's prefix, a rule's key.
func (s *Store) currentKey() string          { return s.prefix + "current" }
func (s *Store) genPrefix(gen string) string { return s.prefix + "hosts/" + gen + "/" }
func (s *Store) ruleKey(gen, key string) string {
	return s.genPrefix(gen) + key
}

// keyOf returns the rule key of an etcd key of generation gen.
func (s *Store) keyOf(gen string, k []byte) (string, bool) {
	return strings.CutPrefix(string(k), s.genPrefix(gen))
}

// unavailable wraps an etcd failure as store.ErrUnavailable.
func (s *Store) unavailable(what string, err error) error {
	return fmt.Errorf("%w: etcd (%s) did not %s within %s: %v", store.ErrUnavailable,
		strings.Join(s.cli.Endpoints(), ","), what, s.wtimeout, err)
}
