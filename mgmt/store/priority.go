package store

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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
// priority. fn should call p.Pace now and then (see Pacer). A nil
// *LowPriority runs fn as it is, with a nil Pacer.
//
// While fn runs, the runtime has one more P (GOMAXPROCS) than before: the
// kernel may leave the low-priority thread waiting for a CPU while it
// holds a P, and without a spare one the event loops' threads, coming back
// from epoll_wait, would wait for a P behind it (with GOMAXPROCS at the
// number of CPUs this took the keep-alive p99 during a bulk PUT of 10^6
// rules from 3 ms to up to 29 ms; with the spare P, 6-7 ms).
func (lp *LowPriority) Run(fn func(p *Pacer)) {
	if lp == nil {
		fn(nil)
		return
	}
	lp.lend()
	defer lp.giveBack()
	done := make(chan any, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		defer func() { done <- recover() }()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), lowestPriority)
		fn(newPacer())
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

// Pacer makes bulk work yield to traffic. A low priority alone does not
// keep it out of the way: on this project's 2-CPU virtual machines a
// nice-19 thread that computes flat out still took a fifth of the event
// loop's keep-alive throughput and raised its p99 by half (a quarter of a
// CPU: neither), and a bulk PUT of 10^6 rules doubled the p99. So bulk work
// calls Pace every few items; while the rest of the machine is busy (other
// threads and processes using more than half of its CPUs, from
// /proc/stat), Pace lets it work 5 ms and then rest 15 ms, a quarter of a
// CPU; on a quiet machine it never rests. Each Run has its own Pacer, used
// only by fn's goroutine. A nil *Pacer never rests.
type Pacer struct {
	calls     int
	slice     time.Time     // when the current slice of work began
	window    time.Time     // when the current load reading began
	busy, all uint64        // /proc/stat's busy and total ticks then
	own       time.Duration // this thread's CPU time then
	throttled bool
	blind     bool // /proc/stat is unreadable: never rest
	rests     int  // how many times Pace rested

	// The load and this thread's CPU time; tests replace them.
	ticks func() (busy, all uint64, ok bool)
	cpu   func() time.Duration
}

// newPacer returns a Pacer reading the machine's load.
func newPacer() *Pacer { return &Pacer{ticks: cpuTicks, cpu: threadCPU} }

const (
	paceEvery  = 64                     // Pace calls between clock reads
	paceSlice  = 5 * time.Millisecond   // work between rests while throttled
	paceRest   = 15 * time.Millisecond  // each rest: a quarter of a CPU
	paceWindow = 100 * time.Millisecond // how often the machine's load is read
	paceBusy   = 0.5                    // others' share of the CPUs that throttles
)

// Pace is called by bulk work between items; it returns at once, or after
// a rest when the machine is busy with other work.
func (p *Pacer) Pace() {
	if p == nil || p.blind {
		return
	}
	if p.calls++; p.calls%paceEvery != 0 {
		return
	}
	now := time.Now()
	if p.window.IsZero() {
		p.slice = now
		p.startWindow(now)
		return
	}
	if now.Sub(p.window) >= paceWindow {
		p.throttled = p.othersBusy() > paceBusy
		p.startWindow(now)
	}
	if p.throttled && now.Sub(p.slice) >= paceSlice {
		time.Sleep(paceRest)
		p.rests++
		p.slice = time.Now()
	}
}

// startWindow starts a load reading at now.
func (p *Pacer) startWindow(now time.Time) {
	var ok bool
	if p.busy, p.all, ok = p.ticks(); !ok {
		p.blind = true
	}
	p.own, p.window = p.cpu(), now
}

// othersBusy returns the share of the machine's CPU time since the window
// began that went to other threads than this one.
func (p *Pacer) othersBusy() float64 {
	busy, all, ok := p.ticks()
	if !ok || all <= p.all {
		return 0
	}
	share := float64(busy-p.busy) / float64(all-p.all)
	elapsed := time.Since(p.window) * time.Duration(max(runtime.NumCPU(), 1))
	if elapsed > 0 {
		share -= float64(p.cpu()-p.own) / float64(elapsed)
	}
	return share
}

// cpuTicks reads the machine's busy and total CPU ticks from the first
// line of /proc/stat (proc(5)): busy is everything but idle and iowait.
func cpuTicks() (busy, all uint64, ok bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var buf [256]byte
	n, _ := f.Read(buf[:])
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		all += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, all, true
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is Linux's RUSAGE_THREAD (getrusage(2)).
const rusageThread = 1
