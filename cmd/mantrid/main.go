// Command mantrid is the Mantrid load balancer daemon: it reads its config
// file, binds its listeners (or takes them from systemd or from the
// process it upgrades), loads its rules from its rule store (created from
// the first Mantrid's state file the first time) and serves HTTP on gnet
// event loops until SIGTERM or SIGINT; SIGHUP reloads its config and
// static pages, SIGUSR2 upgrades it to a new binary. With --check it only
// checks its config file and state.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
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
		UsageText: "mantrid [-c PATH] [--debug]\nmantrid --check [-c PATH]",
		Description: "Routes each request by its Host to a rule (proxy, spin, redirect, static, empty) set at\n" +
			"runtime through the REST API (see mantrid-client). Without -c it reads\n" +
			DefaultConfigPath + " when that file exists, else runs on defaults.\n\n" +
			"Signals: SIGTERM or SIGINT stops it after the requests under way (grace_period);\n" +
			"SIGHUP re-reads the config file and static_dir without stopping; SIGUSR2 starts\n" +
			"the binary found at its path now, hands it the listening sockets and the rule\n" +
			"store, and stops this process once the new one serves.\n\n" +
			"--check (-t) checks the config file, the static pages and the store (or the state\n" +
			"file) it points to without changing anything, prints what mantrid would do, and\n" +
			"exits 0 when all is well, 1 with the problem (file:line for the config) if not.",
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "read the config file at `PATH`"},
			&cli.BoolFlag{Name: "debug", Usage: "log at DEBUG level, whatever log_level says"},
			&cli.BoolFlag{Name: "check", Aliases: []string{"t"}, Usage: "check the config and state, print what would be served, and exit"},
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
	level := new(slog.LevelVar)
	debug := c.Bool("debug")
	if debug {
		level.Set(slog.LevelDebug)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if c.Bool("check") {
		return check(c.String("config"), os.Stdout, log)
	}
	cfg, err := readConfig(c.String("config"), log)
	if err != nil {
		return err
	}
	if !debug {
		level.Set(cfg.LogLevel)
	}
	return serve(cfg, runOptions{log: log, level: level, debug: debug, path: c.String("config")})
}

// runOptions are the settings of a run that do not come from the config
// file.
type runOptions struct {
	log   *slog.Logger
	level *slog.LevelVar // set from log_level at each reload, unless debug
	debug bool           // --debug: DEBUG whatever log_level says
	path  string         // -c as given: "" means the default path, if present
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
func serve(cfg Config, o runOptions) error {
	log := o.log
	// A reload or upgrade asked for during the start waits for the end of
	// it instead of killing the process (their default action).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	nofile := raiseFDLimit(log)
	// The JSON coders compile on the other core while the rules load.
	go mgmt.Warm()
	up, err := upgradeFromEnv(log)
	if err != nil {
		return err
	}
	socks, err := inheritSockets(log)
	if err != nil {
		return err
	}
	pages, err := static.Load(cfg.StaticDir)
	if err != nil {
		socks.close()
		return err
	}
	token, err := loadManagementToken(cfg, log)
	if err != nil {
		socks.close()
		return err
	}
	lns, err := bindAll(cfg, socks)
	if err != nil {
		socks.close()
		return err
	}
	mlns, err := bindManagement(cfg, log, socks)
	if err != nil {
		closeAll(lns)
		socks.close()
		return err
	}
	socks.closeUnused()
	fail := func(err error) error {
		closeAll(lns)
		for _, l := range mlns {
			l.Close()
		}
		socks.close()
		return err
	}
	if err := dropPrivileges(cfg, log); err != nil {
		return fail(err)
	}
	d := newDaemon(cfg, o, nofile, pages, socks)
	d.mgmtToken = token
	for _, l := range mlns {
		d.apiAddrs = append(d.apiAddrs, l.Addr())
	}
	if up != nil {
		if err := up.takeStore(); err != nil {
			return fail(err)
		}
	}
	if err := d.openStore(); err != nil {
		return fail(err)
	}
	return d.run(lns, mlns, up, sigs)
}

// bindAll binds every bind and bind_internal listener before anything is
// served, or takes the socket passed in for it (socks); the first failure
// is fatal and says why in plain words.
func bindAll(cfg Config, socks *sockets) ([]loop.Listener, error) {
	var lns []loop.Listener
	fail := func(err error) ([]loop.Listener, error) {
		closeAll(lns)
		return nil, err
	}
	for _, group := range []struct {
		name     string
		addrs    []string
		internal bool
	}{{groupBind, cfg.Bind, false}, {groupInternal, cfg.BindInternal, true}} {
		for _, addr := range group.addrs {
			ln, sock, err := socks.listen(group.name, addr, listen)
			if err != nil {
				return fail(err)
			}
			lns = append(lns, loop.Listener{Listener: ln, Internal: group.internal, Shared: sock.shared})
		}
	}
	return lns, nil
}

// bindManagement binds the REST API listeners (see listenManagement), or
// takes the socket passed in for one (socks); either way one that other
// machines can reach needs a token (checkExposed). When bind_management
// is left at its default and this machine has no IPv6 loopback,
// [::1]:8042 is skipped with a warning instead of failing.
func bindManagement(cfg Config, log *slog.Logger, socks *sockets) ([]net.Listener, error) {
	var lns []net.Listener
	bind := func(addr string) (net.Listener, error) { return listenManagement(cfg, addr, log) }
	for _, addr := range cfg.BindManagement {
		ln, _, err := socks.listen(groupManagement, addr, bind)
		if err == nil {
			if err = checkExposed(cfg, addr, ln, log); err != nil {
				ln.Close()
			}
		}
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
