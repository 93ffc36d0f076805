package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/client"
	"github.com/urfave/cli/v2"
)

// Exit statuses.
const (
	exitOK      = 0 // success
	exitFailure = 1 // the server refused, could not be reached, or a file could not be read
	exitUsage   = 2 // the command line is wrong
)

// defaultTimeout is --timeout's default: how long one command may wait for
// the server.
const defaultTimeout = time.Minute

// process is what one run of the command takes from its process: the
// standard streams and the environment. Tests inject their own.
type process struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError is a wrong command line. run prints it with the usage line of
// the command and exits with exitUsage.
type usageError struct {
	msg   string // what is wrong
	usage string // the usage line, without "mantrid-client "
	help  string // how to get help, without "mantrid-client "
}

func (e *usageError) Error() string { return e.msg }

// run runs the command line args (args[0] is the program name) and returns
// the exit status. Errors are printed to p.stderr as "mantrid-client: …",
// followed by the entries the server refused when it lists them (an
// import), one a line.
func run(args []string, p process) int {
	err := newApp(p).Run(args)
	if err == nil {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(p.stderr, "mantrid-client: %s\nUsage: mantrid-client %s\nRun 'mantrid-client %s' for details.\n",
			printable(ue.msg), ue.usage, ue.help)
		return exitUsage
	}
	fmt.Fprintf(p.stderr, "mantrid-client: %s\n", printable(err.Error()))
	var se *client.ServerError
	if errors.As(err, &se) {
		for _, r := range se.API.Refused {
			fmt.Fprintf(p.stderr, "  refused %s: %s: %s\n", printable(strconv.Quote(r.Host)), printable(r.Code), printable(r.Detail))
		}
	}
	var ec cli.ExitCoder // cli's own errors, such as "No help topic for 'x'"
	if errors.As(err, &ec) {
		return exitUsage
	}
	return exitFailure
}

// printable replaces control characters, which a server's error detail
// could hold, so that nothing reaches the terminal raw.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// newApp builds the command-line application for one run. Help goes to
// p.stdout; errors are returned to run, never printed or exited on by cli.
func newApp(p process) *cli.App {
	app := &cli.App{
		Name:           "mantrid-client",
		Usage:          "manage the rules of a running Mantrid load balancer",
		UsageText:      "mantrid-client " + appUsage,
		Description:    appDescription,
		Flags:          sharedFlags(),
		Commands:       commands(p),
		Reader:         p.stdin,
		Writer:         p.stdout,
		ErrWriter:      p.stderr,
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError(appUsage, "--help"),
		Action: func(c *cli.Context) error {
			msg := "no command given: use one of " + commandNames
			if c.Args().Present() {
				msg = fmt.Sprintf("%q is not a command: use one of %s", c.Args().First(), commandNames)
			}
			return &usageError{msg: msg, usage: appUsage, help: "--help"}
		},
	}
	for _, cmd := range app.Commands {
		cmd.Flags = append(cmd.Flags, sharedFlags()...)
		cmd.OnUsageError = onUsageError(usageLine(cmd), "help "+cmd.Name)
	}
	return app
}

// commands returns the commands, in the order --help lists them.
func commands(p process) []*cli.Command {
	return []*cli.Command{
		listCommand(p), getCommand(p), setCommand(p), deleteCommand(p),
		statsCommand(p), nodesCommand(p), exportCommand(p), importCommand(p),
	}
}

const commandNames = "list, get, set, delete, stats, nodes, export, import"

// sharedFlags returns new instances of the flags every command takes, both
// before the command (global) and after it.
func sharedFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "url", Usage: "talk to Mantrid's REST API at `URL`, or at unix:PATH for a Unix socket " +
			"(default: $" + api.EnvURL + ", else " + api.DefaultURL + ")"},
		&cli.StringFlag{Name: "token-file", Usage: "send the token in the file at `PATH` " +
			"(default: $" + api.EnvToken + ", else no token)"},
		&cli.BoolFlag{Name: "json", Usage: "print data as JSON instead of tables and text"},
		&cli.DurationFlag{Name: "timeout", Value: defaultTimeout,
			Usage: "give up when the server has not answered within `DURATION` (0: wait forever)"},
	}
}

func onUsageError(usage, help string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		return &usageError{msg: err.Error(), usage: usage, help: help}
	}
}

// settings are the shared flags of a run, resolved.
type settings struct {
	client  *client.Client
	json    bool
	timeout time.Duration
}

// settingsOf resolves the shared flags of c: a flag after the command wins
// over the same flag before it; --url wins over $MANTRID_URL, which wins
// over api.DefaultURL; --token-file wins over $MANTRID_TOKEN.
func settingsOf(c *cli.Context, p process) (*settings, error) {
	s := &settings{timeout: defaultTimeout}
	flagURL, tokenFile := "", ""
	urlSet, tokenSet, timeoutSet := false, false, false
	for _, l := range c.Lineage() {
		s.json = s.json || l.Bool("json")
		if !urlSet && l.IsSet("url") {
			flagURL, urlSet = l.String("url"), true
		}
		if !tokenSet && l.IsSet("token-file") {
			tokenFile, tokenSet = l.String("token-file"), true
		}
		if !timeoutSet && l.IsSet("timeout") {
			s.timeout, timeoutSet = l.Duration("timeout"), true
		}
	}
	token, err := pickToken(tokenFile, tokenSet, p.getenv)
	if err != nil {
		return nil, err
	}
	var opts []client.Option
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	base := pickURL(flagURL, urlSet, p.getenv)
	cl, err := client.New(base, opts...)
	if err != nil {
		return nil, usageErrorOf(c, err.Error())
	}
	s.client = cl
	return s, nil
}

// pickToken returns the API token: the content of the --token-file when
// given, else $MANTRID_TOKEN, without the white space around it; "" for
// none. A token file that cannot be read, is empty, or holds what cannot
// be a token is an error.
func pickToken(file string, fileSet bool, getenv func(string) string) (string, error) {
	if !fileSet {
		tok := strings.TrimSpace(getenv(api.EnvToken))
		if tok == "" {
			return "", nil
		}
		if err := api.CheckToken(tok); err != nil {
			return "", fmt.Errorf("$%s: %w", api.EnvToken, err)
		}
		return tok, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if err := api.CheckToken(tok); err != nil {
		return "", fmt.Errorf("token file %s: %w", file, err)
	}
	return tok, nil
}

// pickURL returns the API base URL: the --url flag when given, else
// $MANTRID_URL when not empty, else api.DefaultURL.
func pickURL(flagURL string, flagSet bool, getenv func(string) string) string {
	if flagSet {
		return flagURL
	}
	if env := getenv(api.EnvURL); env != "" {
		return env
	}
	return api.DefaultURL
}

// ctx returns the context for the command's requests, ending after the
// --timeout (none when it is 0).
func (s *settings) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	if s.timeout <= 0 {
		return context.WithCancel(parent)
	}
	return context.WithTimeout(parent, s.timeout)
}

// usageErrorOf returns a usage error of c's command.
func usageErrorOf(c *cli.Context, msg string) error {
	return &usageError{msg: msg, usage: usageLine(c.Command), help: "help " + c.Command.Name}
}

// checkHost refuses a hostname argument that cannot name a rule (empty,
// "." or ".."), as a usage error of c's command.
// begin is every command's prologue: it checks the number of arguments
// (and, when host is true, that the first is a hostname), reads the global
// settings and returns a context bounded by --timeout. On error cancel is a
// no-op.
func begin(c *cli.Context, p process, lo, hi int, what string, host bool) (*settings, context.Context, context.CancelFunc, error) {
	noop := func() {}
	if err := wantArgs(c, lo, hi, what); err != nil {
		return nil, nil, noop, err
	}
	if host {
		if err := checkHost(c, c.Args().First()); err != nil {
			return nil, nil, noop, err
		}
	}
	s, err := settingsOf(c, p)
	if err != nil {
		return nil, nil, noop, err
	}
	ctx, cancel := s.ctx(c.Context)
	return s, ctx, cancel, nil
}

func checkHost(c *cli.Context, host string) error {
	if host == "" || host == "." || host == ".." {
		return usageErrorOf(c, client.ErrNoHost.Error())
	}
	return nil
}

// usageLine returns cmd's usage line without "mantrid-client ".
func usageLine(cmd *cli.Command) string {
	return strings.TrimSpace(cmd.Name + " " + cmd.ArgsUsage)
}

// wantArgs checks that c has min to max arguments.
func wantArgs(c *cli.Context, min, max int, what string) error {
	n := c.NArg()
	if n >= min && n <= max {
		return nil
	}
	msg := c.Command.Name + " takes " + what
	if n > max {
		msg += fmt.Sprintf(", not %q", c.Args().Get(max))
		if strings.HasPrefix(c.Args().Get(max), "-") {
			msg += " (options go before the arguments)"
		}
	}
	return usageErrorOf(c, msg)
}
