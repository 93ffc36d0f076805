package mgmt

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/client"
	"github.com/mantrid/mantrid/mgmt/state"
)

// DefaultFleetTimeout bounds listing the fleet and fetching the peers'
// counters for GET /fleet/ and GET /stats/?fleet=1.
const DefaultFleetTimeout = 2 * time.Second

// maxPeerClients bounds the cache of peer clients; past it the cache
// starts afresh.
const maxPeerClients = 256

// Fleet lists the live nodes of the fleet: mgmt/fleet's Registry with
// etcd, Alone without. Nodes must list this node, marked Self, and fail
// only when the list cannot be known.
type Fleet interface {
	Nodes(ctx context.Context) ([]api.Node, error)
}

// Alone returns the Fleet of a node that shares its rules with no other:
// the one node self returns, marked Self.
func Alone(self func() api.Node) Fleet { return alone(self) }

type alone func() api.Node

func (a alone) Nodes(context.Context) ([]api.Node, error) {
	n := a()
	n.Self = true
	return []api.Node{n}, nil
}

// hostnameAlone is the Fleet of a Server given none: this node alone,
// named by the machine's hostname, started when the Server was made.
func hostnameAlone(started time.Time) Fleet {
	name, _ := os.Hostname()
	started = started.UTC().Truncate(time.Second)
	return Alone(func() api.Node { return api.Node{Name: name, Started: started} })
}

// peers caches one API client per peer URL, all with the Server's token.
type peers struct {
	token string
	mu    sync.Mutex
	byURL map[string]*client.Client
}

func (p *peers) client(url string) (*client.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.byURL[url]; ok {
		return c, nil
	}
	var opts []client.Option
	if p.token != "" {
		opts = append(opts, client.WithToken(p.token))
	}
	c, err := client.New(url, opts...)
	if err != nil {
		return nil, err
	}
	if p.byURL == nil || len(p.byURL) >= maxPeerClients {
		p.byURL = make(map[string]*client.Client)
	}
	p.byURL[url] = c
	return c, nil
}

// fleetQuery reports whether r asks for the fleet's answer: "fleet=1" (or
// "true") does, "fleet=0" ("false") or no fleet parameter does not, and
// anything else is refused. Other parameters are ignored, as the first
// Mantrid ignored queries.
func fleetQuery(r *http.Request) (bool, *api.Error) {
	vals, ok := r.URL.Query()["fleet"]
	if !ok {
		return false, nil
	}
	if len(vals) == 1 {
		switch vals[0] {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
	}
	return false, &api.Error{Code: api.CodeQueryInvalid, Detail: "fleet takes 1 or 0, once"}
}

// nodes lists the live nodes within the fleet timeout.
func (s *Server) nodes(ctx context.Context) ([]api.Node, *api.Error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.FleetTimeout)
	defer cancel()
	nodes, err := s.opts.Fleet.Nodes(ctx)
	if err != nil {
		return nil, &api.Error{Code: api.CodeFleetUnavailable, Detail: err.Error()}
	}
	return nodes, nil
}

// getFleet answers GET /fleet/: the live nodes.
func (s *Server) getFleet(w http.ResponseWriter, r *http.Request) int {
	nodes, aerr := s.nodes(r.Context())
	if aerr != nil {
		return writeError(w, aerr)
	}
	if nodes == nil {
		nodes = []api.Node{}
	}
	return writeJSON(w, api.Fleet{Nodes: nodes})
}

// collect runs local for the Self node and remote for every other one, in
// parallel, within the fleet timeout. It returns the results of the nodes
// that answered, their names, and the nodes that did not.
func collect[T any](ctx context.Context, s *Server, nodes []api.Node, local func() T,
	remote func(context.Context, *client.Client) (T, error)) ([]T, []string, []api.MissingNode) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.FleetTimeout)
	defer cancel()
	got := make([]T, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		if n.Self {
			got[i] = local()
			continue
		}
		wg.Go(func() {
			c, err := s.peers.client(n.URL)
			if err == nil {
				got[i], err = remote(ctx, c)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	var ok []T
	names := []string{}
	missing := []api.MissingNode{}
	for i, n := range nodes {
		if errs[i] != nil {
			missing = append(missing, api.MissingNode{Node: n.Name, URL: n.URL, Error: safeText(errs[i].Error())})
			continue
		}
		ok = append(ok, got[i])
		names = append(names, n.Name)
	}
	slices.Sort(names)
	slices.SortFunc(missing, func(a, b api.MissingNode) int { return strings.Compare(a.Node, b.Node) })
	return ok, names, missing
}

// getFleetStats answers GET /stats/?fleet=1: every host's counters summed
// over the live nodes.
func (s *Server) getFleetStats(w http.ResponseWriter, r *http.Request) int {
	nodes, aerr := s.nodes(r.Context())
	if aerr != nil {
		return writeError(w, aerr)
	}
	got, names, missing := collect(r.Context(), s, nodes, s.localStats,
		func(ctx context.Context, c *client.Client) (map[string]api.Stats, error) { return c.Stats(ctx) })
	sum := make(map[string]api.Stats)
	for _, m := range got {
		for host, st := range m {
			sum[host] = addStats(sum[host], st)
		}
	}
	return writeJSON(w, api.FleetStats{Stats: sum, Nodes: names, Missing: missing})
}

// getFleetHostStats answers GET /stats/HOST/?fleet=1: host's counters
// summed over the live nodes, {} when none has any.
func (s *Server) getFleetHostStats(w http.ResponseWriter, r *http.Request, host string) int {
	key, err := hostmap.NormalizeKey(host)
	if err != nil {
		return writeError(w, &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: host})
	}
	nodes, aerr := s.nodes(r.Context())
	if aerr != nil {
		return writeError(w, aerr)
	}
	type hostStats struct {
		st  api.Stats
		has bool
	}
	got, names, missing := collect(r.Context(), s, nodes,
		func() hostStats { st, has := s.localHostStats(key); return hostStats{st, has} },
		func(ctx context.Context, c *client.Client) (hostStats, error) {
			st, has, err := c.HostStats(ctx, key)
			return hostStats{st, has}, err
		})
	var sum api.Stats
	has := false
	for _, h := range got {
		if h.has {
			sum, has = addStats(sum, h.st), true
		}
	}
	body := []byte("{}")
	if has {
		body, _ = sonic.Marshal(sum)
	}
	return writeJSON(w, api.FleetHostStats{Stats: body, Nodes: names, Missing: missing})
}

// localStats returns this node's GET /stats/ as a map.
func (s *Server) localStats() map[string]api.Stats {
	list := s.statsList()
	m := make(map[string]api.Stats, len(list))
	for _, e := range list {
		m[e.key] = statsOf(s.table.Counts(e.stat))
	}
	return m
}

// localHostStats returns this node's counters of the normalised key, and
// whether it has any (GET /stats/HOST/ answers {} when not).
func (s *Server) localHostStats(key string) (api.Stats, bool) {
	if h, ok := s.table.Get(key); ok {
		return statsOf(s.table.Counts(h.Stat)), true
	}
	if key == state.UnknownHost {
		return statsOf(s.table.Counts(0)), true
	}
	return api.Stats{}, false
}

// addStats returns a + b, counter by counter.
func addStats(a, b api.Stats) api.Stats {
	return api.Stats{
		OpenRequests:      a.OpenRequests + b.OpenRequests,
		CompletedRequests: a.CompletedRequests + b.CompletedRequests,
		BytesSent:         a.BytesSent + b.BytesSent,
		BytesReceived:     a.BytesReceived + b.BytesReceived,
	}
}
