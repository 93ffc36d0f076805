package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// dropPrivileges runs after every listener is bound. As root it makes the
// state file's folder (created if missing) and the file, if present,
// owned by uid:gid, then drops supplementary groups, gid and uid (SPEC §1).
// As another user it does nothing.
func dropPrivileges(cfg Config, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		return nil
	}
	dir := filepath.Dir(cfg.StateFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("state folder %s: %w", dir, err)
	}
	if err := os.Chown(dir, cfg.UID, cfg.GID); err != nil {
		return fmt.Errorf("state folder %s: %w", dir, err)
	}
	if err := os.Chown(cfg.StateFile, cfg.UID, cfg.GID); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state file %s: %w", cfg.StateFile, err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("dropping supplementary groups: %w", err)
	}
	if err := syscall.Setgid(cfg.GID); err != nil {
		return fmt.Errorf("switching to gid %d: %w", cfg.GID, err)
	}
	if err := syscall.Setuid(cfg.UID); err != nil {
		return fmt.Errorf("switching to uid %d: %w", cfg.UID, err)
	}
	log.Info("dropped privileges", "uid", cfg.UID, "gid", cfg.GID)
	return nil
}
