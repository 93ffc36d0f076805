package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/mantrid/mantrid/mgmt/store"
	"github.com/mantrid/mantrid/static"
)

// check is mantrid --check (-t), like nginx -t: it reads the config file
// at path (the default path when ""), the static pages and the rules the
// config points to (the store when it exists, else the state file),
// writes what mantrid would do to out, and returns the first problem.
// It binds nothing, writes no file and takes no lock, so it can run beside
// the mantrid that uses the same files.
func check(path string, out io.Writer, log *slog.Logger) error {
	cfg, err := readConfig(path, log)
	if err != nil {
		return err
	}
	switch _, err := os.Stat(DefaultConfigPath); {
	case path != "":
		fmt.Fprintf(out, "config %s: syntax ok\n", path)
	case err == nil:
		fmt.Fprintf(out, "config %s: syntax ok\n", DefaultConfigPath)
	default:
		fmt.Fprintf(out, "config: no file at %s; the defaults\n", DefaultConfigPath)
	}
	for _, g := range []struct{ what, addrs string }{
		{"public", strings.Join(cfg.Bind, " ")}, {"internal", strings.Join(cfg.BindInternal, " ")},
		{"management API", strings.Join(cfg.BindManagement, " ")},
	} {
		if g.addrs != "" {
			fmt.Fprintf(out, "listen %s: %s\n", g.what, g.addrs)
		}
	}
	pages, err := static.Load(cfg.StaticDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "static_dir %s: %d pages (built-in included)\n", cfg.StaticDir, pages.Len())
	if err := checkRules(cfg, out, log); err != nil {
		return err
	}
	fmt.Fprintln(out, "check passed")
	return nil
}

// checkRules reads the store read-only, or the state file that would seed
// a new one, and prints how many rules it holds.
func checkRules(cfg Config, out io.Writer, log *slog.Logger) error {
	dir := cfg.StorePath()
	if store.Exists(dir) {
		table := hostmap.New(1)
		in, err := store.Inspect(dir, table)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "store %s: %d rules at revision %d, %d journal files\n", dir, table.Len(), in.Revision, in.Journals)
		if in.TornBytes > 0 {
			log.Warn("the journal ends in an unfinished record, which the next start sets aside", "store", dir, "bytes", in.TornBytes)
		}
		if in.StatsErr != nil {
			log.Warn("the stats file is damaged; the next start sets it aside and counts from zero", "err", in.StatsErr)
		}
		return nil
	}
	b := hostmap.New(1).NewBuilder(0)
	_, err := state.ImportFile(cfg.StateFile, b)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(out, "store %s: none yet, and no state file %s: would start with no rules\n", dir, cfg.StateFile)
		return nil
	case err != nil:
		return fmt.Errorf("state file %s: %w", cfg.StateFile, err)
	}
	fmt.Fprintf(out, "store %s: none yet; would be created from state file %s: %d rules\n", dir, cfg.StateFile, b.Len())
	return nil
}
