package main

// Scenario churn: does changing rules slow the traffic of other hosts?
//
//	go run ./bench -mantrid ./bin/mantrid -only churn [-hosts 1000000] [-rounds 3] [-d 5s]
//
// Mantrid, HAProxy and nginx are loaded, one after the other, with the
// standard rule set of bench/hostset plus bench.test (as in hosts1m), and
// stay up together: each round runs every proxy in turn, the order
// rotating, so that their req/s come from the same stretch of time.
// wrk drives bench.test over keep-alive (wrk -t1 -c64, as ka64) for twice
// -d (at least 4 s), once with no rule changes and once while rules of
// OTHER hosts of the set change 20 times a second: Mantrid, single-host
// `PUT /hostname/HOST/` through the REST API; HAProxy, `set map` on its
// runtime API socket; nginx, which has no runtime API, an edit of its map
// file and a reload (SIGHUP), one after the other, as fast as it can go,
// each lasting until /_map serves the new upstream. A proxy's two runs alternate
// in order for -rounds rounds, and each starts when the proxy is idle
// (after a reload or a save has ended). The table gives the changes made
// and their latency, req/s and p99 of both runs (medians of the rounds),
// and the ratio of the p99s.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// churnEvery is the spacing of rule changes during a churn run: 20 a second.
const churnEvery = 50 * time.Millisecond

// churnDuration is the length of one wrk run of churn: twice -d, at least
// 4 s, so that even slow reloads happen during it.
func churnDuration(d time.Duration) time.Duration { return max(2*d, 4*time.Second) }

// runChurn runs the scenario for each proxy in turn.
func (e *env) runChurn(ctx context.Context) ([]table, error) {
	d := churnDuration(e.o.duration)
	script, err := e.writeScript()
	if err != nil {
		return nil, err
	}
	tab := table{name: "churn", title: fmt.Sprintf("churn: keep-alive, 64 connections, %s hosts, quiet vs 20 rule changes/s on other hosts", countLabel(e.o.hosts)),
		text: 2, head: []string{"target", "change", "changes made", "change p50", "change p99", "req/s quiet", "req/s churn", "p99 quiet", "p99 churn", "p99 churn ÷ quiet", "errors quiet / churn", "disk writes per run, quiet / churn"},
		note: fmt.Sprintf("wrk -t1 -c64 -d%ds with Host: bench.test, %d round(s), each running every proxy in turn (the order rotating) and alternating the order of its quiet and churn run; req/s and p99 are medians of the rounds. "+
			"Changes touch other hosts of the set, 20 a second (nginx: reloads one after the other, each until /_map serves the new upstream; the changes made are its reloads). "+
			"Each run starts when the proxy is idle (< 3 %% of a CPU over 1 s). Mantrid runs on its defaults (save_interval 10: changed statistics are saved every 10 s, so the quiet runs save too). "+
			"Disk writes: write_bytes of /proc/PID/io during a run (median). "+
			"Errors are wrk's socket errors and non-2xx answers; at each reload nginx's old worker closes every keep-alive connection, which wrk counts as a read error and reconnects.", int(d.Seconds()), e.o.rounds),
		commands: []string{fmtCommand(wrkArgs(scenario{conns: 64, path: "/"}, d, script, "URL"))}}
	peers := []peer{{"Mantrid event_loops=1", e.loadedMantrid("mantrid-churn")}}
	if _, err := exec.LookPath("haproxy"); err == nil {
		peers = append(peers, peer{"HAProxy (nbthread 1)", func(ctx context.Context) (*loaded, error) { return e.startScaleHAProxy(ctx, "haproxy-churn") }})
	} else {
		tab.addRow("HAProxy", "n/a (not installed)")
	}
	peers = append(peers, peer{"nginx (1 worker)", func(ctx context.Context) (*loaded, error) { return e.startScaleNginx(ctx, "nginx-churn") }})
	rows, err := e.churnPeers(ctx, peers, d, script)
	for _, row := range rows {
		tab.addRow(row...)
	}
	return []table{tab}, err
}

// loadedMantrid returns a start function for a scale Mantrid loaded with
// the set by one bulk PUT.
func (e *env) loadedMantrid(name string) func(context.Context) (*loaded, error) {
	return func(ctx context.Context) (*loaded, error) {
		m, err := e.newScaleMantrid(name)
		if err != nil {
			return nil, err
		}
		if _, err := m.load(ctx); err != nil {
			m.t.proc.stopWithin(scaleTimeout)
			return nil, err
		}
		return m.loaded(-1), nil
	}
}

// churnSample is one wrk run of churn and what the proxy wrote to disk
// during it.
type churnSample struct {
	s       sample
	written int64 // write_bytes of /proc/PID/io during the run
}

// churnState is one proxy's runs so far.
type churnState struct {
	name string
	l    *loaded
	runs [2][]churnSample // quiet, churn
	lat  latencies
	k    int   // the next change's number
	cerr error // the first change that failed; the runs go on
	err  error // what ended this proxy's runs
	done bool  // no more runs
}

// churnPeers starts every proxy, then runs the rounds: in each, every
// proxy in turn (the order rotating from round to round) makes its quiet
// and its churn run, so that the req/s of different proxies come from the
// same stretch of time on a shared machine. It returns one row per proxy.
func (e *env) churnPeers(ctx context.Context, peers []peer, d time.Duration, script string) ([][]string, error) {
	states := make([]*churnState, len(peers))
	for i, p := range peers {
		st := &churnState{name: p.name}
		states[i] = st
		if ctx.Err() != nil {
			st.err, st.done = ctx.Err(), true
			continue
		}
		if st.l, st.err = p.start(ctx); st.err != nil {
			st.done = true
		}
	}
	for r := 0; r < e.o.rounds && ctx.Err() == nil; r++ {
		for j := range states {
			st := states[(j+r)%len(states)]
			if !st.done {
				st.err = e.churnRound(ctx, st, r, d, script)
				st.done = st.err != nil
			}
		}
	}
	rows := make([][]string, len(states))
	var errs []error
	for i, st := range states {
		if st.l != nil {
			_, serr := st.l.stop()
			st.err = cmpOr(st.err, serr)
		}
		if err := errors.Join(st.cerr, st.err); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.name, err))
		}
		if st.l == nil || len(st.runs[0])+len(st.runs[1]) == 0 {
			rows[i] = []string{st.name, "failed: " + fmt.Sprint(st.err)}
			continue
		}
		rows[i] = churnRow(st.l, st.runs, st.lat, d, errors.Join(st.cerr, st.err))
	}
	return rows, errors.Join(errs...)
}

// churnRound makes one proxy's quiet and churn runs of round r, in an
// order that alternates from round to round.
func (e *env) churnRound(ctx context.Context, st *churnState, r int, d time.Duration, script string) error {
	l := st.l
	for i := range 2 {
		withChanges := (i + r) % 2
		waitIdle(ctx, l.t.proc)
		logf("churn, round %d/%d: %s, %s", r+1, e.o.rounds, l.t.name, []string{"quiet", "changing rules"}[withChanges])
		io0 := l.t.proc.io()
		var stop func() changeRun
		if withChanges == 1 {
			stop = background(ctx, l, st.k, churnEvery)
		}
		s, err := runWrk(ctx, wrkArgs(scenario{conns: 64, path: "/"}, d, script, l.t.url))
		if stop != nil {
			run := stop()
			st.k += len(run.lat) + 1
			st.lat = append(st.lat, run.lat...)
			st.cerr = cmpOr(st.cerr, run.err)
		}
		if err != nil {
			return err
		}
		st.runs[withChanges] = append(st.runs[withChanges], churnSample{s: s, written: l.t.proc.io().writeBytes - io0.writeBytes})
	}
	return nil
}

// peer is a proxy of the churn scenario and how to start it loaded.
type peer struct {
	name  string
	start func(context.Context) (*loaded, error)
}

// churnRow renders one proxy's row from its quiet and churn runs.
func churnRow(l *loaded, runs [2][]churnSample, lat latencies, d time.Duration, cerr error) []string {
	med := func(ss []churnSample, f func(churnSample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		return median(v)
	}
	p99 := func(c churnSample) float64 { return float64(c.s.lat[2]) }
	rps := func(c churnSample) float64 { return c.s.rps() }
	written := func(c churnSample) float64 { return float64(c.written) }
	errs := func(ss []churnSample) (n int64) {
		for _, c := range ss {
			n += c.s.errors
		}
		return n
	}
	quiet, churn := runs[0], runs[1]
	made := fmt.Sprintf("%d (%.1f/s)", len(lat), float64(len(lat))/(d.Seconds()*float64(max(len(churn), 1))))
	if cerr != nil {
		made += " (failed: " + cerr.Error() + ")"
	}
	return []string{l.t.name, l.how, made, fmtMS(lat.p(0.5)), fmtMS(lat.p(0.99)), formatRate(med(quiet, rps)), formatRate(med(churn, rps)),
		formatLat(time.Duration(med(quiet, p99))), formatLat(time.Duration(med(churn, p99))), formatRatio(med(churn, p99) / med(quiet, p99)),
		fmt.Sprintf("%d / %d", errs(quiet), errs(churn)), fmtBytes(int64(med(quiet, written))) + " / " + fmtBytes(int64(med(churn, written)))}
}

// writeScript writes wrk's report.lua into the temp folder.
func (e *env) writeScript() (string, error) {
	p := filepath.Join(e.dir, "report.lua")
	return p, os.WriteFile(p, []byte(wrkScript), 0o644)
}

// fmtCommand joins a command line for the report.
func fmtCommand(args []string) string { return strings.Join(quoteArgs(args), " ") }
