// Command bench is Mantrid's benchmark harness (issue 5): it starts an nginx
// backend, Mantrid, nginx and (when installed) HAProxy as reverse proxies
// on free loopback ports, drives each with wrk in alternating rounds, and
// writes a markdown table per scenario plus an SVG chart to bench/results/.
//
// Run it with `make bench` (BENCHFLAGS=-quick for one short round). It needs
// wrk and nginx (`make bench-deps`); HAProxy is optional. bench is a side
// package: it may import anything and nothing imports it. It is a
// single-goroutine program apart from the log readers of the processes it
// starts; every process it starts is stopped by PID before it exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings of one run.
type options struct {
	rounds   int
	duration time.Duration
	mantrid  string
	outDir   string
	quick    bool
	million  bool
	download bool
	loops2   bool
	spin     int
	only     string
}

// wants says whether scenario name runs (flag -only).
func (o options) wants(name string) bool {
	if o.only == "" {
		return true
	}
	return slices.Contains(strings.Split(o.only, ","), name)
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds per scenario (the median is reported)")
	flag.DurationVar(&o.duration, "d", 5*time.Second, "duration of one wrk run")
	flag.StringVar(&o.mantrid, "mantrid", "./bin/mantrid", "path of the mantrid binary (make build)")
	flag.StringVar(&o.outDir, "out", "bench/results", "folder for the markdown report and SVG chart")
	flag.BoolVar(&o.quick, "quick", false, "one round of 2 s per target (overrides -rounds and -d)")
	flag.BoolVar(&o.million, "million", true, "run the 1,000,000-rules scenario")
	flag.BoolVar(&o.download, "download", true, "run the 200 MB download scenario")
	flag.IntVar(&o.spin, "spin", 1000, "requests held in the spin release scenario (0: skip it)")
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run (ka64,ka256,close,1M,200MB,spin); default all")
	flag.BoolVar(&o.loops2, "loops2", true, "also run Mantrid with event_loops = 2")
	flag.Parse()
	if o.quick {
		o.rounds, o.duration = 1, 2*time.Second
	}
	if o.rounds < 1 || o.duration < time.Second {
		fmt.Fprintln(os.Stderr, "bench: -rounds must be >= 1 and -d >= 1s")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run checks the tools, starts every process, runs the scenarios and
// writes the report; whatever it started is stopped before it returns.
func run(ctx context.Context, o options) error {
	if err := checkTools(); err != nil {
		return err
	}
	start := time.Now()
	env, err := newEnv(o)
	if err != nil {
		return err
	}
	defer env.close()
	if err := env.startAll(ctx); err != nil {
		return err
	}
	var results []scenarioResult
	for _, sc := range env.scenarios() {
		if !o.wants(sc.name) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r, err := env.runScenario(ctx, sc)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		fmt.Print(r.markdown())
		results = append(results, r)
	}
	var spin *spinResult
	if o.spin > 0 && o.wants("spin") {
		s, err := env.runSpin(ctx, env.mantrid[0], o.spin, o.rounds)
		if err != nil {
			return fmt.Errorf("scenario spin: %w", err)
		}
		fmt.Print(s.markdown())
		spin = &s
	}
	return writeReport(o, env, results, spin, time.Since(start))
}
