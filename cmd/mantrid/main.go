// Command mantrid is the Mantrid load balancer daemon: it reads its config
// file, binds its listeners, loads its rules from its rule store (created
// from the first Mantrid's state file the first time) and serves HTTP on
// gnet event loops until SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/mantrid/mantrid/loop"
	"github.com/mantrid/mantrid/mgmt"
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
	// The JSON coders compile on the other core while the rules load.
	go mgmt.Warm()
	pages, err := static.Load(cfg.StaticDir)
	if err != nil {
		return err
	}
	token, err := loadManagementToken(cfg, log)
	if err != nil {
		return err
	}
	lns, err := bindAll(cfg)
	if err != nil {
		return err
	}
	mlns, err := bindManagement(cfg, log)
	if err != nil {
		closeAll(lns)
		return err
	}
	if err := dropPrivileges(cfg, log); err != nil {
		return err
	}
	d := newDaemon(cfg, log, pages)
	d.mgmtToken = token
	if err := d.openStore(); err != nil {
		closeAll(lns)
		for _, l := range mlns {
			l.Close()
		}
		return err
	}
	return d.run(lns, mlns)
}

// bindAll binds every bind and bind_internal listener before anything is
// served; the first failure is fatal and says why in plain words.
func bindAll(cfg Config) ([]loop.Listener, error) {
	var lns []loop.Listener
	fail := func(err error) ([]loop.Listener, error) {
		closeAll(lns)
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

// bindManagement binds the REST API listeners (see listenManagement). When
// bind_management is left at its default and this machine has no IPv6
// loopback, [::1]:8042 is skipped with a warning instead of failing.
func bindManagement(cfg Config, log *slog.Logger) ([]net.Listener, error) {
	var lns []net.Listener
	for _, addr := range cfg.BindManagement {
		ln, err := listenManagement(cfg, addr, log)
		if err != nil {
			if cfg.mgmtDefaulted && strings.HasPrefix(addr, "[::1]") && errors.Is(err, syscall.EADDRNOTAVAIL) {
				log.Warn("no IPv6 loopback; the REST API listens on IPv4 only", "skipped", addr)
				continue
			}
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func closeAll(lns []loop.Listener) {
	for _, l := range lns {
		l.Close()
	}
}

// listen binds one address of SPEC §2 with an error an operator can act on.
func listen(addr string) (net.Listener, error) {
	network, a, err := ListenNetwork(addr)
	if err != nil {
		return nil, err
	}
	// No TCP keep-alive on accepted connections: Mantrid's own timeouts
	// (head, idle, backend) end every connection state except tunnels,
	// which turn it on themselves; setting it cost four setsockopt calls
	// per connection.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), network, a)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("cannot listen on %s: the port is already in use", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need root)", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, fmt.Errorf("cannot listen on %s: no such address on this machine: %w", addr, syscall.EADDRNOTAVAIL)
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
	tries := []syscall.Rlimit{{Cur: lim.Max, Max: lim.Max}}
	if os.Geteuid() == 0 && lim.Max < 102400 {
		tries = append([]syscall.Rlimit{{Cur: 102400, Max: 102400}}, tries...)
	}
	for _, want := range tries {
		if want.Cur <= lim.Cur {
			return lim.Cur
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			log.Info("raised the file descriptor limit", "from", lim.Cur, "to", want.Cur)
			return want.Cur
		}
	}
	log.Warn("could not raise the file descriptor limit", "soft", lim.Cur, "hard", lim.Max)
	return lim.Cur
}
