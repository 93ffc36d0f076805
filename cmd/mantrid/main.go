// Command mantrid is the Mantrid load balancer daemon: it reads its config
// file, loads its rules from the state file, binds its listeners and serves
// HTTP on gnet event loops until SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/loop"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/mantrid/mantrid/static"
	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:      "mantrid",
		Usage:     "HTTP load balancer for platforms that serve very many hostnames",
		UsageText: "mantrid [-c PATH] [--debug]",
		Description: "Routes each request by its Host to a rule (proxy, spin, redirect, static, empty) set at\n" +
			"runtime through the REST API (see mantrid-client). Without -c it reads\n" +
			DefaultConfigPath + " when that file exists, else runs on defaults.",
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "read the config file at `PATH`"},
			&cli.BoolFlag{Name: "debug", Usage: "log at DEBUG level"},
		},
		Action: run,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "mantrid: "+err.Error())
		os.Exit(1)
	}
}

func run(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see mantrid --help)", c.Args().First())
	}
	level := slog.LevelInfo
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := readConfig(c.String("config"), log)
	if err != nil {
		return err
	}
	return serve(cfg, log)
}

// readConfig loads the named file, or the default path when it exists.
func readConfig(path string, log *slog.Logger) (Config, error) {
	if path == "" {
		if _, err := os.Stat(DefaultConfigPath); err != nil {
			log.Info("no config file; running on defaults", "looked_at", DefaultConfigPath)
			return DefaultConfig(), nil
		}
		path = DefaultConfigPath
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return cfg, err
		}
		return cfg, fmt.Errorf("config file: %w", err)
	}
	return cfg, nil
}

// serve runs the daemon on cfg until a signal.
func serve(cfg Config, log *slog.Logger) error {
	nofile := raiseFDLimit(log)
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = max(int(nofile)-64, 32) / 2
	}
	pages, err := static.Load(cfg.StaticDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	snap, err := state.Load(cfg.StateFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := state.CheckWritable(cfg.StateFile); err != nil {
		return err
	}
	lns, err := bindAll(cfg)
	if err != nil {
		return err
	}
	rules := buildRules(cfg.EventLoops, snap)
	eng := loop.New(loop.Config{
		Loops:          cfg.EventLoops,
		HeadTimeout:    cfg.HeadTimeout,
		IdleTimeout:    cfg.IdleTimeout,
		Limits:         httpparse.Limits{MaxHeadSize: cfg.MaxHeadSize, MaxURILength: cfg.MaxURILength, MaxHeaders: cfg.MaxHeaders},
		MaxConnections: cfg.MaxConnections,
		Logger:         log,
	}, rules, pages)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	done := make(chan error, 1)
	go func() { done <- eng.Run(lns) }()
	for _, ln := range lns {
		log.Info("listening", "addr", ln.Addr().String(), "internal", ln.Internal)
	}
	log.Info("mantrid started", "rules", rules.Hosts.Len(), "event_loops", cfg.EventLoops, "max_connections", cfg.MaxConnections)
	select {
	case err := <-done:
		return fmt.Errorf("event loops: %w", err)
	case sig := <-sigs:
		log.Info("stopping", "signal", sig.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Stop(ctx); err != nil {
		log.Warn("event loops did not stop cleanly", "err", err)
	}
	<-done
	log.Info("stopped")
	return nil
}

// buildRules turns a loaded state snapshot into the routing table.
func buildRules(loops int, snap *state.Snapshot) *loop.Rules {
	rules := loop.NewRules(loops)
	rules.Unknown = actions.NewStats(loops, snap.Stats[state.UnknownHost])
	entries := make([]hostmap.Entry[*actions.Host], 0, len(snap.Hosts))
	for name, r := range snap.Hosts {
		h := &actions.Host{Name: name, Rule: r, Stats: actions.NewStats(loops, snap.Stats[name])}
		entries = append(entries, hostmap.Entry[*actions.Host]{Key: name, Value: h, Subdomains: r.Subdomains})
	}
	rules.Hosts.Replace(entries)
	return rules
}

// bindAll binds every bind and bind_internal listener before anything is
// served; the first failure is fatal and says why in plain words.
func bindAll(cfg Config) ([]loop.Listener, error) {
	var lns []loop.Listener
	fail := func(err error) ([]loop.Listener, error) {
		for _, l := range lns {
			l.Close()
		}
		return nil, err
	}
	for _, group := range []struct {
		addrs    []string
		internal bool
	}{{cfg.Bind, false}, {cfg.BindInternal, true}} {
		for _, addr := range group.addrs {
			ln, err := listen(addr)
			if err != nil {
				return fail(err)
			}
			lns = append(lns, loop.Listener{Listener: ln, Internal: group.internal})
		}
	}
	return lns, nil
}

// listen binds one address of SPEC §2 with an error an operator can act on.
func listen(addr string) (net.Listener, error) {
	network, a, err := ListenNetwork(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen(network, a)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("cannot listen on %s: the port is already in use", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need root)", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, fmt.Errorf("cannot listen on %s: no such address on this machine", addr)
	}
	return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
}

// raiseFDLimit raises RLIMIT_NOFILE: as root to 102400 (or the hard limit if
// higher), as a user the soft limit to the hard limit. It returns the soft
// limit in force.
func raiseFDLimit(log *slog.Logger) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	want := lim
	if os.Geteuid() == 0 {
		want.Max = max(lim.Max, 102400)
		want.Cur = want.Max
	} else {
		want.Cur = lim.Max
	}
	if want == lim {
		return lim.Cur
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		log.Warn("could not raise the file descriptor limit", "soft", lim.Cur, "hard", lim.Max, "err", err)
		return lim.Cur
	}
	log.Info("raised the file descriptor limit", "from", lim.Cur, "to", want.Cur)
	return want.Cur
}
