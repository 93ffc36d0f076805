package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// scenario is one load shape driven against a set of targets.
type scenario struct {
	name     string // short id, used in the chart
	title    string
	conns    int
	path     string
	close    bool // Connection: close on every request
	download bool // report MB/s as the main figure
	keepPeak bool // do not reset VmHWM first (the 10⁶-rules load counts)
	targets  []*target
	peers    []*target // non-Mantrid proxies for "ratio to best peer"; nil: n/a
	note     string
}

// proxies returns the proxy targets that were started: Mantrid variants,
// nginx, HAProxy.
func (e *env) proxies() (all, peers []*target) {
	for _, p := range []*target{e.nginx, e.haproxy} {
		if p != nil {
			peers = append(peers, p)
		}
	}
	all = append(append([]*target{}, e.mantrid...), peers...)
	return all, peers
}

// scenarios lists what a run measures, in order.
func (e *env) scenarios() []scenario {
	all, peers := e.proxies()
	direct := append([]*target{e.backend}, all...)
	out := []scenario{
		{name: "ka64", title: "keep-alive, 64 connections", conns: 64, path: "/", targets: direct, peers: peers},
		{name: "ka256", title: "keep-alive, 256 connections", conns: 256, path: "/", targets: direct, peers: peers},
		{name: "close", title: "connection per request (Connection: close), 64 connections", conns: 64, path: "/", close: true, targets: direct, peers: peers},
	}
	if e.million != nil {
		out = append(out, scenario{name: "1M", title: fmt.Sprintf("Mantrid with %s rules vs 10 rules, keep-alive, 64 connections", countLabel(e.o.hosts)), conns: 64, path: "/",
			keepPeak: true, targets: []*target{e.backend, e.mantrid[0], e.million},
			note: "Other proxies: n/a. RSS includes loading the rules through the bulk PUT. Rules: the standard set of bench/hostset plus bench.test (10 rules: 9 standard hosts plus bench.test)."})
	}
	if e.o.download {
		dl := append([]*target{e.backend, e.mantrid[0]}, peers...)
		out = append(out, scenario{name: "200MB", title: "200 MB download, keep-alive, 4 connections", conns: 4, path: "/big.bin",
			download: true, targets: dl, peers: peers,
			note: "Ratios are of MB/s; req/s is 200 MB responses per second; CPU µs/req is per 200 MB response."})
	}
	return out
}

// runScenario runs the rounds, alternating the targets (each round starts
// one target later), and aggregates the medians.
func (e *env) runScenario(ctx context.Context, sc scenario) (scenarioResult, error) {
	script := filepath.Join(e.dir, "report.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return scenarioResult{}, err
	}
	if !sc.keepPeak {
		for _, t := range sc.targets {
			t.proc.resetPeakRSS()
		}
	}
	samples := make([][]sample, len(sc.targets))
	var cmds []string
	n := len(sc.targets)
	for r := 0; r < e.o.rounds; r++ {
		for i := 0; i < n; i++ {
			k := (i + r) % n
			t := sc.targets[k]
			args := wrkArgs(sc, e.o.duration, script, t.url)
			if r == 0 {
				cmds = append(cmds, strings.Join(quoteArgs(args), " "))
			}
			fmt.Fprintf(os.Stderr, "bench: %s, round %d/%d: %s\n", sc.name, r+1, e.o.rounds, t.name)
			before := t.proc.cpuTicks()
			s, err := runWrk(ctx, args)
			if err != nil {
				return scenarioResult{}, err
			}
			ticks := t.proc.cpuTicks() - before
			if s.requests > 0 {
				s.cpuUS = float64(ticks) * 1e6 / clockTick / float64(s.requests)
			}
			samples[k] = append(samples[k], s)
		}
	}
	res := scenarioResult{sc: sc, commands: cmds}
	for k, t := range sc.targets {
		res.rows = append(res.rows, aggregate(t, samples[k], t.proc.peakRSS()))
	}
	res.fillRatios()
	return res, nil
}

// quoteArgs single-quotes the arguments that hold spaces, for the report.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
