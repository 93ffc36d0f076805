package etcdstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// markName is the file, in the local store's folder, that says which etcd
// revision the local copy reflects. It is written after the changes it
// covers are in the local store, so it may lag behind them but never
// run ahead: a start then replays a few changes again from etcd, which
// is harmless (each sets a host to its value at that revision).
const markName = "etcd.revision"

// mark is the content of the revision file.
type mark struct {
	// Cluster is the etcd cluster's id, Prefix the key prefix: a copy of
	// another cluster or prefix is reloaded whole.
	Cluster    uint64 `json:"cluster_id"`
	Prefix     string `json:"prefix"`
	Generation string `json:"generation"`
	Revision   int64  `json:"revision"`
}

// readMark reads the revision file; a missing one is the zero mark.
func readMark(dir string) (mark, error) {
	var m mark
	b, err := os.ReadFile(filepath.Join(dir, markName))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return mark{}, fmt.Errorf("%s: %w", markName, err)
	}
	return m, nil
}

// saveMark writes the revision file (temporary file, rename).
func (s *Store) saveMark() error {
	s.mu.Lock()
	m := mark{Cluster: s.cluster, Prefix: s.prefix, Generation: s.gen, Revision: s.applied}
	s.mu.Unlock()
	if m.Revision == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	path := filepath.Join(s.dir, markName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("etcd revision file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("etcd revision file: %w", err)
	}
	return nil
}
