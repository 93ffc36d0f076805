package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// An upgrade (SIGUSR2) replaces the running process with the binary now at
// its path without refusing or resetting a connection, and without losing a
// rule change or letting a process that cannot keep it acknowledge it:
//
//  1. The old process starts the binary that os.Executable names now (a
//     file replaced since the start is the new one) with its own arguments
//     and environment, its listening sockets (envListenFDs, from fd 3) and
//     one end of a control socket (envUpgradeFD). From then on both
//     processes accept on the shared sockets.
//  2. The new process reads its config, loads its pages, takes the sockets
//     (binding what is new) and writes "store". Until then the old process
//     has changed nothing: a new process that fails just exits.
//  3. The old process stops its REST API: it stops accepting on the
//     management sockets (new API connections wait in their queues), lets
//     the requests under way finish (each change is on disk before it is
//     answered), saves the counters, closes the store, which releases its
//     lock, and writes "go".
//  4. The new process opens the store, which holds every change the old
//     one acknowledged, starts its event loops and its API, and writes
//     "ready" once its loops accept.
//  5. The old process tells systemd the new main pid, stops accepting
//     without shutting the sockets down, and drains as at SIGTERM: answers
//     carry Connection: close, so keep-alive clients reconnect to the new
//     process.
//
// A new process that exits, or takes longer than upgradeTimeout for a
// step, is killed (it is this process's child) and the old process goes on
// serving; if it had closed the store, it opens it again, with whatever
// the new process committed, and serves its API again.

// envUpgradeFD names the new process's end of the control socket.
const envUpgradeFD = "MANTRID_UPGRADE_FD"

// upgradeTimeout bounds each wait of an upgrade: for the new process to be
// ready for the store, for the API's requests under way, and for the new
// process to load the store and serve.
const upgradeTimeout = 2 * time.Minute

// upgrade runs steps 1, 3 and 5 in the old process; it returns the pid of
// the new process once that serves, or 0 when this process goes on. The
// caller owns the goroutine; ctx ends an upgrade under way (SIGTERM).
func (d *daemon) upgrade(ctx context.Context) int {
	exe, err := os.Executable()
	if err != nil {
		d.log.Error("upgrade failed: the path of the binary is unknown; this process goes on serving", "err", err)
		return 0
	}
	cmd, ctl, err := d.startNew(exe)
	if err != nil {
		d.log.Error("upgrade failed: cannot start the new binary; this process goes on serving", "exe", exe, "err", err)
		return 0
	}
	defer ctl.Close()
	pid := cmd.Process.Pid
	d.log.Info("upgrade: started the new binary", "exe", exe, "pid", pid)
	released := false
	fail := func(why string, err error) int {
		ctl.Close()
		_ = cmd.Process.Kill() // an error means that it has exited already
		exit := cmd.Wait()
		d.log.Error("upgrade failed: "+why+"; this process goes on serving", "pid", pid, "err", err, "new_process", exit)
		if released {
			if err := d.takeStoreBack(); err != nil {
				d.log.Error("upgrade: cannot open the store again; the REST API is off until a restart", "err", err)
			}
		}
		return 0
	}
	stop := context.AfterFunc(ctx, func() { _ = ctl.SetReadDeadline(time.Now()) })
	defer stop()
	br := bufio.NewReader(ctl)
	if err := expect(ctx, ctl, br, "store"); err != nil {
		return fail("the new process did not get ready for the store", err)
	}
	released = true
	if err := d.releaseStore(); err != nil {
		d.log.Error("upgrade: saving the counters before the hand-over", "err", err)
	}
	if _, err := io.WriteString(ctl, "go\n"); err != nil {
		return fail("the new process went away", err)
	}
	if err := expect(ctx, ctl, br, "ready"); err != nil {
		return fail("the new process did not start serving", err)
	}
	sdNotify(fmt.Sprintf("MAINPID=%d", pid))
	return pid
}

// expect reads the next line of the control socket and checks that it is
// want.
func expect(ctx context.Context, ctl net.Conn, br *bufio.Reader, want string) error {
	_ = ctl.SetReadDeadline(time.Now().Add(upgradeTimeout))
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := br.ReadString('\n')
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("it exited (its own log says why)")
	case err != nil:
		return err
	case line != want+"\n":
		return fmt.Errorf("it said %q instead of %q", strings.TrimSpace(line), want)
	}
	return nil
}

// startNew starts exe with this process's arguments, environment and
// standard output and error, the listening sockets and one end of a new
// control socket; it returns the other end.
func (d *daemon) startNew(exe string) (*exec.Cmd, net.Conn, error) {
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	ours := os.NewFile(uintptr(pair[0]), "upgrade control")
	theirs := os.NewFile(uintptr(pair[1]), "upgrade control")
	defer theirs.Close()
	ctl, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var names []string
	for _, s := range d.socks.inUse {
		fd, err := dupFD(s.fd)
		if err != nil {
			ctl.Close()
			return nil, nil, fmt.Errorf("listener %s: %w", s.addr, err)
		}
		files = append(files, os.NewFile(uintptr(fd), s.addr))
		name := s.group
		if s.shared {
			name += ":" + sourceSystemd
		}
		names = append(names, name)
	}
	env := []string{envListenFDs + "=" + strings.Join(names, " "), envUpgradeFD + "=" + strconv.Itoa(firstListenFD+len(files))}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envListenFDs+"=") && !strings.HasPrefix(kv, envUpgradeFD+"=") {
			env = append(env, kv)
		}
	}
	cmd := &exec.Cmd{Path: exe, Args: os.Args, Env: env, Stdout: os.Stdout, Stderr: os.Stderr,
		ExtraFiles: append(files[:len(files):len(files)], theirs)}
	if err := cmd.Start(); err != nil {
		ctl.Close()
		return nil, nil, err
	}
	return cmd, ctl, nil
}

// releaseStore is step 3: it stops the REST API, saves the counters and
// closes the store. The sockets of the API stay open (d.socks keeps them,
// the new process has them), so API connections wait in their queues.
func (d *daemon) releaseStore() error {
	ctx, cancel := context.WithTimeout(context.Background(), upgradeTimeout)
	defer cancel()
	for _, ln := range d.mlns {
		if ul, ok := ln.Listener.(*net.UnixListener); ok {
			ul.SetUnlinkOnClose(false) // the socket file is the new process's now
		}
	}
	if err := d.stopAPI(ctx); err != nil {
		d.log.Warn("upgrade: the REST API did not stop cleanly", "err", err)
	}
	d.maint()
	err := d.closeStore()
	d.store, d.api, d.mlns = nil, nil, nil
	d.log.Info("upgrade: REST API stopped, counters saved, store closed; the new process takes them")
	return err
}

// takeStoreBack undoes releaseStore after a failed upgrade.
func (d *daemon) takeStoreBack() error {
	if err := d.openStore(); err != nil {
		return err
	}
	d.startMaintain()
	var lns []net.Listener
	for _, s := range d.socks.inUse {
		if s.group != groupManagement {
			continue
		}
		fd, err := dupFD(s.fd)
		if err != nil {
			return fmt.Errorf("management listener %s: %w", s.addr, err)
		}
		ln, err := fileListener(fd)
		if err != nil {
			return fmt.Errorf("management listener %s: %w", s.addr, err)
		}
		lns = append(lns, ln)
	}
	d.serveAPI(lns)
	d.log.Info("upgrade: store opened again; the REST API serves again", "rules", d.table.Len())
	return nil
}

// dupFD returns a close-on-exec dup of fd.
func dupFD(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// upgradeLink is the new process's side of an upgrade (steps 2 and 4).
type upgradeLink struct {
	log *slog.Logger
	c   net.Conn
	br  *bufio.Reader
}

// upgradeFromEnv returns the link to the process that started this one for
// an upgrade, or nil when this process was not started so.
func upgradeFromEnv(log *slog.Logger) (*upgradeLink, error) {
	v, ok := os.LookupEnv(envUpgradeFD)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(envUpgradeFD)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < firstListenFD {
		return nil, fmt.Errorf("%s=%q: not a file descriptor number", envUpgradeFD, v)
	}
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "upgrade control")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", envUpgradeFD, v, err)
	}
	log.Info("upgrade: taking over from the previous process", "previous_pid", os.Getppid(), "pid", os.Getpid())
	return &upgradeLink{log: log, c: c, br: bufio.NewReader(c)}, nil
}

// takeStore is step 2's end: it asks the old process for the store and
// waits until that has closed it. An old process that has gone away has
// released it too.
func (u *upgradeLink) takeStore() error {
	u.log.Info("upgrade: ready; waiting for the previous process to close the store")
	if _, err := io.WriteString(u.c, "store\n"); err != nil {
		u.log.Warn("upgrade: the previous process has gone away; opening the store", "err", err)
		return nil
	}
	_ = u.c.SetReadDeadline(time.Now().Add(2 * upgradeTimeout))
	line, err := u.br.ReadString('\n')
	switch {
	case err == nil && line == "go\n":
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		u.log.Warn("upgrade: the previous process has gone away; opening the store")
		return nil
	case err != nil:
		return fmt.Errorf("upgrade: waiting for the previous process to close the store: %w", err)
	}
	return fmt.Errorf("upgrade: the previous process said %q instead of \"go\"", strings.TrimSpace(line))
}

// ready is step 4's end: this process serves.
func (u *upgradeLink) ready() {
	_, _ = io.WriteString(u.c, "ready\n")
	u.close()
}

// close ends the link.
func (u *upgradeLink) close() { _ = u.c.Close() }
