// Command bench is Mantrid's benchmark harness (issue 5): it starts an nginx
// backend, Mantrid, nginx and (when installed) HAProxy as reverse proxies
// on free loopback ports, drives each with wrk in alternating rounds, and
// writes a markdown table per scenario plus an SVG chart to bench/results/.
//
// Scenarios (-only picks some): ka64, ka256, close, 1M, 200MB and spin
// measure the data path; hosts1m, churn, bulk1m and crash measure scale
// with the standard rule set of bench/hostset (-hosts of them, 10⁶ by
// default, plus bench.test): memory and start time at that size, the cost
// of a rule change, latency while rules change, and whether acknowledged
// changes survive a SIGKILL. Each scale scenario's file begins with its
// description.
//
// Run it with `make bench` (BENCHFLAGS=-quick for one short round). It needs
// wrk and nginx (`make bench-deps`); HAProxy is optional. bench is a side
// package: it may import anything and nothing imports it. It is a
// single-goroutine program apart from the log readers of the processes it
// starts; every process it starts is stopped by PID before it exits.
package main

import (
	"context"
	"errors"
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
	hosts    int // standard hosts of the scale scenarios and of 1M
	crashN   int // rounds of the crash scenario
}

// wants says whether scenario name runs (flag -only).
func (o options) wants(name string) bool {
	if o.only == "" {
		return true
	}
	return slices.Contains(strings.Split(o.only, ","), name)
}

// wantsAny says whether any of the scenarios runs.
func (o options) wantsAny(names ...string) bool {
	return slices.ContainsFunc(names, o.wants)
}

// wantsPeers says whether the nginx and HAProxy proxies of the data-path
// scenarios are needed.
func (o options) wantsPeers() bool { return o.wantsAny("ka64", "ka256", "close", "200MB") }

// wantsMantrid says whether Mantrid with 10 rules (event_loops=1) is needed.
func (o options) wantsMantrid() bool {
	return o.wantsPeers() || o.wantsAny("1M", "spin")
}

// scenarioNames lists every scenario -only accepts.
func scenarioNames() []string {
	return []string{"ka64", "ka256", "close", "1M", "200MB", "spin", "hosts1m", "churn", "bulk1m", "crash"}
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
	flag.StringVar(&o.only, "only", "", "comma-separated scenarios to run ("+strings.Join(scenarioNames(), ",")+"); default all")
	flag.BoolVar(&o.loops2, "loops2", true, "also run Mantrid with event_loops = 2")
	flag.IntVar(&o.hosts, "hosts", 1_000_000, "standard hosts (bench/hostset) of the scale scenarios and of 1M")
	flag.IntVar(&o.crashN, "crash-rounds", 200, "rounds of the crash scenario (-quick: 20 unless given)")
	flag.Parse()
	if o.quick {
		o.rounds, o.duration = 1, 2*time.Second
		if !flagGiven("crash-rounds") {
			o.crashN = 20
		}
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
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

// flagGiven says whether the flag was set on the command line.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// check validates the options.
func (o options) check() error {
	if o.rounds < 1 || o.duration < time.Second {
		return fmt.Errorf("-rounds must be >= 1 and -d >= 1s")
	}
	if o.hosts < 1 || o.crashN < 1 {
		return fmt.Errorf("-hosts and -crash-rounds must be >= 1")
	}
	for _, n := range strings.Split(o.only, ",") {
		if o.only != "" && !slices.Contains(scenarioNames(), n) {
			return fmt.Errorf("-only: unknown scenario %q (want some of %s)", n, strings.Join(scenarioNames(), ","))
		}
	}
	return nil
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
	var rep report
	if err := env.runDataPath(ctx, &rep); err != nil {
		return err
	}
	env.stopDataPath()
	failed := env.runScale(ctx, &rep)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rep.took = time.Since(start)
	if err := writeReport(o, env, rep); err != nil {
		return err
	}
	return failed
}

// runDataPath runs the wrk scenarios and spin; the first error ends the run.
func (e *env) runDataPath(ctx context.Context, rep *report) error {
	if !e.o.wantsMantrid() {
		return nil
	}
	for _, sc := range e.scenarios() {
		if !e.o.wants(sc.name) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r, err := e.runScenario(ctx, sc)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
		fmt.Print(r.markdown())
		rep.results = append(rep.results, r)
	}
	if e.o.spin > 0 && e.o.wants("spin") {
		s, err := e.runSpin(ctx, e.mantrid[0], e.o.spin, e.o.rounds)
		if err != nil {
			return fmt.Errorf("scenario spin: %w", err)
		}
		fmt.Print(s.markdown())
		rep.spin = &s
	}
	return nil
}

// runScale runs the scale scenarios. A scenario that fails is reported
// with its error and the others still run; the errors are returned
// together, after the report has been written.
func (e *env) runScale(ctx context.Context, rep *report) error {
	type scaleScenario struct {
		name string
		run  func(context.Context) ([]table, error)
	}
	var errs []error
	for _, sc := range []scaleScenario{{"hosts1m", e.runHosts1m}, {"churn", e.runChurn}, {"bulk1m", e.runBulk1m}, {"crash", e.runCrash}} {
		if !e.o.wants(sc.name) || ctx.Err() != nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: scenario %s, %d hosts\n", sc.name, e.o.hosts)
		tabs, err := sc.run(ctx)
		if err != nil {
			err = fmt.Errorf("scenario %s: %w", sc.name, err)
			fmt.Fprintln(os.Stderr, "bench:", err)
			tabs = append(tabs, table{name: sc.name, title: sc.name + ": failed", note: err.Error()})
			errs = append(errs, err)
		}
		for _, t := range tabs {
			fmt.Print(t.markdown())
		}
		rep.tables = append(rep.tables, tabs...)
	}
	return errors.Join(errs...)
}
