package main

import (
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
)

var sampleNodes = []api.Node{
	{Name: "lb1", URL: "http://10.0.0.1:8042", Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Revision: 1042, Self: true},
	{Name: "lb2", URL: "http://10.0.0.2:8042", Started: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC), Revision: 1041},
	{Name: "solo", Started: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)},
}

func TestNodes(t *testing.T) {
	f := newFakeAPI(t, nil, nil)
	f.nodes = sampleNodes
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "table", args: []string{"nodes"}, want: "" +
			"NAME                 URL                            STARTED              REVISION   SELF\n" +
			"lb1                  http://10.0.0.1:8042           2026-01-02T03:04:05Z 1042       yes\n" +
			"lb2                  http://10.0.0.2:8042           2026-01-02T03:05:00Z 1041       no\n" +
			"solo                 -                              2026-01-02T03:05:00Z 0          no\n"},
		{name: "json", args: []string{"nodes", "--json"}, want: `{"nodes":[` +
			`{"name":"lb1","url":"http://10.0.0.1:8042","started":"2026-01-02T03:04:05Z","revision":1042,"self":true},` +
			`{"name":"lb2","url":"http://10.0.0.2:8042","started":"2026-01-02T03:05:00Z","revision":1041,"self":false},` +
			`{"name":"solo","url":"","started":"2026-01-02T03:05:00Z","revision":0,"self":false}]}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			res := runAt(t, f, tt.args...)
			assert.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Equal(t, tt.want, res.stdout, "args %q", tt.args)
			assert.Empty(t, res.stderr)
			assert.Equal(t, []request{{Method: "GET", URI: "/fleet/"}}, f.requests()[before:])
		})
	}
	res := runAt(t, f, "nodes", "extra")
	assert.Equal(t, exitUsage, res.code, "nodes takes no arguments")
}

func TestStatsFleet(t *testing.T) {
	f := newFakeAPI(t, nil, sampleStats)
	f.nodes = sampleNodes[:2]
	tests := []struct {
		name, want, wantURI string
		args                []string
	}{
		{name: "all", args: []string{"stats", "--fleet"}, wantURI: "/stats/?fleet=1", want: statsHeader +
			"ep.io                               2           1042        230112      9120334    \n" +
			"http://ep.io                        0           7           560         1400       \n" +
			"top-secret.com                      0           0           0           0          \n" +
			"unknown                             0           3           200         300        \n"},
		{name: "one host", args: []string{"stats", "--fleet", "http://ep.io"}, wantURI: "/stats/http:%2F%2Fep.io/?fleet=1", want: statsHeader +
			"http://ep.io                        0           7           560         1400       \n"},
		{name: "host without stats", args: []string{"stats", "--fleet", "nope.io"}, wantURI: "/stats/nope.io/?fleet=1", want: statsHeader},
		{name: "json, one host", args: []string{"--json", "stats", "--fleet", "ep.io"}, wantURI: "/stats/ep.io/?fleet=1",
			want: `{"stats": {"open_requests":2,"completed_requests":1042,"bytes_sent":9120334,"bytes_received":230112},` + "\n" +
				`"nodes":["lb1","lb2"],"missing":[]}` + "\n"},
		{name: "json, host without stats", args: []string{"--json", "stats", "--fleet", "nope.io"}, wantURI: "/stats/nope.io/?fleet=1",
			want: `{"stats": {},` + "\n" + `"nodes":["lb1","lb2"],"missing":[]}` + "\n"},
		{name: "json", args: []string{"stats", "--json", "--fleet"}, wantURI: "/stats/?fleet=1", want: `{"stats": {
  "ep.io": {"open_requests":2,"completed_requests":1042,"bytes_sent":9120334,"bytes_received":230112},
  "http://ep.io": {"open_requests":0,"completed_requests":7,"bytes_sent":1400,"bytes_received":560},
  "top-secret.com": {"open_requests":0,"completed_requests":0,"bytes_sent":0,"bytes_received":0},
  "unknown": {"open_requests":0,"completed_requests":3,"bytes_sent":300,"bytes_received":200}
},
"nodes":["lb1","lb2"],"missing":[]}
`},
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

// TestStatsFleetMissing checks that a node left out of the sum is named on
// stderr and makes the exit status 1, after the table.
func TestStatsFleetMissing(t *testing.T) {
	f := newFakeAPI(t, nil, map[string]api.Stats{"ep.io": {CompletedRequests: 5}})
	f.nodes = sampleNodes[:2]
	f.missing = []api.MissingNode{{Node: "lb2", URL: "http://10.0.0.2:8042", Error: "cannot reach Mantrid at http://10.0.0.2:8042: timed out"}}
	res := runAt(t, f, "stats", "--fleet")
	assert.Equal(t, exitFailure, res.code)
	assert.Equal(t, statsHeader+"ep.io                               0           5           0           0          \n", res.stdout)
	assert.Equal(t, "mantrid-client: the sum leaves out 1 node that did not answer: lb2 (http://10.0.0.2:8042): "+
		"cannot reach Mantrid at http://10.0.0.2:8042: timed out\n", res.stderr)

	f.missing = append(f.missing, api.MissingNode{Node: "lb3", URL: "http://10.0.0.3:8042", Error: "unauthorized"})
	res = runAt(t, f, "stats", "--fleet", "--json", "ep.io")
	assert.Equal(t, exitFailure, res.code)
	assert.Contains(t, res.stdout, `"missing":[{"node":"lb2"`)
	assert.Contains(t, res.stderr, "the sum leaves out 2 nodes that did not answer: lb2 (")
	assert.Contains(t, res.stderr, "; lb3 (http://10.0.0.3:8042): unauthorized\n")
}
