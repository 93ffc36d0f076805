package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/mgmt"
	"github.com/mantrid/mantrid/mgmt/api"
)

// maxSocketPath is the longest Unix socket path Linux takes: sun_path
// holds 108 bytes with the final NUL (unix(7)).
const maxSocketPath = 107

// addManagementAddr adds a bind_management value: host:port as for bind,
// or unix:PATH, an absolute path for a Unix socket.
func addManagementAddr(c *Config, v string) error {
	path, unix := strings.CutPrefix(v, api.UnixPrefix)
	if !unix {
		return addAddr(&c.BindManagement, &c.mgmtDefaulted, v)
	}
	switch {
	case !filepath.IsAbs(path):
		return fmt.Errorf("address %q: a Unix socket needs an absolute path (unix:/run/mantrid/api.sock)", v)
	case len(path) > maxSocketPath:
		return fmt.Errorf("address %q: a Unix socket path is at most %d bytes", v, maxSocketPath)
	case strings.ContainsRune(path, 0):
		return errors.New("path contains a NUL byte")
	}
	if c.mgmtDefaulted {
		c.BindManagement, c.mgmtDefaulted = nil, false
	}
	c.BindManagement = append(c.BindManagement, v)
	return nil
}

// setManagementHosts sets management_hosts: a comma-separated list of
// hostnames or IP addresses, without ports.
func setManagementHosts(c *Config, v string) error {
	hosts := strings.Split(v, ",")
	for i := range hosts {
		hosts[i] = strings.TrimSpace(hosts[i])
	}
	if err := mgmt.CheckHosts(hosts); err != nil {
		return err
	}
	c.ManagementHosts = hosts
	return nil
}

// loadManagementToken reads the token of management_token_file, if set,
// without the white space around it. It runs before privileges are
// dropped, so the file may be root's alone. An unreadable file, or one
// that holds no token, is an error; a file other users may read or write
// gets a warning.
func loadManagementToken(cfg Config, log *slog.Logger) (string, error) {
	path := cfg.ManagementTokenFile
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("management_token_file %s cannot be read: %w", path, pathCause(err))
	}
	tok := strings.TrimSpace(string(b))
	if err := api.CheckToken(tok); err != nil {
		return "", fmt.Errorf("management_token_file %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o066 != 0 {
		log.Warn("management_token_file is open to other users; chmod 600 it", "file", path,
			"mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	return tok, nil
}

// listenManagement binds one bind_management address: TCP, or a Unix
// socket for unix:PATH (listenUnix). Whether other machines may reach it
// is checkExposed's to say.
func listenManagement(cfg Config, addr string, log *slog.Logger) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, api.UnixPrefix); ok {
		return listenUnix(cfg, path, log)
	}
	return listen(addr)
}

// checkExposed refuses a REST API listener that other machines can reach
// when no token guards it, unless management_insecure allows it (then
// with a warning).
func checkExposed(cfg Config, addr string, ln net.Listener, log *slog.Logger) error {
	if cfg.ManagementTokenFile != "" || !exposed(ln.Addr()) {
		return nil
	}
	if !cfg.ManagementInsecure {
		return fmt.Errorf("bind_management %s is not a loopback address and no management_token_file is set, "+
			"so anyone who reaches it could change every rule: set management_token_file "+
			"(or management_insecure = true to allow it)", addr)
	}
	log.Warn("the REST API is open to other machines without a token (management_insecure = true)",
		"addr", ln.Addr().String())
	return nil
}

// exposed reports whether a TCP listener on a is reachable from other
// machines: it is not on a loopback address (0.0.0.0 and [::] are every
// address).
func exposed(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && !ta.IP.IsLoopback()
}

// listenUnix serves on a Unix socket at path, with mode 0660; as root it
// gives the socket to uid:gid, who then run the API, so members of gid
// can use it. Its folder is created if missing. A socket file left by a
// process that died is removed first; one that a live process listens on
// is an error.
func listenUnix(cfg Config, path string, log *slog.Logger) (net.Listener, error) {
	fail := func(err error) (net.Listener, error) {
		return nil, fmt.Errorf("cannot listen on %s%s: %w", api.UnixPrefix, path, err)
	}
	root := os.Geteuid() == 0
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(pathCause(err))
		}
		if root {
			if err := os.Chown(dir, cfg.UID, cfg.GID); err != nil {
				return fail(pathCause(err))
			}
		}
	}
	if err := removeStaleSocket(path, log); err != nil {
		return fail(err)
	}
	// The mask makes the socket 0660 from its creation: there is no moment
	// when others could connect. Nothing else creates files while the
	// listeners are bound.
	old := syscall.Umask(0o117)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return fail(sysCause(err))
	}
	if root {
		if err := os.Chown(path, cfg.UID, cfg.GID); err != nil {
			ln.Close()
			return fail(pathCause(err))
		}
	}
	return ln, nil
}

// removeStaleSocket removes the socket file at path when no process
// listens on it (a Mantrid that was killed leaves its socket behind). A
// path that is not a socket, or that a process answers on, is an error.
func removeStaleSocket(path string, log *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return pathCause(err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return errors.New("the path exists and is not a socket")
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return errors.New("another process is listening on it")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot tell whether another process listens on it: %w", sysCause(err))
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("removing the stale socket: %w", pathCause(err))
	}
	log.Info("removed a stale socket that no process listened on", "path", path)
	return nil
}

// sysCause returns the errno inside a net error, if any, else err: the
// message names the address already.
func sysCause(err error) error {
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		return errno
	}
	return err
}
