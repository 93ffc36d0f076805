package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt"
	"github.com/mantrid/mantrid/mgmt/state"
)

// refusedSuffix ends the name of the side file that keeps the entries of
// the state file left out when the store was created from it: state.json
// → state.json.refused.
const refusedSuffix = ".refused"

// maxRefusedLogged bounds the WARN lines of refused entries at the first
// start; the side file lists them all.
const maxRefusedLogged = 1000

// refusedPath returns the side file of the state file at stateFile.
func refusedPath(stateFile string) string { return stateFile + refusedSuffix }

// seed fills a new store from the first Mantrid's state file, if there is
// one (the upgrade path). The file itself is left as it was. Every rule
// that Mantrid's checks refuse (the first Mantrid loaded its state file
// unchecked) is left out rather than stopping the start: each gets a WARN
// line, and all are kept in the side file (refusedPath).
func (d *daemon) seed(b *hostmap.Builder) (map[string]actions.Counts, error) {
	im, err := state.ImportFile(d.cfg.StateFile, b)
	if errors.Is(err, fs.ErrNotExist) {
		d.log.Info("new store; no state file to import", "state_file", d.cfg.StateFile)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	side := refusedPath(d.cfg.StateFile)
	for i, r := range im.Refused {
		if i == maxRefusedLogged {
			d.log.Warn("more entries of the state file refused; all are in the side file",
				"more", len(im.Refused)-i, "file", side)
			break
		}
		what := "rule of the state file refused"
		if r.Rule == "" {
			what = "counters of the state file refused"
		}
		d.log.Warn(what, "host", r.Host, "error", mgmt.ImportCode(r.Err), "reason", mgmt.ImportReason(r.Err))
	}
	if err := writeRefused(side, im.Refused); err != nil {
		d.log.Error("the refused entries are not kept in a side file (the state file still holds them)", "err", err)
	}
	d.log.Info("imported the state file into the new store", "state_file", d.cfg.StateFile, "rules", im.Rules,
		"refused", len(im.Refused))
	return im.Stats, nil
}

// refusedEntry is one line of the side file.
type refusedEntry struct {
	Host   string          `json:"host"`
	Error  string          `json:"error"`
	Reason string          `json:"reason"`
	Rule   json.RawMessage `json:"rule,omitempty"`
	Stats  json.RawMessage `json:"stats,omitempty"`
}

// writeRefused writes the refused entries to the side file at path, one
// JSON object a line (JSON Lines): host, error (the API's error code),
// reason, and the rule and counters as the state file wrote them
// (compacted to one line). The file is written whole or not at all. With
// no refused entry, a side file left by an earlier store is removed: it
// describes a store that is gone.
func writeRefused(path string, refused []state.Refused) error {
	if len(refused) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range refused {
		e := refusedEntry{Host: r.Host, Error: mgmt.ImportCode(r.Err), Reason: mgmt.ImportReason(r.Err)}
		var err error
		if e.Rule, err = compact(r.Rule); err == nil {
			e.Stats, err = compact(r.Stats)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := enc.Encode(&e); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return writeFileAtomic(path, buf.Bytes(), 0o640)
}

// compact returns raw JSON on one line; nil for "".
func compact(raw string) (json.RawMessage, error) {
	if raw == "" {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// folder, fsynced and renamed over path, then fsyncs the folder.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// refusedRules counts the rules listed in a side file, for GET /process/.
// It reads the file again only when its size or modification time
// changed, so that an operator who deals with the refused rules and
// removes the file (or lines of it) sees the count follow. It is safe for
// concurrent use.
type refusedRules struct {
	path string

	mu   sync.Mutex
	size int64
	mod  time.Time
	n    int64
}

func newRefusedRules(path string) *refusedRules { return &refusedRules{path: path, size: -1} }

// Count returns how many lines of the side file hold a rule: 0 when there
// is no side file, -1 when it cannot be read.
func (r *refusedRules) Count() int64 {
	fi, err := os.Stat(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		return -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if fi.Size() == r.size && fi.ModTime().Equal(r.mod) {
		return r.n
	}
	n, err := countRefusedRules(r.path)
	if err != nil {
		return -1
	}
	r.size, r.mod, r.n = fi.Size(), fi.ModTime(), n
	return n
}

// countRefusedRules counts the lines of the side file at path whose
// object has a "rule" member.
func countRefusedRules(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20) // a line holds one rule; a rule is at most a few tens of KB
	n := int64(0)
	for sc.Scan() {
		var e struct {
			Rule json.RawMessage `json:"rule"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && len(e.Rule) > 0 {
			n++
		}
	}
	return n, sc.Err()
}
