package store

import (
	"runtime"
	"sync"
	"syscall"
)

// lowestPriority is the nice value of bulk work: the lowest the kernel
// schedules.
const lowestPriority = 19

// LowPriority runs bulk work — reading and checking a million rules,
// writing their snapshot — so that it takes the CPU only when the event
// loops and the other threads of the machine do not want it, and does not
// add to the latency of the requests being served meanwhile. A process
// needs one, shared by everything that runs bulk work (GOMAXPROCS is the
// process's). The zero value is ready; it is safe for concurrent use.
type LowPriority struct {
	mu    sync.Mutex
	n     int // Run calls under way
	procs int // GOMAXPROCS before the first of them
}

// Run runs fn on an OS thread of its own at the lowest scheduling priority
// (nice 19) and returns when fn has returned. The thread ends with fn (a
// process that may not raise a thread's priority back could not reuse it).
// Where the priority cannot be lowered, fn still runs, at the usual
// priority. A nil *LowPriority runs fn as it is.
//
// While fn runs, the runtime has one more P (GOMAXPROCS) than before: the
// kernel may leave the low-priority thread waiting for a CPU while it
// holds a P, and without a spare one the event loops' threads, coming back
// from epoll_wait, would wait for a P behind it (with GOMAXPROCS at the
// number of CPUs this took the keep-alive p99 during a bulk PUT of 10^6
// rules from 3 ms to up to 29 ms; with the spare P, 6-7 ms).
func (lp *LowPriority) Run(fn func()) {
	if lp == nil {
		fn()
		return
	}
	lp.lend()
	defer lp.giveBack()
	done := make(chan any, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		defer func() { done <- recover() }()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), lowestPriority)
		fn()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}

// lend raises GOMAXPROCS by one for the first Run under way.
func (lp *LowPriority) lend() {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.n++; lp.n == 1 {
		lp.procs = runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(lp.procs + 1)
	}
}

// giveBack restores GOMAXPROCS when the last Run ends.
func (lp *LowPriority) giveBack() {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if lp.n--; lp.n == 0 {
		runtime.GOMAXPROCS(lp.procs)
	}
}
