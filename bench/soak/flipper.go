package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// flipper flips the soak host's rule like a deploy, in a loop: proxy for
// every, then spin; once spin has been live for settle and the backend has
// had no new request for settle (see waitQuiet), the backend is stopped
// (requests under way finish, idle connections are closed), stays down
// for a random time between down/4 and down, is started again on its port,
// and the rule goes back to proxy, which hands the held requests to the
// backend. It runs in one goroutine; its fields are read after run
// returns.
type flipper struct {
	api                 *apiClient
	be                  *backend
	host, proxy         string
	every, down, settle time.Duration
	rng                 *rand.Rand
	cycles              int
	holds, downs, stops []time.Duration // per cycle: spin to proxy, backend down, graceful stop
	puts                []time.Duration // every PUT of a rule
	quiets              []time.Duration // per cycle: waiting for the backend to fall quiet
	notQuiet            int             // cycles where it did not within quietLimit
	errs                []string
	spinPUTs, proxyPUTs int
	start               time.Time // of the load
	events              []flipEvent
}

// flipEvent is a step of a cycle, for the timeline printed next to
// problems.
type flipEvent struct {
	at   time.Duration // since the load started
	what string
}

// event records a step.
func (f *flipper) event(what string) {
	f.events = append(f.events, flipEvent{at: time.Since(f.start), what: what})
}

// apiTimeout bounds each API call of the flipper.
const apiTimeout = 30 * time.Second

// run flips until stop is closed; a cycle under way is completed, so the
// rule is proxy and the backend up when run returns.
func (f *flipper) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(f.every):
		}
		f.cycle()
	}
}

// cycle is one spin → restart → proxy round.
func (f *flipper) cycle() {
	start := time.Now()
	f.event("setting spin")
	if err := f.put(spinRule); err != nil {
		f.errs = append(f.errs, fmt.Sprintf("cycle %d: setting spin: %v", f.cycles+1, err))
		return
	}
	f.be.spinLive.Store(time.Now().UnixNano())
	f.spinPUTs++
	f.event("spin set")
	time.Sleep(f.settle)
	f.quiets = append(f.quiets, f.waitQuiet())
	f.event("backend stopping")
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	t := time.Now()
	snap, err := f.be.stop(ctx)
	if err != nil {
		f.errs = append(f.errs, fmt.Sprintf("cycle %d: backend did not stop gracefully within %s: %v", f.cycles+1, apiTimeout, err))
	}
	cancel()
	f.stops = append(f.stops, time.Since(t))
	f.event("backend stopped; it had " + snap.String())
	down := f.down/4 + time.Duration(f.rng.Int64N(int64(f.down*3/4)+1))
	time.Sleep(down)
	for {
		err := f.be.start()
		if err == nil {
			break
		}
		f.errs = append(f.errs, fmt.Sprintf("cycle %d: %v", f.cycles+1, err))
		time.Sleep(time.Second)
	}
	f.downs = append(f.downs, time.Since(t))
	f.event("backend started")
	f.be.spinLive.Store(0)
	for try := 1; ; try++ {
		err := f.put(f.proxy)
		if err == nil {
			break
		}
		f.errs = append(f.errs, fmt.Sprintf("cycle %d: setting proxy (try %d): %v", f.cycles+1, try, err))
		time.Sleep(time.Second)
	}
	f.proxyPUTs++
	f.event("proxy set")
	f.holds = append(f.holds, time.Since(start))
	f.cycles++
}

// quietLimit bounds waitQuiet.
const quietLimit = 10 * time.Second

// waitQuiet waits until no request has reached the backend for f.settle
// and none is being answered, so that requests Mantrid routed to the
// backend just before spin went live are served rather than cut by the
// stop (a backend closing an idle keep-alive connection can race with a
// request on it, and Mantrid rightly never resends a request that may have
// reached a backend). It gives up after quietLimit and returns how long
// it waited.
func (f *flipper) waitQuiet() time.Duration {
	start := time.Now()
	for {
		idle := time.Duration(time.Now().UnixNano() - f.be.lastArrival.Load())
		if idle >= f.settle && f.be.active.Load() == 0 {
			return time.Since(start)
		}
		if time.Since(start) > quietLimit {
			f.notQuiet++
			f.event(fmt.Sprintf("backend not quiet after %s; stopping anyway", quietLimit))
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// put sets the host's rule.
func (f *flipper) put(rule string) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	start := time.Now()
	err := f.api.putRule(ctx, f.host, rule)
	f.puts = append(f.puts, time.Since(start))
	return err
}
