package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes the store folder's LOCK file with flock, so that two
// processes never write one store. The lock goes when the file is closed
// or the process ends, however it ends.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store folder %s cannot be used: %w", dir, pathCause(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("store %s is in use by another process (a mantrid running on the same state_file or store_dir?)", dir)
		}
		return nil, fmt.Errorf("store %s: lock: %w", dir, err)
	}
	return f, nil
}
