package loop

import (
	"fmt"
	"net"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/socket"
)

// overloaded is written to a connection refused by max_connections.
var overloaded = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

// Connections are accepted by gnet itself, on each event loop, from the
// sockets that the caller bound: Run hands gnet one dup of each as
// "fd://N" and every loop accepts from the same queue. Stock gnet stops
// the whole engine when accept fails with EMFILE (DESIGN.md, fact 9);
// Mantrid's copy (third_party/gnet, PATCHES.md) backs off instead (5 ms
// doubling to 1 s, pending connections wait in the kernel's backlog).
// Accepting on the loop costs ~35 µs less CPU per connection than the
// accept goroutine plus Enroll it replaced (README, Performance).

// adoptListeners takes the sockets of lns for gnet: it keeps a dup of each
// in e.lnFDs, closes the net.Listeners (the sockets stay open through the
// dups) and returns gnet's addresses. It also records which local address
// belongs to an internal listener (only those are in e.lnInternal). The
// caller holds e.lnMu.
func (e *Engine) adoptListeners(lns []Listener) ([]string, error) {
	var addrs []string
	e.lnInternal = map[string]bool{}
	for _, ln := range lns {
		fd, key, err := dupListener(ln.Listener)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %w", ln.Addr(), err)
		}
		e.lnFDs = append(e.lnFDs, fd)
		e.lnShared = append(e.lnShared, ln.Shared)
		if ln.Internal {
			e.lnInternal[key] = true
		}
		addrs = append(addrs, fmt.Sprintf("fd://%d", fd))
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs, nil
}

// dupListener returns a close-on-exec dup of ln's socket and the address
// string of the connections accepted from it (gnet's getsockname of the
// socket prints the same).
func dupListener(ln net.Listener) (int, string, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return -1, "", fmt.Errorf("not a TCP listener (%T)", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, "", err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = socket.Dup(int(s)) }); err != nil {
		return -1, "", err
	}
	if derr != nil {
		return -1, "", derr
	}
	return fd, ln.Addr().String(), nil
}

// internalListener reports whether c came through an internal listener.
// gnet gives every connection its listener's address value, so the answer
// is cached per loop by that value.
func (el *eventLoop) internalListener(c gnet.Conn) bool {
	if len(el.e.lnInternal) == 0 {
		return false // no bind_internal: no lookup per connection
	}
	la := c.LocalAddr()
	v, ok := el.lnKind[la]
	if !ok {
		v = el.e.lnInternal[la.String()]
		if el.lnKind == nil {
			el.lnKind = map[net.Addr]bool{}
		}
		el.lnKind[la] = v
	}
	return v
}

// stopListening makes every listening socket that is not shared stop
// listening; the loops notice and stop watching them. Our dups are closed
// when Run ends, so that gnet cannot dup a reused fd number. It reports
// whether a shared socket is left for the caller to stop accepting on
// (Engine.StopAccepting of Mantrid's gnet). The caller holds e.lnMu.
func (e *Engine) stopListening() (shared bool) {
	for i, fd := range e.lnFDs {
		if e.handedOver || e.lnShared[i] {
			shared = true
			continue
		}
		_ = syscall.Shutdown(fd, syscall.SHUT_RD)
	}
	return shared
}
