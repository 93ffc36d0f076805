package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/mantrid/mantrid/actions"
	"github.com/urfave/cli/v2"
)

// listFormat is the first Mantrid's row format for list ("%-35s %-25s %-8s"
// in Python): a longer value pushes the columns to its right.
const listFormat = "%-35s %-25s %-8s\n"

func listCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "list",
		Usage:       "list every rule as a table: HOST, ACTION, SUBDOMS",
		Description: listHelp,
		Action: func(c *cli.Context) error {
			s, ctx, cancel, err := begin(c, p, 0, 0, "no arguments", false)
			if err != nil {
				return err
			}
			defer cancel()
			rules, err := s.client.Rules(ctx)
			if err != nil {
				return err
			}
			if s.json {
				return writeObject(p.stdout, rules, appendCompact)
			}
			return writeRuleTable(p.stdout, rules)
		},
	}
}

// writeRuleTable writes the rules as the first Mantrid's list table, sorted
// by host.
func writeRuleTable(out io.Writer, rules map[string]json.RawMessage) error {
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, listFormat, "HOST", "ACTION", "SUBDOMS")
	for _, host := range slices.Sorted(maps.Keys(rules)) {
		action, subdoms := describeRule(rules[host])
		fmt.Fprintf(bw, listFormat, host, action, subdoms)
	}
	return bw.Flush()
}

// describeRule returns the ACTION and SUBDOMS cells of a rule: the action
// with its main option — proxy<h1:p1,h2:p2>, static<type>, redirect<url>,
// empty<code> — or the bare action name; and Python's True or False. A rule
// this client cannot parse (a newer server's) shows its bare action name.
func describeRule(raw json.RawMessage) (action, subdoms string) {
	r, err := actions.ParseRule(raw)
	if err != nil {
		return describeUnknown(raw)
	}
	switch r.Kind {
	case actions.Proxy:
		addrs := make([]string, len(r.Backends))
		for i, b := range r.Backends {
			addrs[i] = b.Addr()
		}
		action = "proxy<" + strings.Join(addrs, ",") + ">"
	case actions.Static:
		action = "static<" + r.Type + ">"
	case actions.Redirect:
		action = "redirect<" + r.RedirectTo + ">"
	case actions.Empty:
		action = "empty<" + strconv.Itoa(r.Code) + ">"
	default:
		action = r.Kind.String()
	}
	return action, pythonBool(r.Subdomains)
}

// describeUnknown describes a rule that actions.ParseRule refuses, as far
// as its shape allows.
func describeUnknown(raw json.RawMessage) (action, subdoms string) {
	action, subdoms = "?", "?"
	var triple []any
	if wireJSON.Unmarshal(raw, &triple) != nil {
		return action, subdoms
	}
	if len(triple) > 0 {
		if name, ok := triple[0].(string); ok {
			action = printable(name)
		}
	}
	if len(triple) > 2 {
		if b, ok := triple[2].(bool); ok {
			subdoms = pythonBool(b)
		}
	}
	return action, subdoms
}

// pythonBool spells b as the first Mantrid's Python client printed it.
func pythonBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
