package client

import (
	"testing"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStats(t *testing.T) {
	c, f := newTestClient(t, answer{Status: 200, Body: `{"ep.io":{"open_requests":1,"completed_requests":20,"bytes_sent":3000,"bytes_received":400},"unknown":{"open_requests":0,"completed_requests":5,"bytes_sent":50,"bytes_received":60}}`})
	stats, err := c.Stats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, map[string]api.Stats{
		"ep.io":   {OpenRequests: 1, CompletedRequests: 20, BytesSent: 3000, BytesReceived: 400},
		"unknown": {CompletedRequests: 5, BytesSent: 50, BytesReceived: 60},
	}, stats)
	assert.Equal(t, []recorded{{Method: "GET", URI: "/stats/"}}, f.requests())
}

func TestHostStats(t *testing.T) {
	tests := []struct {
		name, host, answer, wantURI, wantErr string
		want                                 api.Stats
		wantOK                               bool
	}{
		{name: "counted", host: "ep.io", answer: `{"open_requests":2,"completed_requests":3,"bytes_sent":4,"bytes_received":5}`,
			wantURI: "/stats/ep.io/", want: api.Stats{OpenRequests: 2, CompletedRequests: 3, BytesSent: 4, BytesReceived: 5}, wantOK: true},
		{name: "all zero is still counted", host: "http://ep.io", answer: `{"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0}`,
			wantURI: "/stats/http:%2F%2Fep.io/", wantOK: true},
		{name: "none", host: "nope.io", answer: `{}`, wantURI: "/stats/nope.io/"},
		{name: "null", host: "nope.io", answer: `null`, wantURI: "/stats/nope.io/", wantErr: "the stats are not a JSON object"},
		{name: "wrong type", host: "nope.io", answer: `{"open_requests":"x"}`, wantURI: "/stats/nope.io/", wantErr: "the stats are not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newTestClient(t, answer{Status: 200, Body: tt.answer})
			st, ok, err := c.HostStats(t.Context(), tt.host)
			assert.Equal(t, []recorded{{Method: "GET", URI: tt.wantURI}}, f.requests(), "HostStats(%q)", tt.host)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr, "HostStats(%q) with answer %s", tt.host, tt.answer)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, st, "HostStats(%q) with answer %s", tt.host, tt.answer)
			assert.Equal(t, tt.wantOK, ok, "HostStats(%q) with answer %s", tt.host, tt.answer)
		})
	}
}
