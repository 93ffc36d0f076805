package store

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

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
	lp.Run(func() {
		inside = niceOfThisThread(t)
		during = runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		wg.Go(func() {
			lp.Run(func() { assert.Equal(t, procs+1, runtime.GOMAXPROCS(0), "a nested call lends no more") })
		})
		wg.Wait()
	})
	assert.Equal(t, "19", inside, "bulk work runs at nice 19")
	assert.Equal(t, procs+1, during, "one more P while bulk work runs")
	assert.Equal(t, procs, runtime.GOMAXPROCS(0), "GOMAXPROCS given back")
	assert.PanicsWithValue(t, "boom", func() { lp.Run(func() { panic("boom") }) }, "a panic comes back to the caller")
	assert.Equal(t, procs, runtime.GOMAXPROCS(0), "GOMAXPROCS given back after a panic")
	var none *LowPriority
	ran := false
	none.Run(func() { ran = true })
	assert.True(t, ran, "a nil LowPriority runs fn")
}
