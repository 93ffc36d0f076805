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
// state file's folder and the store folder (each created if missing), the
// state file, if present, and the store's files owned by uid:gid, then
// drops supplementary groups, gid and uid (README: Running it). As another user it
// does nothing.
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
	if err := ownStore(cfg.StorePath(), cfg.UID, cfg.GID); err != nil {
		return err
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

// ownStore creates the store folder if missing and gives it and the files
// in it to uid:gid.
func ownStore(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("store folder %s cannot be used: %w", dir, pathCause(err))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store folder %s cannot be used: %w", dir, pathCause(err))
	}
	for _, e := range ents {
		if err := os.Lchown(filepath.Join(dir, e.Name()), uid, gid); err != nil {
			return fmt.Errorf("store folder %s cannot be used: %w", dir, pathCause(err))
		}
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("store folder %s cannot be used: %w", dir, pathCause(err))
	}
	return nil
}

// pathCause returns the cause of a path error without the path, which the
// message names already.
func pathCause(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}
