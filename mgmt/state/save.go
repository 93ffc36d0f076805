package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mantrid/mantrid/actions"
)

// newFileMode is the permission of a state file that did not exist yet; a
// file that exists keeps its permission across saves.
const newFileMode fs.FileMode = 0o644

// writeBuffer is the size of the buffer between the encoder and the file.
const writeBuffer = 256 << 10

// Save writes s to path atomically (see SaveEntries), as Encode writes it.
func Save(path string, s *Snapshot) error {
	return writeAtomic(path, func(w io.Writer) error { return Encode(w, s) })
}

// SaveEntries writes hosts and unknown to path atomically, as EncodeEntries
// writes them: into a temporary file in the same folder, which is fsynced,
// renamed over path, and followed by an fsync of the folder. A crash at any
// moment leaves the old file or the new one. On error the old file is left
// as it was and the temporary file is removed.
func SaveEntries(path string, hosts []Entry, unknown actions.Counts) error {
	return writeAtomic(path, func(w io.Writer) error { return EncodeEntries(w, hosts, unknown) })
}

// writeAtomic writes path through encode with the temporary-file, fsync,
// rename, fsync-folder sequence.
func writeAtomic(path string, encode func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("state file %s: %w", path, err)
		}
	}()
	mode := newFileMode
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, writeBuffer)
	if err = encode(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// CheckWritable fails when the state file cannot be written: its folder
// must exist and take a new file. It creates and removes a probe file.
func CheckWritable(path string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return fmt.Errorf("state file %s cannot be written: %w", path, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
