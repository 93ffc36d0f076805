package main

import (
	"testing"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
)

var sampleStats = map[string]api.Stats{
	"ep.io":          {OpenRequests: 2, CompletedRequests: 1042, BytesSent: 9120334, BytesReceived: 230112},
	"http://ep.io":   {CompletedRequests: 7, BytesSent: 1400, BytesReceived: 560},
	"unknown":        {CompletedRequests: 3, BytesSent: 300, BytesReceived: 200},
	"top-secret.com": {},
}

const statsHeader = "HOST                                OPEN        COMPLETED   BYTES IN    BYTES OUT  \n"

func TestStats(t *testing.T) {
	f := newFakeAPI(t, nil, sampleStats)
	tests := []struct {
		name    string
		args    []string
		want    string
		wantURI string
	}{
		// Rows generated with Python's "%-35s %-11s %-11s %-11s %-11s".
		{name: "all", args: []string{"stats"}, wantURI: "/stats/", want: statsHeader +
			"ep.io                               2           1042        230112      9120334    \n" +
			"http://ep.io                        0           7           560         1400       \n" +
			"top-secret.com                      0           0           0           0          \n" +
			"unknown                             0           3           200         300        \n"},
		{name: "one host", args: []string{"stats", "ep.io"}, wantURI: "/stats/ep.io/", want: statsHeader +
			"ep.io                               2           1042        230112      9120334    \n"},
		{name: "protocol-qualified host", args: []string{"stats", "http://ep.io"}, wantURI: "/stats/http:%2F%2Fep.io/", want: statsHeader +
			"http://ep.io                        0           7           560         1400       \n"},
		{name: "host without stats", args: []string{"stats", "nope.io"}, wantURI: "/stats/nope.io/", want: statsHeader},
		{name: "json", args: []string{"--json", "stats"}, wantURI: "/stats/", want: `{
  "ep.io": {"open_requests":2,"completed_requests":1042,"bytes_sent":9120334,"bytes_received":230112},
  "http://ep.io": {"open_requests":0,"completed_requests":7,"bytes_sent":1400,"bytes_received":560},
  "top-secret.com": {"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0},
  "unknown": {"open_requests":0,"completed_requests":3,"bytes_sent":300,"bytes_received":200}
}
`},
		{name: "json, one host", args: []string{"stats", "--json", "ep.io"}, wantURI: "/stats/ep.io/",
			want: `{"open_requests":2,"completed_requests":1042,"bytes_sent":9120334,"bytes_received":230112}` + "\n"},
		{name: "json, host without stats", args: []string{"stats", "--json", "nope.io"}, wantURI: "/stats/nope.io/", want: "{}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			res := runAt(t, f, tt.args...)
			assert.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Equal(t, tt.want, res.stdout, "args %q", tt.args)
			assert.Empty(t, res.stderr, "args %q", tt.args)
			assert.Equal(t, []request{{Method: "GET", URI: tt.wantURI}}, f.requests()[before:], "args %q", tt.args)
		})
	}
}
