package store

import (
	"runtime"
	"syscall"
)

// lowestPriority is the nice value of bulk work: the lowest the kernel
// schedules.
const lowestPriority = 19

// LowPriority runs fn on an OS thread of its own at the lowest scheduling
// priority (nice 19) and returns when fn has returned: bulk work —
// reading and checking a million rules, writing their snapshot — then
// takes the CPU only when the event loops and the other threads of the
// machine do not want it, so that it does not add to the latency of the
// requests being served meanwhile. The thread ends with fn (a process that
// may not raise a thread's priority back could not reuse it). Where the
// priority cannot be lowered, fn still runs, at the usual priority.
func LowPriority(fn func()) {
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
