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
		Usage:       "replace every rule (and counter) with those of a file export wrote, or of a rules object",
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
			body, doc, closeBody, err := openRules(name, p.stdin)
			if err != nil {
				return err
			}
			defer closeBody()
			n := doc.Hosts
			if n == 0 && !c.Bool("allow-empty") {
				return errors.New(displayName(name) + " holds no rules: importing it would delete every rule " +
					"(add --allow-empty to do that)")
			}
			ctx, cancel := s.ctx(c.Context)
			defer cancel()
			send, what := s.client.Replace, ""
			if doc.State {
				send, what = s.client.ImportState, ", with the counters"
			}
			if err := send(ctx, body); err != nil {
				return err
			}
			if s.json {
				return writeString(p.stdout, okJSON)
			}
			return writeString(p.stdout, fmt.Sprintf("imported %d rule%s%s\n", n, plural(n), what))
		},
	}
}

// openRules opens the rules to import — the file name, or stdin for "-" —
// checks them with client.Check and returns them ready to stream from the
// start, with what they hold and a function that releases them. Standard input is copied to a temporary file while it is checked,
// so that a million rules are never held in memory.
func openRules(name string, stdin io.Reader) (*os.File, client.Document, func(), error) {
	var f *os.File
	var err error
	var doc client.Document
	var release func()
	if name == "-" {
		if f, err = os.CreateTemp("", "mantrid-import-*.json"); err != nil {
			return nil, doc, nil, errors.New("cannot buffer standard input: " + err.Error())
		}
		// Unlinked at once where the system allows, so that nothing is
		// left behind even if the command is killed.
		_ = os.Remove(f.Name())
		release = func() { _ = f.Close(); _ = os.Remove(f.Name()) }
		doc, err = client.Check(io.TeeReader(stdin, f))
	} else {
		if f, err = os.Open(name); err != nil {
			return nil, doc, nil, err
		}
		release = func() { _ = f.Close() }
		doc, err = client.Check(f)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		release()
		return nil, doc, nil, errors.New(displayName(name) + ": " + err.Error())
	}
	return f, doc, release, nil
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
