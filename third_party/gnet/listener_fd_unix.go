// Copyright (c) 2026 The Mantrid Authors. Licensed under the Apache License,
// Version 2.0, like the rest of gnet.
//
// Mantrid patch to gnet v2.10.0 (see PATCHES.md): listen on a TCP socket
// that the caller bound and set listening itself.

//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnet

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/panjf2000/gnet/v2/pkg/socket"
)

// listeningSocket returns a close-on-exec dup of the listening TCP socket
// whose number is address, with the socket options applied, and its
// address. The caller keeps its own fd: closing one does not close the
// other, and every event loop of a ReusePort engine gets its own dup, so
// all of them accept from the one queue. The socket must be non-blocking.
func listeningSocket(address string, opts []socket.Option[int]) (fd int, addr net.Addr, err error) {
	n, err := strconv.Atoi(address)
	if err != nil || n < 0 {
		return -1, nil, fmt.Errorf("fd://%s: not a file descriptor number", address)
	}
	if fd, err = socket.Dup(n); err != nil {
		return -1, nil, err
	}
	defer func() {
		if err != nil {
			_ = unix.Close(fd)
			fd = -1
		}
	}()
	if v, e := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); e != nil || v == 0 {
		return fd, nil, fmt.Errorf("fd://%s: not a listening socket", address)
	}
	for _, opt := range opts {
		if err = opt.SetSockOpt(fd, opt.Opt); err != nil {
			return fd, nil, os.NewSyscallError("setsockopt", err)
		}
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fd, nil, os.NewSyscallError("getsockname", err)
	}
	tcp, ok := socket.SockaddrToTCPOrUnixAddr(sa).(*net.TCPAddr)
	if !ok {
		return fd, nil, fmt.Errorf("fd://%s: not a TCP socket", address)
	}
	return fd, tcp, nil
}
