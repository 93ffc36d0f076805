package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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

// State returns every rule and every host's counters (GET /state/), as
// export writes them. The maps are the caller's.
func (c *Client) State(ctx context.Context) (*api.State, error) {
	var st api.State
	if err := c.do(ctx, request{method: http.MethodGet, path: api.StatePath, out: &st}); err != nil {
		return nil, err
	}
	if st.Hosts == nil {
		return nil, &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the state has no hosts object"}
	}
	return &st, nil
}

// ImportState replaces every rule, and every host's counters, with those of
// the state document read from body (PUT /state/), streamed as Replace
// streams a bulk body. The server applies all or nothing.
func (c *Client) ImportState(ctx context.Context, body io.Reader) error {
	if body == nil {
		return errors.New("import: no body")
	}
	return c.do(ctx, request{method: http.MethodPut, path: api.StatePath, body: body, size: bodySize(body)})
}
