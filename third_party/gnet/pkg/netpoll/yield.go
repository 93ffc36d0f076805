// Copyright (c) 2026 The Mantrid Authors. Mantrid patch; see PATCHES.md.

package netpoll

import "time"

// yieldEvery is how often an event loop calls runtime.Gosched. Stock gnet
// yields every time epoll_wait finds nothing, before it blocks. On a loop
// locked to its OS thread (gnet.WithLockOSThread) each yield hands the
// thread's P to another thread and back: two futex wake-ups and two context
// switches. Never yielding is worse: Go's sysmon sees a goroutine that has
// not been rescheduled for 10 ms (forcePreemptNS), takes its P in the
// middle of a system call or preempts it with a signal, and then polls
// every 20 µs for a while. Yielding every few milliseconds keeps sysmon
// quiet at a cost of a few hundred hand-offs a second.
const yieldEvery = 4 * time.Millisecond

// yieldDue reports whether the loop should yield now, and if so restarts
// the interval.
func yieldDue(last *time.Time) bool {
	now := time.Now()
	if now.Sub(*last) < yieldEvery {
		return false
	}
	*last = now
	return true
}
