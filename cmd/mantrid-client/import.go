package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mantrid/mantrid/mgmt/client"
	"github.com/urfave/cli/v2"
)

func importCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "import",
		Usage:       "replace every rule with those of a JSON file (as export writes it)",
		ArgsUsage:   "FILE|-",
		Description: importHelp,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "allow-empty", Usage: "import even an empty object {}, which deletes every rule"},
		},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 1, 1, "one file name, or - for standard input"); err != nil {
				return err
			}
			s, err := settingsOf(c, p)
			if err != nil {
				return err
			}
			name := c.Args().First()
			body, n, closeBody, err := openRules(name, p.stdin)
			if err != nil {
				return err
			}
			defer closeBody()
			if n == 0 && !c.Bool("allow-empty") {
				return errors.New(displayName(name) + " holds no rules: importing it would delete every rule " +
					"(add --allow-empty to do that)")
			}
			ctx, cancel := s.ctx(c.Context)
			defer cancel()
			if err := s.client.Replace(ctx, body); err != nil {
				return err
			}
			if s.json {
				return writeString(p.stdout, okJSON)
			}
			return writeString(p.stdout, fmt.Sprintf("imported %d rule%s\n", n, plural(n)))
		},
	}
}

// openRules opens the rules to import — the file name, or stdin for "-" —
// checks them with client.CheckRules and returns them ready to stream from
// the start, with how many rules they hold and a function that releases
// them. Standard input is copied to a temporary file while it is checked,
// so that a million rules are never held in memory.
func openRules(name string, stdin io.Reader) (*os.File, int, func(), error) {
	var f *os.File
	var err error
	var n int
	var release func()
	if name == "-" {
		if f, err = os.CreateTemp("", "mantrid-import-*.json"); err != nil {
			return nil, 0, nil, errors.New("cannot buffer standard input: " + err.Error())
		}
		// Unlinked at once where the system allows, so that nothing is
		// left behind even if the command is killed.
		_ = os.Remove(f.Name())
		release = func() { _ = f.Close(); _ = os.Remove(f.Name()) }
		n, err = client.CheckRules(io.TeeReader(stdin, f))
	} else {
		if f, err = os.Open(name); err != nil {
			return nil, 0, nil, err
		}
		release = func() { _ = f.Close() }
		n, err = client.CheckRules(f)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		release()
		return nil, 0, nil, errors.New(displayName(name) + ": " + err.Error())
	}
	return f, n, release, nil
}

// displayName names the import source in messages.
func displayName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return printable(name)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
