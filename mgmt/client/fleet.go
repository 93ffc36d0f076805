package client

import (
	"context"
	"net/http"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/mgmt/api"
)

// Nodes returns the live nodes of the fleet (GET /fleet/), sorted by name,
// the one that answered marked Self. A Mantrid without etcd lists itself
// alone.
func (c *Client) Nodes(ctx context.Context) ([]api.Node, error) {
	var fl api.Fleet
	if err := c.do(ctx, request{method: http.MethodGet, path: api.FleetPath, out: &fl}); err != nil {
		return nil, err
	}
	if fl.Nodes == nil {
		return nil, &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the fleet has no nodes list"}
	}
	return fl.Nodes, nil
}

// FleetStats returns every host's counters summed over the fleet's live
// nodes (GET /stats/?fleet=1), with the nodes summed and those that did not
// answer. Missing is never nil.
func (c *Client) FleetStats(ctx context.Context) (*api.FleetStats, error) {
	var fs api.FleetStats
	if err := c.do(ctx, request{method: http.MethodGet, path: api.StatsPath + "?" + api.FleetQuery, out: &fs}); err != nil {
		return nil, err
	}
	if fs.Stats == nil {
		return nil, &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the fleet's stats are not a JSON object"}
	}
	if fs.Missing == nil {
		fs.Missing = []api.MissingNode{}
	}
	return &fs, nil
}

// FleetHostStats returns host's counters summed over the fleet's live
// nodes (GET /stats/HOST/?fleet=1), as a FleetStats whose Stats holds host
// alone, or nothing when no node that answered has counters for it.
func (c *Client) FleetHostStats(ctx context.Context, host string) (*api.FleetStats, error) {
	path, err := hostPath(api.StatsPath, host)
	if err != nil {
		return nil, err
	}
	var fh api.FleetHostStats
	if err := c.do(ctx, request{method: http.MethodGet, path: path + "?" + api.FleetQuery, out: &fh}); err != nil {
		return nil, err
	}
	var fields map[string]any
	var st api.Stats
	if sonic.Unmarshal(fh.Stats, &fields) != nil || fields == nil || sonic.Unmarshal(fh.Stats, &st) != nil {
		return nil, &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the fleet's stats are not a JSON object of counters"}
	}
	fs := &api.FleetStats{Stats: map[string]api.Stats{}, Nodes: fh.Nodes, Missing: fh.Missing}
	if len(fields) > 0 {
		fs.Stats[host] = st
	}
	if fs.Missing == nil {
		fs.Missing = []api.MissingNode{}
	}
	return fs, nil
}
