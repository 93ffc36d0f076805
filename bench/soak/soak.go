package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// soakHost is the hostname whose rule the soak flips.
const soakHost = "soak.test"

// options are the soak's settings (see main's flags).
type options struct {
	mantrid  string
	duration time.Duration
	clients  int
	flip     time.Duration
	down     time.Duration
	settle   time.Duration // spin live this long, and the backend without a new request this long, before it stops
	wrk      bool
	wrkConns int
	sample   time.Duration
	plateau  time.Duration // the first plateau of the resource series: this long, at most a third of the run
	timeout  time.Duration // a client's limit for one request, spin hold included
	seed     int64
	keep     bool
	progress time.Duration // interval of progress lines (0: none)
}

func defaultOptions() options {
	return options{
		mantrid: "./bin/mantrid", duration: 10 * time.Minute, clients: 16,
		flip: 5 * time.Second, down: time.Second, settle: 500 * time.Millisecond,
		wrk: true, wrkConns: 16, plateau: time.Minute, timeout: 90 * time.Second,
		progress: time.Minute,
	}
}

// validate refuses settings the soak cannot run with and fills the
// automatic ones.
func (o *options) validate() error {
	switch {
	case o.duration <= 0:
		return errors.New("-d must be positive")
	case o.clients < 1:
		return errors.New("-clients must be at least 1")
	case o.flip <= 0 || o.down <= 0:
		return errors.New("-flip and -down must be positive")
	case o.wrkConns < 1:
		return errors.New("-wrk-conns must be at least 1")
	}
	if o.sample <= 0 {
		o.sample = min(max(o.duration/30, time.Second), 5*time.Second)
	}
	if o.seed == 0 {
		o.seed = rand.Int64()
	}
	if _, err := os.Stat(o.mantrid); err != nil {
		return fmt.Errorf("mantrid binary: %w (run `make build` or pass -mantrid)", err)
	}
	abs, err := filepath.Abs(o.mantrid) // Mantrid runs in the temporary folder
	o.mantrid = abs
	return err
}

// run starts the backend and Mantrid, runs the load and the flipper for
// o.duration (or until ctx ends), stops everything, prints the summary to
// out and returns it. The error is for a soak that could not run; a run
// that found problems returns them in result.violations.
func run(ctx context.Context, o options, out io.Writer) (*result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mantrid-soak-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if o.keep {
			fmt.Fprintf(out, "soak: kept %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	r := &result{o: o, race: raceBuild(o.mantrid)}
	rng := rand.New(rand.NewPCG(uint64(o.seed), 0))
	nonce := fmt.Sprintf("%06x", rng.Uint32()&0xffffff)
	if r.be, err = newBackend(nonce, o.clients, rng); err != nil {
		return nil, err
	}
	defer stopBackend(r.be)
	if r.m, err = startMantrid(ctx, o.mantrid, dir); err != nil {
		return nil, err
	}
	defer r.m.stop(10 * time.Second)
	setup, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	proxy := proxyRule(r.be.addr)
	if err := r.m.api.putRule(setup, soakHost, proxy); err != nil {
		return nil, fmt.Errorf("setting the proxy rule: %w", err)
	}
	if r.idle, err = r.m.api.process(setup); err != nil {
		return nil, fmt.Errorf("GET /process/ (does this mantrid have it?): %w", err)
	}
	fmt.Fprintf(out, "soak: %s of load on %s (mantrid %s, race: %v, pid %d), backend %s, %d clients, spin cycle every %s, seed %d\n",
		o.duration, r.m.public, o.mantrid, r.race, r.m.cmd.Process.Pid, r.be.addr, o.clients, o.flip, o.seed)
	r.load(ctx, rng, dir, proxy, out)
	r.finish(out)
	r.judge()
	r.print(out)
	return r, nil
}

// load runs clients, wrk, sampler and flipper for o.duration and stops
// them in order: flipper (rule proxy, backend up), clients, wrk, sampler.
func (r *result) load(ctx context.Context, rng *rand.Rand, dir, proxy string, out io.Writer) {
	o := r.o
	body := make([]byte, randomBodyLen)
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	start := time.Now()
	var clients, others sync.WaitGroup
	stopClients, stopFlip, stopSample := make(chan struct{}), make(chan struct{}), make(chan struct{})
	for i := range o.clients {
		c := newClient(i, r.be.nonce, r.m.public, soakHost, body, o.timeout, uint64(o.seed), start)
		r.clients = append(r.clients, c)
		clients.Go(func() { c.run(stopClients) })
	}
	if o.wrk {
		r.wrk = startWrk(dir, "http://"+r.m.public, soakHost, o.wrkConns, o.duration)
		if r.wrk.skipped != "" {
			fmt.Fprintf(out, "soak: wrk load skipped: %s\n", r.wrk.skipped)
		}
	}
	r.smp = &sampler{api: r.m.api, every: o.sample, start: start}
	others.Go(func() { r.smp.run(stopSample) })
	r.fl = &flipper{api: r.m.api, be: r.be, host: soakHost, proxy: proxy, every: o.flip, down: o.down,
		settle: o.settle, rng: rand.New(rand.NewPCG(rng.Uint64(), 1)), start: start}
	var flip sync.WaitGroup
	flip.Go(func() { r.fl.run(stopFlip) })

	r.waitLoad(ctx, start, out)
	close(stopFlip)
	flip.Wait()
	close(stopClients)
	clients.Wait()
	r.loadTime = time.Since(start)
	if r.wrk != nil {
		r.wrkErr = r.wrk.wait(max(o.duration+time.Minute-time.Since(start), 10*time.Second))
	}
	close(stopSample)
	others.Wait()
}

// waitLoad returns after o.duration or when ctx ends, printing a progress
// line every o.progress.
func (r *result) waitLoad(ctx context.Context, start time.Time, out io.Writer) {
	end := time.After(r.o.duration)
	var tick <-chan time.Time
	if r.o.progress > 0 {
		t := time.NewTicker(r.o.progress)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-end:
			return
		case <-ctx.Done():
			fmt.Fprintln(out, "soak: interrupted; stopping the load and checking what ran")
			r.interrupted = true
			return
		case <-tick:
			s := r.smp.last()
			fmt.Fprintf(out, "soak: %s: backend got %d requests (%d from wrk), %d duplicated, %d forwarded during spin; rss %.1f MiB, %d fds, %d goroutines\n",
				time.Since(start).Round(time.Second), r.be.requests.Load(), r.be.wrk.Load(), r.be.dupCount.Load(),
				r.be.afterSpin.Load(), mib(s.p.RSSBytes), s.p.OpenFDs, s.p.Goroutines)
		}
	}
}

// finish waits for the host's open_requests to return to 0, takes the
// last resource sample and the stats, and stops Mantrid (SIGTERM) and the
// backend.
func (r *result) finish(out io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	deadline := time.Now().Add(15 * time.Second)
	start := time.Now()
	for {
		r.stats, r.statsErr = r.m.api.stats(ctx, soakHost)
		if r.statsErr == nil && r.stats.OpenRequests == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.openZeroAfter = time.Since(start)
	r.after, r.afterErr = r.m.api.process(ctx)
	r.killed, r.exitErr = r.m.stop(30 * time.Second)
	stopBackend(r.be)
	fmt.Fprintln(out, "soak: load stopped, Mantrid stopped")
}

// stopBackend stops the backend, closing what is left after 10 s.
func stopBackend(b *backend) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = b.stop(ctx)
}

// raceBuild reports whether the binary at path was built with -race.
func raceBuild(path string) bool {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
