package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/loop"
	"github.com/mantrid/mantrid/mgmt"
	"github.com/mantrid/mantrid/mgmt/fleet"
	"github.com/mantrid/mantrid/mgmt/store"
	"github.com/mantrid/mantrid/mgmt/store/etcdstore"
	"github.com/mantrid/mantrid/static"
)

// daemon ties the parts together: the rule table (read by the event loops),
// the store that keeps it on disk and feeds it (written through the REST
// API), the data path and the API server. Its fields are used by the
// goroutine of run, and by an upgrade's goroutine while run waits for it
// to end before it touches store, api or maint.
type daemon struct {
	cfg    Config // in force: a reload replaces the settings that can change live
	opts   runOptions
	nofile uint64 // the file descriptor limit, for max_connections = 0
	log    *slog.Logger
	table  *hostmap.Table
	store  *store.Local     // nil once handed to a new process (upgrade.go)
	fleet  *etcdstore.Store // with etcd_endpoints: the store the API writes through (fleet.go)
	// registry keeps this node in the fleet's list in etcd (fleet.go).
	registry *fleet.Registry
	started  time.Time  // when this node first served, for GET /fleet/
	apiAddrs []net.Addr // where the REST API listens, for node_url's default
	eng      *loop.Engine
	api      *mgmt.Server   // nil once handed over
	mlns     []*apiListener // the API's listeners
	apiOpen  atomic.Int64   // the API's open connections (api.go)
	pages    *static.Pages
	socks    *sockets
	maint    func()         // stops the store's maintenance and waits for it
	apiWG    sync.WaitGroup // the API's Serve goroutines
	// mgmtToken is the REST API's token (management_token_file), or "".
	mgmtToken string
}

func newDaemon(cfg Config, o runOptions, nofile uint64, pages *static.Pages, socks *sockets) *daemon {
	d := &daemon{cfg: cfg, opts: o, nofile: nofile, log: o.log, table: hostmap.New(cfg.EventLoops), pages: pages, socks: socks}
	d.eng = loop.New(d.loopConfig(cfg), d.table, pages)
	return d
}

// loopConfig returns the data path's settings for cfg.
func (d *daemon) loopConfig(cfg Config) loop.Config {
	maxConns := cfg.MaxConnections
	if maxConns == 0 {
		maxConns = max(int(d.nofile)-64, 32) / 2
	}
	return loop.Config{
		Loops:              cfg.EventLoops,
		HeadTimeout:        cfg.HeadTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		Limits:             httpparse.Limits{MaxHeadSize: cfg.MaxHeadSize, MaxURILength: cfg.MaxURILength, MaxHeaders: cfg.MaxHeaders},
		MaxConnections:     maxConns,
		ConnectTimeout:     cfg.ConnectTimeout,
		BackendTimeout:     cfg.BackendTimeout,
		BackendIdleTimeout: cfg.BackendIdleTimeout,
		MaxIdlePerBackend:  cfg.MaxIdlePerBackend,
		MaxDialsPerBackend: cfg.MaxDialsPerBackend,
		MaxParked:          cfg.MaxSpin,
		MaxPipelined:       cfg.MaxPipelined,
		Logger:             d.log,
	}
}

// openStore loads the rules and counters from the store into the table,
// creating the store from the first Mantrid's state file when there is
// none yet, and readies the API on it.
func (d *daemon) openStore() error {
	start := time.Now()
	bulk := &store.LowPriority{}
	st, err := store.Open(store.Options{
		Dir: d.cfg.StorePath(), Table: d.table, OnChange: d.rulesChanged, Logger: d.log, Seed: d.seed, Bulk: bulk,
	})
	if err != nil {
		return err
	}
	d.store = st
	d.log.Info("rules loaded", "store", d.cfg.StorePath(), "rules", d.table.Len(), "revision", st.Revision(),
		"took", time.Since(start).Round(time.Millisecond))
	var writes store.Store = st
	var etcdStatus func() *mgmt.EtcdStatus
	if len(d.cfg.EtcdEndpoints) > 0 {
		if err := d.openFleet(); err != nil {
			st.Close()
			d.store = nil
			return err
		}
		writes, etcdStatus = d.fleet, d.etcdStatus
	}
	refused := newRefusedRules(refusedPath(d.cfg.StateFile))
	if n := refused.Count(); n != 0 {
		d.log.Warn("rules of the state file were refused when the store was created", "refused_rules", n,
			"file", refusedPath(d.cfg.StateFile))
	}
	d.api = mgmt.NewServer(d.table, writes, mgmt.ServerOptions{
		Logger:       d.log,
		SaveStats:    func() error { _, err := st.SaveStats(true); return err },
		RefusedRules: refused.Count,
		Etcd:         etcdStatus,
		Fleet:        d.fleetView(),
		Bulk:         bulk,
		AfterBulk:    func() { bulk.Run(func(*store.Pacer) { returnMemory() }) },
		Token:        d.mgmtToken,
		Hosts:        d.cfg.ManagementHosts,
	})
	return nil
}

// returnMemory gives the memory freed by a bulk replace (the old table,
// the request body) back to the system at once, instead of over minutes: a
// table of a million rules is replaced whole. A start needs none: loading
// a store leaves little garbage.
func returnMemory() { debug.FreeOSMemory() }

// rulesChanged is the store's hook, called after a change is live: it
// wakes the requests held by spin that the change may concern.
func (d *daemon) rulesChanged(key string) {
	if d.eng != nil {
		d.eng.RulesChanged(key)
	}
}

// startMaintain starts the store's periodic work (stats saves) in a
// goroutine that d.maint stops and waits for.
func (d *daemon) startMaintain() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	st := d.store
	wg.Go(func() { st.Maintain(ctx, d.cfg.SaveInterval) })
	d.maint = func() {
		cancel()
		wg.Wait()
		d.maint = nil
	}
}

// serveAPI serves the REST API on lns, each in a goroutine of d.apiWG.
func (d *daemon) serveAPI(lns []net.Listener) {
	api := d.api
	for _, l := range lns {
		ln := &apiListener{Listener: l, open: &d.apiOpen}
		d.mlns = append(d.mlns, ln)
		d.apiWG.Go(func() {
			if err := api.Serve(ln); err != nil && !ln.stopped.Load() {
				d.log.Error("REST API listener failed", "addr", ln.Addr().String(), "err", err)
			}
		})
		d.log.Info("management API listening", "addr", ln.Addr().String(), "source", d.socks.find(ln.Addr().String()).source)
	}
}

// run serves until SIGTERM/SIGINT, a fatal error, or the end of an upgrade
// that a new process took over, then stops in order: listeners, requests
// under way (grace period), API, a last save (not after a hand-over: the
// new process has the store). SIGHUP reloads (reload.go); SIGUSR2 starts
// an upgrade (upgrade.go). up is the link to the process this one
// upgrades, or nil. sigs already receives SIGHUP and SIGUSR2 (those that
// came during the start wait in it).
func (d *daemon) run(lns []loop.Listener, mlns []net.Listener, up *upgradeLink, sigs chan os.Signal) error {
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	d.startMaintain()
	d.serveAPI(mlns)
	engErr := make(chan error, 1)
	go func() { engErr <- d.eng.Run(lns) }()
	for _, ln := range lns {
		addr := ln.Addr().String()
		d.log.Info("listening", "addr", addr, "internal", ln.Internal, "source", d.socks.find(addr).source)
	}
	d.log.Info("mantrid started", "rules", d.table.Len(), "event_loops", d.cfg.EventLoops,
		"max_connections", d.loopConfig(d.cfg).MaxConnections, "store", d.cfg.StorePath(), "pid", os.Getpid())

	fatal, handedTo := d.serveSignals(sigs, engErr, up)
	if handedTo != 0 {
		d.log.Info("upgrade: the new process serves; this one drains and exits", "pid", handedTo, "grace_period", d.cfg.GracePeriod)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := d.eng.HandOver(ctx); err != nil {
			d.log.Warn("upgrade: stopping accepting", "err", err)
		}
		cancel()
	} else {
		sdNotify("STOPPING=1")
	}
	d.stop(engErr)
	if d.store == nil { // handed over; the counters were saved then
		if fatal != nil {
			return fatal
		}
		d.log.Info("stopped; the store was handed over", "to_pid", handedTo)
		return nil
	}
	if err := d.closeStore(); err != nil {
		return errors.Join(fatal, fmt.Errorf("saving the counters: %w", err))
	}
	if fatal != nil {
		return fatal
	}
	d.log.Info("stopped; counters saved", "store", d.cfg.StorePath())
	return nil
}

// serveSignals handles signals until one stops the process: it returns a
// fatal error of the event loops, or the pid of a new process that took
// over (upgrade), or neither (SIGTERM, SIGINT).
func (d *daemon) serveSignals(sigs chan os.Signal, engErr chan error, up *upgradeLink) (fatal error, handedTo int) {
	running := d.eng.Running()
	var upDone chan int // the result of the upgrade under way: the new pid, or 0
	upCtx, upCancel := context.WithCancel(context.Background())
	defer upCancel()
serving:
	for {
		select {
		case <-running:
			running = nil
			if up != nil {
				up.ready()
			} else {
				sdNotify("READY=1")
			}
		case err := <-engErr:
			engErr <- nil
			fatal = fmt.Errorf("event loops: %w", err)
			break serving
		case pid := <-upDone:
			upDone = nil
			if pid != 0 {
				return nil, pid
			}
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				d.reload()
			case syscall.SIGUSR2:
				if upDone != nil {
					d.log.Warn("upgrade: one is under way already; SIGUSR2 ignored")
					continue
				}
				upDone = make(chan int, 1)
				go func() { upDone <- d.upgrade(upCtx) }()
			default:
				d.log.Info("stopping", "signal", sig.String(), "grace_period", d.cfg.GracePeriod)
				break serving
			}
		}
	}
	if up != nil && running != nil {
		up.close() // never ready: the old process goes on serving
	}
	if upDone != nil { // stopping during an upgrade: end it first
		upCancel()
		handedTo = <-upDone
	}
	return fatal, handedTo
}

// stop ends the data path within the grace period, then the API and the
// store's maintenance (the caller makes the last stats save).
func (d *daemon) stop(engErr chan error) {
	grace, cancelGrace := context.WithTimeout(context.Background(), d.cfg.GracePeriod)
	defer cancelGrace()
	if err := d.eng.Shutdown(grace); err != nil {
		d.log.Warn("event loops did not stop cleanly", "err", err)
	}
	<-engErr
	if d.api != nil {
		apiCtx, cancelAPI := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancelAPI()
		if err := d.stopAPI(apiCtx); err != nil {
			d.log.Warn("REST API did not stop cleanly", "err", err)
		}
	}
	if d.maint != nil {
		d.maint()
	}
}
