package client

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/mgmt/api"
)

// Stats returns every host's counters (GET /stats/), keyed by rule hostname
// ("unknown" counts requests that matched no rule). The map is the
// caller's.
func (c *Client) Stats(ctx context.Context) (map[string]api.Stats, error) {
	var stats map[string]api.Stats
	if err := c.do(ctx, request{method: http.MethodGet, path: api.StatsPath, out: &stats}); err != nil {
		return nil, err
	}
	if stats == nil { // the answer was null
		return nil, &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the stats are not a JSON object"}
	}
	return stats, nil
}

// HostStats returns host's counters (GET /stats/HOST/) and whether the
// server has any: it reports false, with zero Stats, when the server
// answers {} (no such rule, or no traffic counted yet).
func (c *Client) HostStats(ctx context.Context, host string) (api.Stats, bool, error) {
	path, err := hostPath(api.StatsPath, host)
	if err != nil {
		return api.Stats{}, false, err
	}
	var raw json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: path, out: &raw}); err != nil {
		return api.Stats{}, false, err
	}
	var fields map[string]json.RawMessage
	var st api.Stats
	if sonic.Unmarshal(raw, &fields) != nil || fields == nil || sonic.Unmarshal(raw, &st) != nil {
		return api.Stats{}, false, &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the stats are not a JSON object of counters"}
	}
	return st, len(fields) > 0, nil
}
