// Copyright (c) 2026 The Mantrid Authors. Mantrid patch; see PATCHES.md.

//go:build dragonfly || freebsd

package socket

import "golang.org/x/sys/unix"

// Mantrid patch: sysAccept's body before accept4_linux.go (PATCHES.md).
func accept4(fd, flags int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, flags)
}
