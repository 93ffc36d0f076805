package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Defaults of Options.
const (
	// DefaultTTL is the lease of a node's key: a node that dies without
	// revoking it drops out of the fleet this long after its last
	// keep-alive.
	DefaultTTL = 10 * time.Second
	// DefaultPoll is how often the registry reads the applied revision,
	// and so the fastest it rewrites the node's key when it changes.
	DefaultPoll = time.Second
	// DefaultRetry is the pause before registering again after a failed
	// attempt or a lost lease.
	DefaultRetry = time.Second
	// DefaultCallTimeout bounds each etcd call of the registry.
	DefaultCallTimeout = 3 * time.Second
	// RevokeTimeout bounds the revoke of Close, so that a node stopping
	// while etcd is down does not wait long; its key then goes when the
	// lease expires.
	RevokeTimeout = time.Second
)

// NodesDir is the folder of the node keys under the prefix.
const NodesDir = "nodes/"

// Options configures a Registry. A zero duration takes its default.
type Options struct {
	// Client is the etcd client; the caller makes it and closes it after
	// Close.
	Client *clientv3.Client
	// Prefix starts every key, e.g. "/mantrid/"; the node's key is
	// Prefix + NodesDir + Name.
	Prefix string
	// Name is the node's name, unique in the fleet: node_name.
	Name string
	// URL is the base URL of the node's REST API as its peers reach it.
	URL string
	// Started is when the node started; zero: when Start was called.
	Started time.Time
	// Revision, when set, returns the rule store revision the node has
	// applied; the registry reads it every Poll and rewrites the key when
	// it changed. It must be cheap and safe to call from any goroutine.
	Revision func() uint64
	// TTL is the lease; etcd rounds it up to whole seconds and to its own
	// minimum. Default DefaultTTL.
	TTL time.Duration
	// Poll is the period of Revision reads. Default DefaultPoll.
	Poll time.Duration
	// Retry is the pause between registration attempts. Default
	// DefaultRetry.
	Retry time.Duration
	// Logger receives a line when the node registers, and when it loses
	// its registration (once per loss). Default: discard.
	Logger *slog.Logger
}

// Validate reports a missing client or name, a name etcd keys cannot hold,
// and negative durations.
func (o Options) Validate() error {
	switch {
	case o.Client == nil:
		return errors.New("fleet: no etcd client")
	case o.Name == "":
		return errors.New("fleet: the node name is empty")
	case strings.ContainsAny(o.Name, "/\x00") || len(o.Name) > 255:
		return fmt.Errorf("fleet: the node name %q holds '/' or NUL, or is longer than 255 bytes", o.Name)
	case o.TTL < 0 || o.Poll < 0 || o.Retry < 0:
		return errors.New("fleet: durations must not be negative")
	}
	return nil
}

// Registry keeps this node registered in etcd and lists the live nodes.
type Registry struct {
	opts Options
	key  string
	log  *slog.Logger

	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	lease clientv3.LeaseID // the lease held now, 0 when none
}

// Start validates o and starts keeping the node registered, in a goroutine
// of the Registry's. It does not wait for etcd: a node that starts while
// etcd is down registers once it is back. Call Close to stop.
func Start(o Options) (*Registry, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Started.IsZero() {
		o.Started = time.Now()
	}
	o.Started = o.Started.UTC().Truncate(time.Second)
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.TTL, DefaultTTL)
	def(&o.Poll, DefaultPoll)
	def(&o.Retry, DefaultRetry)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registry{opts: o, key: o.Prefix + NodesDir + o.Name, log: o.Logger,
		stop: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r, nil
}

// Self returns this node as it registers itself, with the revision applied
// now.
func (r *Registry) Self() api.Node {
	n := api.Node{Name: r.opts.Name, URL: r.opts.URL, Started: r.opts.Started, Self: true}
	if r.opts.Revision != nil {
		n.Revision = r.opts.Revision()
	}
	return n
}

// Nodes lists the live nodes, sorted by name, this one marked Self. It
// reads etcd (bounded by ctx) and fails when etcd cannot be read. This node
// is listed even while its key is missing (not yet registered, or its lease
// just lost), since it is answering.
func (r *Registry) Nodes(ctx context.Context) ([]api.Node, error) {
	resp, err := r.opts.Client.Get(ctx, r.opts.Prefix+NodesDir, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("fleet: reading the nodes from etcd: %w", err)
	}
	nodes := make([]api.Node, 0, len(resp.Kvs)+1)
	self := false
	for _, kv := range resp.Kvs {
		var n api.Node
		if json.Unmarshal(kv.Value, &n) != nil {
			r.log.Warn("fleet: a node key holds no node", "key", string(kv.Key))
			continue
		}
		n.Name = strings.TrimPrefix(string(kv.Key), r.opts.Prefix+NodesDir)
		n.Self = n.Name == r.opts.Name
		if n.Self {
			n, self = r.Self(), true
		}
		nodes = append(nodes, n)
	}
	if !self {
		nodes = append(nodes, r.Self())
	}
	slices.SortFunc(nodes, func(a, b api.Node) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// Lease returns the etcd lease the node's key is held under now, or 0
// while the node is not registered.
func (r *Registry) Lease() clientv3.LeaseID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lease
}

// Close stops keeping the node registered and revokes its lease, which
// deletes its key at once (waiting at most RevokeTimeout for etcd).
// Later calls do nothing.
func (r *Registry) Close() error {
	var err error
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		if id := r.Lease(); id != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), RevokeTimeout)
			defer cancel()
			if _, rerr := r.opts.Client.Revoke(ctx, id); rerr != nil {
				err = fmt.Errorf("fleet: revoking the lease of node %s: %w", r.opts.Name, rerr)
			}
			r.setLease(0)
		}
	})
	return err
}

func (r *Registry) setLease(id clientv3.LeaseID) {
	r.mu.Lock()
	r.lease = id
	r.mu.Unlock()
}

// run registers the node, holds the registration until it is lost, and
// registers again, until Close.
func (r *Registry) run() {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.stop:
			cancel()
		case <-r.done:
		}
	}()
	failing := false // the last attempt failed to register
	for {
		registered, err := r.hold(ctx)
		if ctx.Err() != nil {
			return
		}
		if registered || !failing {
			r.log.Warn("fleet: node not registered; trying again", "node", r.opts.Name, "err", err)
		}
		failing = !registered
		select {
		case <-time.After(r.opts.Retry):
		case <-ctx.Done():
			return
		}
	}
}

// hold registers the node under a new lease and keeps it alive, rewriting
// the key when the applied revision changes. It returns when the lease is
// lost or ctx ends, reporting whether it had registered; on return after
// ctx ends, the lease is left for Close to revoke.
func (r *Registry) hold(ctx context.Context) (bool, error) {
	id, rev, err := r.register(ctx)
	if err != nil {
		return false, err
	}
	r.setLease(id)
	r.log.Info("fleet: node registered", "node", r.opts.Name, "key", r.key, "lease", int64(id))
	alive, err := r.opts.Client.KeepAlive(ctx, id)
	if err != nil {
		r.setLease(0)
		return true, err
	}
	tick := time.NewTicker(r.opts.Poll)
	defer tick.Stop()
	for {
		select {
		case _, ok := <-alive:
			if !ok {
				if ctx.Err() == nil {
					r.setLease(0)
				}
				return true, errors.New("the lease expired or etcd stopped keeping it alive")
			}
		case <-tick.C:
			if r.opts.Revision == nil || r.opts.Revision() == rev {
				continue
			}
			if next, err := r.put(ctx, id); err == nil {
				rev = next
			}
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

// register grants a lease and writes the node's key under it, returning
// the lease and the revision written.
func (r *Registry) register(ctx context.Context) (clientv3.LeaseID, uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	defer cancel()
	ttl := int64((r.opts.TTL + time.Second - 1) / time.Second)
	g, err := r.opts.Client.Grant(cctx, ttl)
	if err != nil {
		return 0, 0, fmt.Errorf("granting a lease: %w", err)
	}
	rev, err := r.put(ctx, g.ID)
	if err != nil {
		rctx, rcancel := context.WithTimeout(context.Background(), DefaultCallTimeout)
		defer rcancel()
		_, _ = r.opts.Client.Revoke(rctx, g.ID)
		return 0, 0, err
	}
	return g.ID, rev, nil
}

// put writes the node's key under lease id, with the revision applied now,
// and returns that revision.
func (r *Registry) put(ctx context.Context, id clientv3.LeaseID) (uint64, error) {
	n := r.Self()
	n.Self = false
	val, err := json.Marshal(n)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	defer cancel()
	if _, err := r.opts.Client.Put(cctx, r.key, string(val), clientv3.WithLease(id)); err != nil {
		return 0, fmt.Errorf("writing %s: %w", r.key, err)
	}
	return n.Revision, nil
}
