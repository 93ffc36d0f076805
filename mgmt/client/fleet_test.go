package client

import (
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNodes(t *testing.T) {
	c, f := newTestClient(t, answer{Status: 200, Body: `{"nodes":[
		{"name":"a","url":"http://10.0.0.1:8042","started":"2026-01-02T03:04:05Z","revision":12,"self":true},
		{"name":"b","url":"http://10.0.0.2:8042","started":"2026-01-02T03:04:06Z","revision":11,"self":false}]}`},
		answer{Status: 200, Body: `{}`},
		answer{Status: 503, Body: `{"error":"fleet_unavailable","detail":"etcd is down"}`})
	nodes, err := c.Nodes(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []api.Node{
		{Name: "a", URL: "http://10.0.0.1:8042", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Revision: 12, Self: true},
		{Name: "b", URL: "http://10.0.0.2:8042", Started: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC), Revision: 11},
	}, nodes)
	assert.Equal(t, []recorded{{Method: "GET", URI: "/fleet/"}}, f.requests())

	_, err = c.Nodes(t.Context())
	assert.ErrorContains(t, err, "the fleet has no nodes list")
	_, err = c.Nodes(t.Context())
	assert.ErrorContains(t, err, "fleet_unavailable: etcd is down")
}

func TestFleetStats(t *testing.T) {
	c, f := newTestClient(t, answer{Status: 200, Body: `{"stats":{"ep.io":{"open_requests":1,"completed_requests":20,"bytes_sent":3000,"bytes_received":400}},
		"nodes":["a","b"],"missing":[{"node":"c","url":"http://10.0.0.3:8042","error":"timed out"}]}`},
		answer{Status: 200, Body: `{"nodes":[]}`})
	fs, err := c.FleetStats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, &api.FleetStats{
		Stats:   map[string]api.Stats{"ep.io": {OpenRequests: 1, CompletedRequests: 20, BytesSent: 3000, BytesReceived: 400}},
		Nodes:   []string{"a", "b"},
		Missing: []api.MissingNode{{Node: "c", URL: "http://10.0.0.3:8042", Error: "timed out"}},
	}, fs)
	assert.Equal(t, []recorded{{Method: "GET", URI: "/stats/?fleet=1"}}, f.requests())
	_, err = c.FleetStats(t.Context())
	assert.ErrorContains(t, err, "not a JSON object")
}

func TestFleetHostStats(t *testing.T) {
	tests := []struct {
		name, host, answer, wantURI, wantErr string
		want                                 map[string]api.Stats
	}{
		{name: "counted", host: "http://ep.io", answer: `{"stats":{"open_requests":2,"completed_requests":3,"bytes_sent":4,"bytes_received":5},"nodes":["a"],"missing":[]}`,
			wantURI: "/stats/http:%2F%2Fep.io/?fleet=1", want: map[string]api.Stats{"http://ep.io": {OpenRequests: 2, CompletedRequests: 3, BytesSent: 4, BytesReceived: 5}}},
		{name: "none", host: "nope.io", answer: `{"stats":{},"nodes":["a"],"missing":[]}`, wantURI: "/stats/nope.io/?fleet=1", want: map[string]api.Stats{}},
		{name: "no stats", host: "nope.io", answer: `{"nodes":["a"]}`, wantURI: "/stats/nope.io/?fleet=1", wantErr: "not a JSON object of counters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newTestClient(t, answer{Status: 200, Body: tt.answer})
			fs, err := c.FleetHostStats(t.Context(), tt.host)
			assert.Equal(t, []recorded{{Method: "GET", URI: tt.wantURI}}, f.requests(), "FleetHostStats(%q)", tt.host)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, fs.Stats)
			assert.Equal(t, []string{"a"}, fs.Nodes)
			assert.Equal(t, []api.MissingNode{}, fs.Missing)
		})
	}
}
