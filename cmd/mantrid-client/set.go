package main

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"

	"github.com/mantrid/mantrid/mgmt/client"
	"github.com/urfave/cli/v2"
)

// setArgs is the first Mantrid's usage line of set, after the command name.
const setArgs = "<hostname> <action> <subdoms> [option=value, ...]"

// requiredOption returns the option action cannot do without and an
// example of it, as checked before sending (SPEC §1, §4); ok is false for
// the other actions, known or not, which are left to the server.
func requiredOption(action string) (name, example string, ok bool) {
	switch action {
	case "proxy":
		return "backends", "backends=10.0.0.2:8000,10.0.0.3:8000", true
	case "static":
		return "type", "type=test", true
	case "redirect":
		return "redirect_to", "redirect_to=https://ep.io", true
	case "empty":
		return "code", "code=403", true
	}
	return "", "", false
}

func setCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "set",
		Usage:       "add a hostname's rule, or replace it",
		ArgsUsage:   setArgs,
		Description: setHelp,
		Action: func(c *cli.Context) error {
			host, rule, err := parseSet(c.Args().Slice())
			if err != nil {
				return usageErrorOf(c, err.Error())
			}
			s, err := settingsOf(c, p)
			if err != nil {
				return err
			}
			ctx, cancel := s.ctx(c.Context)
			defer cancel()
			if err := s.client.Set(ctx, host, rule); err != nil {
				return err
			}
			if s.json {
				return writeString(p.stdout, okJSON)
			}
			return nil
		},
	}
}

// parseSet turns set's arguments into the hostname and the rule to send:
// [action, {option: value, …}, subdomains]. Option values are strings, as
// the first Mantrid sent them (the server accepts numeric strings), except
// proxy's backends, which become [[host, port], …] with numeric ports.
func parseSet(args []string) (string, json.RawMessage, error) {
	switch {
	case len(args) < 1 || args[0] == "":
		return "", nil, errorString("you must supply a hostname")
	case args[0] == "." || args[0] == "..":
		return "", nil, client.ErrNoHost
	case len(args) < 2 || args[1] == "":
		return "", nil, errorString("you must supply an action")
	case len(args) < 3 || !isBool(args[2]):
		return "", nil, errorString("you must supply true or false for the subdomains flag")
	}
	host, action := args[0], args[1]
	opts, err := parseOptions(args[3:])
	if err != nil {
		return "", nil, err
	}
	if name, example, ok := requiredOption(action); ok {
		if _, given := opts[name]; !given {
			return "", nil, errorString("the " + action + " action requires a " + name + " option, e.g. " + example)
		}
	}
	if b, ok := opts["backends"].(string); ok && action == "proxy" {
		if opts["backends"], err = parseBackends(b); err != nil {
			return "", nil, err
		}
	}
	rule, err := wireJSON.Marshal([]any{action, opts, strings.EqualFold(args[2], "true")})
	if err != nil {
		return "", nil, err
	}
	return host, rule, nil
}

// isBool reports whether s is true or false, in any case (the first
// Mantrid's client took True and False too).
func isBool(s string) bool {
	return strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
}

// parseOptions parses key=value arguments. An option without '=', with an
// empty name, or given twice is an error.
func parseOptions(args []string) (map[string]any, error) {
	opts := make(map[string]any, len(args))
	for _, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		switch {
		case !ok:
			return nil, errorString(arg + " is not a valid option (no =)")
		case key == "":
			return nil, errorString(arg + " is not a valid option (no name before =)")
		}
		if _, dup := opts[key]; dup {
			return nil, errorString("option " + key + " is given twice")
		}
		opts[key] = value
	}
	return opts, nil
}

// parseBackends parses proxy's backends=HOST:PORT[,HOST:PORT...] into
// [[host, port], …]; an IPv6 host is written [ADDR]:PORT and sent bare.
func parseBackends(s string) ([]any, error) {
	parts := strings.Split(s, ",")
	backends := make([]any, 0, len(parts))
	for _, part := range parts {
		part = strings.TrimSpace(part)
		host, port, err := net.SplitHostPort(part)
		if err != nil || host == "" {
			return nil, errorString("backends: " + strconv.Quote(part) + " is not HOST:PORT (IPv6: [ADDR]:PORT)")
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, errorString("backends: the port of " + strconv.Quote(part) + " must be a number from 1 to 65535")
		}
		backends = append(backends, []any{host, n})
	}
	return backends, nil
}

// errorString is a plain error message.
type errorString string

func (e errorString) Error() string { return string(e) }
