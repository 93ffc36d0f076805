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
	"syscall"
	"time"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/loop"
	"github.com/mantrid/mantrid/mgmt"
	"github.com/mantrid/mantrid/mgmt/store"
	"github.com/mantrid/mantrid/static"
)

// daemon ties the parts together: the rule table (read by the event loops),
// the store that keeps it on disk and feeds it (written through the REST
// API), the data path and the API server.
type daemon struct {
	cfg   Config
	log   *slog.Logger
	table *hostmap.Table
	store *store.Local
	eng   *loop.Engine
	api   *mgmt.Server
	// mgmtToken is the REST API's token (management_token_file), or "".
	mgmtToken string
}

func newDaemon(cfg Config, log *slog.Logger, pages *static.Pages) *daemon {
	d := &daemon{cfg: cfg, log: log, table: hostmap.New(cfg.EventLoops)}
	d.eng = loop.New(loop.Config{
		Loops:              cfg.EventLoops,
		HeadTimeout:        cfg.HeadTimeout,
		IdleTimeout:        cfg.IdleTimeout,
		Limits:             httpparse.Limits{MaxHeadSize: cfg.MaxHeadSize, MaxURILength: cfg.MaxURILength, MaxHeaders: cfg.MaxHeaders},
		MaxConnections:     cfg.MaxConnections,
		ConnectTimeout:     cfg.ConnectTimeout,
		BackendTimeout:     cfg.BackendTimeout,
		BackendIdleTimeout: cfg.BackendIdleTimeout,
		MaxIdlePerBackend:  cfg.MaxIdlePerBackend,
		MaxDialsPerBackend: cfg.MaxDialsPerBackend,
		MaxParked:          cfg.MaxSpin,
		MaxPipelined:       cfg.MaxPipelined,
		Logger:             log,
	}, d.table, pages)
	return d
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
	refused := newRefusedRules(refusedPath(d.cfg.StateFile))
	if n := refused.Count(); n != 0 {
		d.log.Warn("rules of the state file were refused when the store was created", "refused_rules", n,
			"file", refusedPath(d.cfg.StateFile))
	}
	d.api = mgmt.NewServer(d.table, st, mgmt.ServerOptions{
		Logger:       d.log,
		SaveStats:    func() error { _, err := st.SaveStats(true); return err },
		RefusedRules: refused.Count,
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

// run serves until SIGTERM/SIGINT or a fatal error, then stops in order:
// listeners, requests under way (grace period), API, a last save.
func (d *daemon) run(lns []loop.Listener, mlns []net.Listener) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() { d.store.Maintain(ctx, d.cfg.SaveInterval) })
	for _, ln := range mlns {
		bg.Go(func() {
			if err := d.api.Serve(ln); err != nil {
				d.log.Error("REST API listener failed", "addr", ln.Addr().String(), "err", err)
			}
		})
		d.log.Info("management API listening", "addr", ln.Addr().String())
	}
	engErr := make(chan error, 1)
	go func() { engErr <- d.eng.Run(lns) }()
	for _, ln := range lns {
		d.log.Info("listening", "addr", ln.Addr().String(), "internal", ln.Internal)
	}
	d.log.Info("mantrid started", "rules", d.table.Len(), "event_loops", d.cfg.EventLoops,
		"max_connections", d.cfg.MaxConnections, "store", d.cfg.StorePath())

	var fatal error
	select {
	case err := <-engErr:
		fatal = fmt.Errorf("event loops: %w", err)
		engErr <- nil
	case sig := <-sigs:
		d.log.Info("stopping", "signal", sig.String(), "grace_period", d.cfg.GracePeriod)
	}
	d.stop(cancel, &bg, engErr)
	_, saveErr := d.store.SaveStats(true)
	closeErr := d.store.Close()
	if err := errors.Join(saveErr, closeErr); err != nil {
		return errors.Join(fatal, fmt.Errorf("saving the counters: %w", err))
	}
	if fatal != nil {
		return fatal
	}
	d.log.Info("stopped; counters saved", "store", d.cfg.StorePath())
	return nil
}

// stop ends the data path within the grace period, then the API and the
// store's maintenance (the caller makes the last stats save).
func (d *daemon) stop(cancel context.CancelFunc, bg *sync.WaitGroup, engErr chan error) {
	grace, cancelGrace := context.WithTimeout(context.Background(), d.cfg.GracePeriod)
	defer cancelGrace()
	if err := d.eng.Shutdown(grace); err != nil {
		d.log.Warn("event loops did not stop cleanly", "err", err)
	}
	<-engErr
	apiCtx, cancelAPI := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelAPI()
	if err := d.api.Shutdown(apiCtx); err != nil {
		d.log.Warn("REST API did not stop cleanly", "err", err)
	}
	cancel()
	bg.Wait()
}
