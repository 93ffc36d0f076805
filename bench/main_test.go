package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOptionsCheck(t *testing.T) {
	ok := options{rounds: 1, duration: time.Second, hosts: 1, crashN: 1}
	cases := []struct {
		name string
		edit func(*options)
		err  string
	}{
		{"defaults", func(*options) {}, ""},
		{"known scenarios", func(o *options) { o.only = "hosts1m,churn,bulk1m,crash,ka64" }, ""},
		{"unknown scenario", func(o *options) { o.only = "hosts1m,hosts" }, `unknown scenario "hosts"`},
		{"no hosts", func(o *options) { o.hosts = 0 }, "-hosts"},
		{"no crash rounds", func(o *options) { o.crashN = 0 }, "-crash-rounds"},
		{"short runs", func(o *options) { o.duration = time.Millisecond }, "-d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := ok
			c.edit(&o)
			err := o.check()
			if c.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, c.err)
			}
		})
	}
}

func TestWants(t *testing.T) {
	o := options{only: "crash"}
	assert.False(t, o.wantsMantrid(), "crash starts its own Mantrid")
	assert.False(t, o.wantsPeers())
	o.only = "spin"
	assert.True(t, o.wantsMantrid())
	assert.False(t, o.wantsPeers())
	o.only = ""
	assert.True(t, o.wantsPeers())
	assert.True(t, o.wants("bulk1m"))
}

func TestReportBase(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, "2026-12-03", reportBase(options{}, now))
	assert.Equal(t, "2026-12-03-quick", reportBase(options{quick: true}, now))
	assert.Equal(t, "2026-12-03-hosts1m+churn", reportBase(options{only: "hosts1m,churn"}, now))
}
