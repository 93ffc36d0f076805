package store

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// niceOfThisThread reads the nice value of the calling thread.
func niceOfThisThread(t *testing.T) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", syscall.Gettid()))
	require.NoError(t, err)
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	return fields[16] // field 19 of stat, counted after the command
}

func TestLowPriority(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	var lp LowPriority
	var inside string
	var during int
	lp.Run(func(p *Pacer) {
		require.NotNil(t, p, "bulk work gets a Pacer")
		inside = niceOfThisThread(t)
		during = runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		wg.Go(func() {
			lp.Run(func(*Pacer) { assert.Equal(t, procs+1, runtime.GOMAXPROCS(0), "a nested call lends no more") })
		})
		wg.Wait()
	})
	assert.Equal(t, "19", inside, "bulk work runs at nice 19")
	assert.Equal(t, procs+1, during, "one more P while bulk work runs")
	assert.Equal(t, procs, runtime.GOMAXPROCS(0), "GOMAXPROCS given back")
	assert.PanicsWithValue(t, "boom", func() { lp.Run(func(*Pacer) { panic("boom") }) }, "a panic comes back to the caller")
	assert.Equal(t, procs, runtime.GOMAXPROCS(0), "GOMAXPROCS given back after a panic")
	var none *LowPriority
	ran := false
	none.Run(func(p *Pacer) {
		ran = true
		assert.Nil(t, p)
		p.Pace() // a nil Pacer never rests
	})
	assert.True(t, ran, "a nil LowPriority runs fn")
}

// TestPacer checks that bulk work rests while other work keeps more than
// half of the machine busy, and only then, on a simulated load.
func TestPacer(t *testing.T) {
	for _, tc := range []struct {
		others float64
		rests  bool
	}{{0.9, true}, {0.6, true}, {0.3, false}, {0, false}} {
		var all uint64
		p := &Pacer{
			ticks: func() (uint64, uint64, bool) { all += 100; return uint64(tc.others * float64(all)), all, true },
			cpu:   func() time.Duration { return 0 },
		}
		start := time.Now()
		for time.Since(start) < 400*time.Millisecond {
			p.Pace()
		}
		if tc.rests {
			// 300 ms throttled at most a quarter of the time working.
			assert.Greater(t, p.rests, 5, "others at %.0f %%: rests", 100*tc.others)
		} else {
			assert.Zero(t, p.rests, "others at %.0f %%: no rest", 100*tc.others)
		}
	}
	blind := &Pacer{ticks: func() (uint64, uint64, bool) { return 0, 0, false }, cpu: threadCPU}
	for range 10 * paceEvery {
		blind.Pace()
	}
	assert.True(t, blind.blind, "without /proc/stat the pacer never rests")
}

// TestPacerReadsTheMachine checks the real load and CPU time readers.
func TestPacerReadsTheMachine(t *testing.T) {
	busy, all, ok := cpuTicks()
	require.True(t, ok, "/proc/stat readable")
	assert.Greater(t, all, busy)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadCPU()
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
	}
	assert.Greater(t, threadCPU()-before, 10*time.Millisecond, "this thread's CPU time grows as it computes")
}
