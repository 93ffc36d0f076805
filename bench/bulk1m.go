package main

// Scenario bulk1m: does replacing every rule at once slow the traffic?
//
//	go run ./bench -mantrid ./bin/mantrid -only bulk1m [-hosts 1000000] [-rounds 3] [-d 5s]
//
// Two Mantrids on the same config (one event loop, Mantrid's defaults)
// are started: one loaded with the standard rule set of bench/hostset plus
// bench.test by one bulk PUT (timed), one with 10 rules (9 standard hosts
// plus bench.test). wrk drives bench.test over keep-alive (wrk -t1 -c64,
// as ka64) in three runs per round, in rotating order: the 10-rule
// Mantrid; the big one with no change; the big one while a bulk
// `PUT /hostname/` replaces all its rules (the set with every backend
// moved to port 8001, and back in the next round; bench.test unchanged),
// started 1 s into the run. A run lasts -d, or long enough to cover the
// PUT: 1 s + twice the first load's PUT + 2 s, if that is longer. Each run
// starts when Mantrid is idle (its save of the change has ended). The
// table gives req/s, latency and errors (medians of the rounds), the
// PUT's own duration, the ratio of the p99 during the PUT to the quiet
// p99, and req/s against the 10-rule Mantrid's. No peer has an
// equivalent: HAProxy and nginx replace a whole map by a reload (see
// churn for nginx's).

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mantrid/mantrid/bench/hostset"
)

// bulkRun is the outcome of one wrk run of bulk1m.
type bulkRun struct {
	s       sample
	written int64         // write_bytes of the big Mantrid during the run
	put     time.Duration // the bulk PUT's own duration; 0: none
	covered bool          // the PUT ended before wrk did
}

// runBulk1m runs the scenario.
func (e *env) runBulk1m(ctx context.Context) ([]table, error) {
	big, err := e.newScaleMantrid("mantrid-bulk1m")
	if err != nil {
		return nil, err
	}
	load, err := big.load(ctx)
	if err != nil {
		big.t.proc.stopWithin(scaleTimeout)
		return nil, err
	}
	defer big.stop()
	small, err := e.newScaleMantrid("mantrid-bulk1m-10")
	if err != nil {
		return nil, err
	}
	if err := small.loadSmall(ctx); err != nil {
		small.t.proc.stopWithin(scaleTimeout)
		return nil, err
	}
	defer small.stop()
	bodies := [2]string{}
	if bodies[0], err = e.hostFile(hostset.Put, changedPort); err != nil {
		return nil, err
	}
	if bodies[1], err = e.hostFile(hostset.Put, hostset.DefaultPort); err != nil {
		return nil, err
	}
	script, err := e.writeScript()
	if err != nil {
		return nil, err
	}
	d := max(e.o.duration, (time.Second+2*load+2*time.Second).Round(time.Second)+time.Second)
	runs := [3][]bulkRun{}
	for r := 0; r < e.o.rounds && ctx.Err() == nil; r++ {
		for i := range 3 {
			k := (i + r) % 3
			m := big
			if k == 0 {
				m = small
			}
			waitIdle(ctx, big.t.proc)
			logf("bulk1m, round %d/%d: %s", r+1, e.o.rounds, bulkRowName(k, e.o.hosts))
			args := wrkArgs(scenario{conns: 64, path: "/"}, d, script, m.t.url)
			io0 := m.t.proc.io()
			run, err := bulkWrk(ctx, args, big.t.api, bodies[r%2], k == 2)
			if err != nil {
				return nil, err
			}
			run.written = m.t.proc.io().writeBytes - io0.writeBytes
			runs[k] = append(runs[k], run)
		}
	}
	return []table{bulkTable(e, runs, load, d, script)}, nil
}

// loadSmall starts an empty Mantrid and loads 9 standard hosts and
// bench.test by a bulk PUT.
func (m *scaleMantrid) loadSmall(ctx context.Context) error {
	if err := m.start(); err != nil {
		return err
	}
	if _, _, err := m.waitServing(ctx, publicNone); err != nil {
		return err
	}
	if err := m.e.putRules(ctx, m.t.api, 9); err != nil {
		return err
	}
	_, err := waitUp(ctx, m.t.proc, "Host: bench.test on the public port", func(ctx context.Context) error { return probe(ctx, m.t.url) })
	return err
}

// bulkWrk runs wrk and, when withPut, PUTs body to api/hostname/ 1 s
// after wrk started.
func bulkWrk(ctx context.Context, args []string, api, body string, withPut bool) (bulkRun, error) {
	if !withPut {
		s, err := runWrk(ctx, args)
		return bulkRun{s: s}, err
	}
	var wg sync.WaitGroup
	var run bulkRun
	var werr error
	var wrkEnd time.Time
	wg.Go(func() {
		run.s, werr = runWrk(ctx, args)
		wrkEnd = time.Now()
	})
	sleepUntil(ctx, time.Now().Add(time.Second))
	put, perr := bulkPut(ctx, api, body)
	putEnd := time.Now()
	wg.Wait()
	run.put, run.covered = put, putEnd.Before(wrkEnd)
	return run, errors.Join(werr, perr)
}

// bulkRowName names row k of the bulk1m table.
func bulkRowName(k, hosts int) string {
	switch k {
	case 0:
		return "Mantrid event_loops=1, 10 rules"
	case 1:
		return fmt.Sprintf("Mantrid event_loops=1, %s rules", countLabel(hosts))
	}
	return fmt.Sprintf("Mantrid event_loops=1, %s rules, during a bulk PUT of all", countLabel(hosts))
}

// bulkTable renders the medians of the runs.
func bulkTable(e *env, runs [3][]bulkRun, load, d time.Duration, script string) table {
	label := countLabel(e.o.hosts)
	t := table{name: "bulk1m", title: fmt.Sprintf("bulk1m: keep-alive, 64 connections, Mantrid with %s hosts, during a bulk PUT of all of them", label),
		head:     []string{"target", "req/s", "p50", "p99", "p99.9", "errors", "bulk PUT", "p99 ÷ quiet", "req/s ÷ 10 rules", "disk writes per run"},
		commands: []string{fmtCommand(wrkArgs(scenario{conns: 64, path: "/"}, d, script, "URL"))}}
	med := func(k int, f func(bulkRun) float64) float64 {
		v := make([]float64, len(runs[k]))
		for i, r := range runs[k] {
			v[i] = f(r)
		}
		return median(v)
	}
	lat := func(i int) func(bulkRun) float64 { return func(r bulkRun) float64 { return float64(r.s.lat[i]) } }
	rps := func(r bulkRun) float64 { return r.s.rps() }
	uncovered := 0
	for _, r := range runs[2] {
		if !r.covered {
			uncovered++
		}
	}
	for k := range 3 {
		var errs int64
		for _, r := range runs[k] {
			errs += r.s.errors
		}
		put, vsQuiet, vsSmall := "", math.NaN(), math.NaN()
		if k == 2 {
			put = fmtSec(time.Duration(med(2, func(r bulkRun) float64 { return float64(r.put) })))
			vsQuiet = med(2, lat(2)) / med(1, lat(2))
		}
		if k > 0 {
			vsSmall = med(k, rps) / med(0, rps)
		}
		t.addRow(bulkRowName(k, e.o.hosts), formatRate(med(k, rps)), formatLat(time.Duration(med(k, lat(0)))), formatLat(time.Duration(med(k, lat(2)))),
			formatLat(time.Duration(med(k, lat(3)))), fmt.Sprint(errs), put, formatRatio(vsQuiet), formatRatio(vsSmall),
			fmtBytes(int64(med(k, func(r bulkRun) float64 { return float64(r.written) }))))
	}
	t.note = fmt.Sprintf("Medians of %d round(s) of wrk -t1 -c64 -d%ds with Host: bench.test, the three runs in rotating order, each started when Mantrid was idle. "+
		"The bulk PUT of %s (every backend moved to another port, and back in the next round) starts 1 s into the run; the first load by bulk PUT took %s. "+
		"The PUT outlasted the wrk run in %d of %d round(s). Both Mantrids run on the same config (one event loop, Mantrid's defaults: save_interval 10, so changed statistics are saved every 10 s during a run). "+
		"Disk writes: write_bytes of /proc/PID/io of the Mantrid driven, during the run (median).",
		len(runs[0]), int(d.Seconds()), fileSize(e.hostFile(hostset.Put, changedPort)), fmtSec(load), uncovered, len(runs[2]))
	return t
}
