package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/loop"
	"github.com/mantrid/mantrid/mgmt"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/mantrid/mantrid/static"
)

// daemon ties the parts together: the rule store (written by the REST API,
// read by the event loops), the data path, the API server and the saver.
type daemon struct {
	cfg   Config
	log   *slog.Logger
	store *mgmt.Store
	eng   *loop.Engine
	api   *mgmt.Server
	saver *mgmt.Saver
}

func newDaemon(cfg Config, log *slog.Logger, snap *state.Snapshot, pages *static.Pages) *daemon {
	d := &daemon{cfg: cfg, log: log}
	d.store = mgmt.NewStore(cfg.EventLoops, snap, d.rulesChanged)
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
	}, &loop.Rules{Hosts: d.store.Hosts(), Unknown: d.store.Unknown()}, pages)
	d.api = mgmt.NewServer(d.store, mgmt.ServerOptions{Logger: log})
	d.saver = mgmt.NewSaver(d.store, cfg.StateFile, cfg.SaveInterval, log)
	return d
}

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
	bg.Go(func() { d.saver.Run(ctx) })
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
	d.log.Info("mantrid started", "rules", d.store.Hosts().Len(), "event_loops", d.cfg.EventLoops,
		"max_connections", d.cfg.MaxConnections, "state_file", d.cfg.StateFile)

	var fatal error
	select {
	case err := <-engErr:
		fatal = fmt.Errorf("event loops: %w", err)
		engErr <- nil
	case sig := <-sigs:
		d.log.Info("stopping", "signal", sig.String(), "grace_period", d.cfg.GracePeriod)
	}
	d.stop(cancel, &bg, engErr)
	if err := d.saver.Flush(); err != nil {
		return errors.Join(fatal, fmt.Errorf("saving state: %w", err))
	}
	if fatal != nil {
		return fatal
	}
	d.log.Info("stopped; state saved", "state_file", d.cfg.StateFile)
	return nil
}

// stop ends the data path within the grace period, then the API and the
// saver's loop (the caller makes the last save).
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
