package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcessLifecycle(t *testing.T) {
	var cmds []string
	log := filepath.Join(t.TempDir(), "sleep.log")
	p, err := startProcess("sleep", log, []string{"sleep", "30"}, &cmds)
	require.NoError(t, err)
	t.Cleanup(p.kill)
	assert.Positive(t, p.rssKB(), "VmRSS of a running process")
	assert.False(t, p.started.IsZero())
	_ = p.io()
	took, clean := p.stopWithin(10 * time.Second)
	assert.True(t, clean, "sleep ends on SIGTERM")
	assert.Less(t, took, 5*time.Second)
	assert.True(t, p.exited())
	_, clean = p.stopWithin(time.Second)
	assert.False(t, clean, "a second stop finds it gone")

	again, err := startProcess("sleep", log, []string{"sleep", "30"}, &cmds)
	require.NoError(t, err)
	again.kill()
	assert.True(t, again.exited())
	assert.Contains(t, again.exitStatus(), "killed")
	assert.Equal(t, []string{"sleep 30"}, cmds, "a command started twice is recorded once")
}
