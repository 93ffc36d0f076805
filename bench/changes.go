package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/mantrid/mantrid/bench/hostset"
)

// loaded is a proxy serving the standard rule set, as hosts1m and churn
// drive it: its target, how it changes one host's rule, and how it stops.
type loaded struct {
	t     *target
	ready time.Duration // from the exec to bench.test served; -1: not measured
	how   string        // how a rule change is made, for the tables
	// backToBack: changes run one after the other as fast as they go
	// (nginx reloads) instead of at a fixed rate.
	backToBack bool
	// change makes change k (a different standard host for each k) and
	// returns once the proxy serves it. It is called from one goroutine.
	change func(ctx context.Context, k int) error
	// check confirms that change k is served (nil: not checkable).
	check func(ctx context.Context, k int) error
	stop  func() (time.Duration, error)
}

// changedHost returns the standard host that change k touches: k steps
// of a large prime through the n hosts, so changes spread over the set.
func changedHost(k, n int) int { return (k*7919 + 1) % n }

// mapEdits tracks the backend names that changes gave to hosts of a map
// file, so that each change names a backend other than the current one.
// It is not safe for concurrent use.
type mapEdits struct {
	n, backends int
	current     map[int]int // host → backend number, where changed
}

// newMapEdits returns the edits of a map of n hosts over backends names.
func newMapEdits(n, backends int) *mapEdits {
	return &mapEdits{n: n, backends: backends, current: map[int]int{}}
}

// next returns the host of change k and the backend it now maps to.
func (m *mapEdits) next(k int) (host, backend string) {
	i := changedHost(k, m.n)
	cur, ok := m.current[i]
	if !ok {
		cur = i % m.backends
	}
	cur = (cur + 1) % m.backends
	m.current[i] = cur
	return hostset.Host(i), hostset.BackendName(cur)
}

// value returns the host of change k and the backend it maps to now.
func (m *mapEdits) value(k int) (host, backend string) {
	i := changedHost(k, m.n)
	cur, ok := m.current[i]
	if !ok {
		cur = i % m.backends
	}
	return hostset.Host(i), hostset.BackendName(cur)
}

// mantridLoaded describes a scale Mantrid for the change measurements:
// change k PUTs the host's rule with a new backend pair (the next hosts'
// addresses, port changedPort).
func (m *scaleMantrid) loaded(ready time.Duration) *loaded {
	n := m.e.o.hosts
	return &loaded{
		t: &m.t, ready: ready, how: "`PUT /hostname/HOST/` (REST API)",
		change: func(ctx context.Context, k int) error {
			i := changedHost(k, n)
			_, err := timedPut(ctx, m.t.api, hostset.Host(i), hostset.Rule(i+1, changedPort))
			return err
		},
		check: func(ctx context.Context, k int) error {
			i := changedHost(k, n)
			got, err := getRule(ctx, m.t.api, hostset.Host(i))
			if err == nil && !sameJSON(got, hostset.Rule(i+1, changedPort)) {
				err = fmt.Errorf("GET %s answers %s after the PUT", hostset.Host(i), got)
			}
			return err
		},
		stop: m.stop,
	}
}

// sameJSON says whether a and b are JSON documents of equal value.
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// changeRun is what a series of rule changes measured.
type changeRun struct {
	lat        latencies // per change, from its start until it was in effect
	start, end time.Time // of the series
	err        error     // the first failed change, if any
}

// runChanges makes changes first, first+1, ... through l.change: count of
// them (0: until ctx ends), started every `every` (or one after the other
// when l.backToBack), stopping at the first error, when ctx ends (which is
// no error), or once limit has passed since the first change.
func runChanges(ctx context.Context, l *loaded, first, count int, every, limit time.Duration) changeRun {
	r := changeRun{start: time.Now()}
	next := r.start
	for k := first; count == 0 || k < first+count; k++ {
		if !l.backToBack {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
			next = next.Add(every)
		}
		if ctx.Err() != nil || time.Since(r.start) > limit {
			break
		}
		t := time.Now()
		if err := l.change(ctx, k); err != nil {
			if ctx.Err() == nil {
				r.err = fmt.Errorf("change %d: %w", k-first+1, err)
			}
			break
		}
		r.lat = append(r.lat, time.Since(t))
	}
	r.end = time.Now()
	return r
}

// background runs runChanges in a goroutine until the returned stop
// function is called; stop waits for the goroutine and returns its run.
func background(ctx context.Context, l *loaded, first int, every time.Duration) (stop func() changeRun) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var r changeRun
	wg.Go(func() { r = runChanges(ctx, l, first, 0, every, 24*time.Hour) })
	return func() changeRun {
		cancel()
		wg.Wait()
		return r
	}
}

// logf prints a progress or diagnostic line on stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
