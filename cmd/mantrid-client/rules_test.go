package main

import (
	"encoding/json"
	"testing"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
)

func TestGet(t *testing.T) {
	f := newFakeAPI(t, sampleRules, nil)
	tests := []struct {
		name                         string
		args                         []string
		wantURI, wantOut, wantStderr string
	}{
		{name: "rule", args: []string{"get", "top-secret.com"}, wantURI: "/hostname/top-secret.com/",
			wantOut: "[\"empty\",{\"code\":403},true]\n"},
		{name: "protocol-qualified", args: []string{"get", "http://ep.io"}, wantURI: "/hostname/http:%2F%2Fep.io/",
			wantOut: "[\"redirect\",{\"redirect_to\":\"https://ep.io\"},true]\n"},
		{name: "json", args: []string{"get", "--json", "ep.io"}, wantURI: "/hostname/ep.io/",
			wantOut: "[\"proxy\",{\"backends\":[[\"10.0.0.2\",8000],[\"::1\",8001]]},true]\n"},
		{name: "no rule", args: []string{"get", "nope.io"}, wantURI: "/hostname/nope.io/",
			wantOut: "null\n", wantStderr: "mantrid-client: nope.io has no rule\n"},
		{name: "no rule, json", args: []string{"--json", "get", "nope.io"}, wantURI: "/hostname/nope.io/", wantOut: "null\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			res := runAt(t, f, tt.args...)
			assert.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Equal(t, tt.wantOut, res.stdout, "args %q", tt.args)
			assert.Equal(t, tt.wantStderr, res.stderr, "args %q", tt.args)
			assert.Equal(t, []request{{Method: "GET", URI: tt.wantURI}}, f.requests()[before:], "args %q", tt.args)
		})
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantURI string
		wantOut string
	}{
		{name: "host", args: []string{"delete", "top-secret.com"}, wantURI: "/hostname/top-secret.com/"},
		{name: "protocol-qualified", args: []string{"delete", "http://ep.io"}, wantURI: "/hostname/http:%2F%2Fep.io/"},
		{name: "json", args: []string{"--json", "delete", "ep.io"}, wantURI: "/hostname/ep.io/", wantOut: "{\"ok\":true}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, sampleRules, nil)
			res := runAt(t, f, tt.args...)
			assert.Equal(t, exitOK, res.code, "args %q: stderr %q", tt.args, res.stderr)
			assert.Equal(t, tt.wantOut, res.stdout, "args %q", tt.args)
			assert.Empty(t, res.stderr, "args %q", tt.args)
			assert.Equal(t, []request{{Method: "DELETE", URI: tt.wantURI}}, f.requests(), "args %q", tt.args)
			assert.Len(t, f.snapshot(), len(sampleRules)-1, "args %q: one rule fewer", tt.args)
		})
	}
}

// sampleState is sampleRules with two hosts' counters, as export prints
// them: the first Mantrid's state file format.
const sampleState = `{"hosts": {
  "a-very-long-hostname-that-pushes-the-columns.example.com": ["unknown",{},false],
  "ep.io": ["proxy",{"backends":[["10.0.0.2",8000],["::1",8001]]},true],
  "http://ep.io": ["redirect",{"redirect_to":"https://ep.io"},true],
  "local.ep.io": ["spin",{},true],
  "localhost": ["empty",{"code":402},false],
  "maintenance.ep.io": ["static",{"type":"test"},false],
  "nohosts.example": ["no_hosts",{},false],
  "top-secret.com": ["empty",{"code":403},true]
},
"stats": {
  "ep.io": {"open_requests":1,"completed_requests":2,"bytes_sent":4,"bytes_received":3},
  "unknown": {"open_requests":0,"completed_requests":6,"bytes_sent":8,"bytes_received":7}
}}
`

// sampleCounters are the counters of sampleState.
var sampleCounters = map[string]api.Stats{
	"ep.io":   {OpenRequests: 1, CompletedRequests: 2, BytesReceived: 3, BytesSent: 4},
	"unknown": {CompletedRequests: 6, BytesReceived: 7, BytesSent: 8},
}

func TestExport(t *testing.T) {
	f := newFakeAPI(t, sampleRules, sampleCounters)
	for _, args := range [][]string{{"export"}, {"--json", "export"}} {
		res := runAt(t, f, args...)
		assert.Equal(t, exitOK, res.code, "args %q: stderr %q", args, res.stderr)
		assert.Equal(t, sampleState, res.stdout, "args %q", args)
		assert.Empty(t, res.stderr, "args %q", args)
		assert.True(t, json.Valid([]byte(res.stdout)), "export prints JSON")
	}
}
