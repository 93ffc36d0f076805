package main

import (
	"github.com/urfave/cli/v2"
)

func getCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "get",
		Usage:       "print a hostname's rule as JSON",
		ArgsUsage:   "<hostname>",
		Description: getHelp,
		Action: func(c *cli.Context) error {
			s, ctx, cancel, err := begin(c, p, 1, 1, "one hostname", true)
			if err != nil {
				return err
			}
			defer cancel()
			host := c.Args().First()
			rule, err := s.client.Get(ctx, host)
			if err != nil {
				return err
			}
			if rule == nil {
				if !s.json {
					_ = writeString(p.stderr, "mantrid-client: "+printable(host)+" has no rule\n")
				}
				return writeString(p.stdout, "null\n")
			}
			line, err := appendCompact(nil, rule)
			if err != nil {
				return err
			}
			_, err = p.stdout.Write(append(line, '\n'))
			return err
		},
	}
}

func deleteCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "delete",
		Usage:       "delete a hostname's rule (and its statistics)",
		ArgsUsage:   "<hostname>",
		Description: deleteHelp,
		Action: func(c *cli.Context) error {
			s, ctx, cancel, err := begin(c, p, 1, 1, "one hostname", true)
			if err != nil {
				return err
			}
			defer cancel()
			if err := s.client.Delete(ctx, c.Args().First()); err != nil {
				return err
			}
			if s.json {
				return writeString(p.stdout, okJSON)
			}
			return nil
		},
	}
}

func exportCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "export",
		Usage:       "print every rule and every host's counters as a state file, for import",
		Description: exportHelp,
		Action: func(c *cli.Context) error {
			s, ctx, cancel, err := begin(c, p, 0, 0, "no arguments", false)
			if err != nil {
				return err
			}
			defer cancel()
			st, err := s.client.State(ctx)
			if err != nil {
				return err
			}
			return writeState(p.stdout, st)
		},
	}
}
