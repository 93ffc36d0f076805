package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Listening sockets come from three places: Mantrid binds them itself,
// systemd passes them in (socket activation, sd_listen_fds(3): LISTEN_PID,
// LISTEN_FDS, LISTEN_FDNAMES, descriptors from 3 on), or the previous
// Mantrid hands them over at an upgrade (SIGUSR2, upgrade.go: envListenFDs,
// descriptors from 3 on). A socket passed in serves the config line whose
// address it has; the config still decides what is served where.

// The config names whose lines are listening addresses.
const (
	groupBind       = "bind"
	groupInternal   = "bind_internal"
	groupManagement = "bind_management"
)

// Where a listening socket came from, as logged ("source=").
const (
	sourceBound   = "bound"
	sourceSystemd = "systemd"
	sourceUpgrade = "upgrade"
)

// envListenFDs names the sockets that the previous Mantrid hands over, in
// descriptor order from 3: one "GROUP" or "GROUP:systemd" (systemd holds it
// too) per socket, separated by spaces.
const envListenFDs = "MANTRID_LISTEN_FDS"

// firstListenFD is the first passed-in descriptor (SD_LISTEN_FDS_START).
const firstListenFD = 3

// socket is a listening socket in use.
type socket struct {
	group  string // groupBind, groupInternal or groupManagement
	addr   string // its local address
	source string // sourceBound, sourceSystemd or sourceUpgrade
	shared bool   // systemd holds it too: stopping never shuts it down
	fd     int    // a close-on-exec dup, kept to hand it to a new process
}

// offer is a socket passed in, waiting for the config line it serves.
type offer struct {
	ln     net.Listener
	group  string // the group it must serve; "" for any
	source string
	shared bool
	taken  bool
}

// sockets holds the listening sockets of the process: those passed in and
// those in use. It is used by one goroutine at a time.
type sockets struct {
	log    *slog.Logger
	offers []*offer
	inUse  []socket
}

// inheritSockets takes the sockets passed in by the previous Mantrid or by
// systemd, and removes the variables that passed them from the
// environment, so that nothing started later takes them for its own. A
// socket systemd passed that is not a listening stream socket is logged
// and closed.
func inheritSockets(log *slog.Logger) (*sockets, error) {
	s := &sockets{log: log}
	if v, ok := os.LookupEnv(envListenFDs); ok {
		os.Unsetenv(envListenFDs)
		for i, entry := range strings.Fields(v) {
			group, how, _ := strings.Cut(entry, ":")
			ln, err := fileListener(firstListenFD + i)
			if err != nil {
				s.closeOffers()
				return nil, fmt.Errorf("listening socket %d (%s) from the previous process: %w", firstListenFD+i, entry, err)
			}
			s.offers = append(s.offers, &offer{ln: ln, group: group, source: sourceUpgrade, shared: how == sourceSystemd})
		}
		return s, nil
	}
	pid, count, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	for _, name := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(name)
	}
	if count == "" {
		return s, nil
	}
	if pid != strconv.Itoa(os.Getpid()) {
		log.Warn("LISTEN_FDS is meant for another process (LISTEN_PID); ignored", "listen_pid", pid)
		return s, nil
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 0 || n > 1024 {
		return nil, fmt.Errorf("LISTEN_FDS=%q: want the number of sockets systemd passed", count)
	}
	nameOf := strings.Split(names, ":")
	for i := range n {
		fd := firstListenFD + i
		syscall.CloseOnExec(fd)
		name := ""
		if len(nameOf) == n {
			name = nameOf[i]
		}
		ln, err := fileListener(fd)
		if err != nil {
			log.Warn("a socket from systemd is not used", "fd", fd, "name", name, "err", err)
			continue
		}
		o := &offer{ln: ln, source: sourceSystemd, shared: true}
		if name == groupBind || name == groupInternal || name == groupManagement {
			o.group = name // FileDescriptorName= picks the config name
		}
		s.offers = append(s.offers, o)
	}
	return s, nil
}

// fileListener makes a net.Listener of the listening stream socket fd and
// closes fd (the listener holds a dup of it, non-blocking).
func fileListener(fd int) (net.Listener, error) {
	if v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err != nil || v == 0 {
		if err == nil {
			err = errors.New("not listening")
		}
		syscall.Close(fd)
		return nil, fmt.Errorf("not a listening socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	return net.FileListener(f)
}

// listen returns the socket for the config line "group = addr": one passed
// in with that address (see addrMatches; port 0 matches the port of a
// socket handed over by the previous process, which bound it for the same
// line), else one bound by bind.
func (s *sockets) listen(group, addr string, bind func(string) (net.Listener, error)) (net.Listener, socket, error) {
	ln, sock := net.Listener(nil), socket{group: group, source: sourceBound}
	for _, o := range s.offers {
		if !o.taken && (o.group == "" || o.group == group) && addrMatches(addr, o.ln.Addr(), o.source == sourceUpgrade) {
			o.taken = true
			ln, sock.source, sock.shared = o.ln, o.source, o.shared
			break
		}
	}
	if ln == nil {
		var err error
		if ln, err = bind(addr); err != nil {
			return nil, sock, err
		}
	}
	fd, err := dupSocket(ln)
	if err != nil {
		ln.Close()
		return nil, sock, fmt.Errorf("listener %s: %w", addr, err)
	}
	sock.addr, sock.fd = ln.Addr().String(), fd
	s.inUse = append(s.inUse, sock)
	return ln, sock, nil
}

// closeUnused closes the sockets passed in that no config line took, and
// says so: systemd's copy stays open (its queue fills up unanswered).
func (s *sockets) closeUnused() {
	for _, o := range s.offers {
		if !o.taken {
			s.log.Warn("a listening socket passed in matches no bind, bind_internal or bind_management line; not used",
				"addr", o.ln.Addr().String(), "source", o.source)
			o.ln.Close()
			o.taken = true
		}
	}
}

// closeOffers closes the sockets passed in that were not taken.
func (s *sockets) closeOffers() {
	for _, o := range s.offers {
		if !o.taken {
			o.ln.Close()
		}
	}
}

// close closes the kept dups (the listeners themselves belong to their
// users) and the offers not taken.
func (s *sockets) close() {
	s.closeOffers()
	for _, sock := range s.inUse {
		syscall.Close(sock.fd)
	}
	s.inUse = nil
}

// find returns the socket in use at local address addr.
func (s *sockets) find(addr string) socket {
	for _, sock := range s.inUse {
		if sock.addr == addr {
			return sock
		}
	}
	return socket{source: sourceBound}
}

// dupSocket returns a close-on-exec dup of ln's socket. It never touches
// the socket's blocking mode, which its other descriptors share.
func dupSocket(ln net.Listener) (int, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("not a socket (%T)", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return -1, err
	}
	return fd, derr
}

// addrMatches reports whether a socket at local address got can serve the
// config address want: the same port (with anyPort, port 0 matches any),
// and the same IP ("*" for an unspecified one; a host name for any address
// it resolves to). "unix:PATH" matches a Unix socket at PATH.
func addrMatches(want string, got net.Addr, anyPort bool) bool {
	if path, ok := strings.CutPrefix(want, "unix:"); ok {
		ua, isUnix := got.(*net.UnixAddr)
		return isUnix && ua.Name == path
	}
	ta, ok := got.(*net.TCPAddr)
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(want)
	if err != nil {
		return false
	}
	if p, err := strconv.Atoi(port); err != nil || p != ta.Port && !(p == 0 && anyPort) {
		return false
	}
	switch ip := net.ParseIP(host); {
	case host == "*":
		return ta.IP.IsUnspecified()
	case ip != nil:
		return ip.Equal(ta.IP) && (ip.To4() == nil) == (ta.IP.To4() == nil)
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if ip.Equal(ta.IP) {
			return true
		}
	}
	return false
}
