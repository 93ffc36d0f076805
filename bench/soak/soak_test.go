package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildMantrid builds cmd/mantrid into a temporary folder, with -race when
// this test binary has the race detector.
func buildMantrid(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", filepath.Join(dir, "mantrid")}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "../../cmd/mantrid")...).CombinedOutput()
	require.NoError(t, err, "building mantrid: %s", out)
	return filepath.Join(dir, "mantrid")
}

// TestSoakShort is `make soak` in small, inside `make test`: 20 s of Go
// clients (no wrk) while the rule flips spin → backend restart → proxy at
// least twice; every request must get its own 200, nothing lost or
// duplicated, Mantrid's counters exact, open_requests back to 0,
// resources flat, and Mantrid must exit 0 with nothing in its log.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s soak; skipped with -short")
	}
	o := defaultOptions()
	o.mantrid = buildMantrid(t)
	o.duration, o.clients, o.flip, o.down = 20*time.Second, 8, 5*time.Second, 800*time.Millisecond
	o.wrk, o.sample, o.progress = false, time.Second, 0
	var out bytes.Buffer
	start := time.Now()
	r, err := run(t.Context(), o, &out)
	t.Logf("soak took %s:\n%s", time.Since(start).Round(time.Millisecond), out.String())
	require.NoError(t, err)
	assert.Empty(t, r.violations, "violations (summary above)")
	assert.GreaterOrEqual(t, r.fl.cycles, 2, "spin cycles")
	assert.GreaterOrEqual(t, r.be.restarts.Load(), int64(2), "backend restarts")
	assert.Positive(t, r.totals.sent, "requests sent")
	assert.Equal(t, r.totals.sent, r.totals.ok, "requests answered 200 with their own id")
	for k, n := range r.totals.kinds {
		assert.Positive(t, n, "requests of kind %s", kindNames[k])
	}
	assert.NotEmpty(t, r.flat, "flatness verdicts")
}

// TestSoakRefusesMissingBinary: a wrong -mantrid is an error before
// anything starts.
func TestSoakRefusesMissingBinary(t *testing.T) {
	o := defaultOptions()
	o.mantrid = filepath.Join(t.TempDir(), "nope")
	_, err := run(context.Background(), o, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mantrid binary")
	_, statErr := os.Stat(o.mantrid)
	assert.True(t, os.IsNotExist(statErr))
}
