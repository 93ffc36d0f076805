package main

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// sdNotify sends state ("READY=1", …) to the service manager's
// notification socket, $NOTIFY_SOCKET (sd_notify(3)), when there is one.
// Failures are ignored: running under systemd is optional.
func sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' { // an abstract socket
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}

// monotonicMicros returns CLOCK_MONOTONIC in microseconds, the clock of
// sd_notify's MONOTONIC_USEC.
func monotonicMicros() int64 {
	var ts syscall.Timespec
	const clockMonotonic = 1
	_, _, _ = syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano() / 1000
}
