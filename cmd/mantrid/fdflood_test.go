package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFDExhaustionDoesNotStopMantrid floods a mantrid whose fd limit is 64
// with far more connections than it can hold (max_connections set above the
// limit so that accept itself runs out of fds), then checks that once the
// flood ends requests are answered again. DESIGN.md fact 9: stock gnet's
// acceptor would have shut the engine down; Mantrid's copy backs off
// (third_party/gnet/PATCHES.md).
func TestFDExhaustionDoesNotStopMantrid(t *testing.T) {
	p := startMantrid(t, "max_connections = 100000\n", answersState,
		"/bin/sh", "-c", `ulimit -n 64 && exec "$0" "$@"`)
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 200 {
		c, err := net.DialTimeout("tcp", p.addr(), time.Second)
		if err != nil {
			break // the backlog is full: flooded enough
		}
		flood = append(flood, c)
	}
	require.Greater(t, len(flood), 64, "the flood must exceed the fd limit")
	time.Sleep(300 * time.Millisecond)
	require.Eventually(t, func() bool {
		log := p.Log()
		return strings.Contains(log, "accept failed")
	}, 5*time.Second, 50*time.Millisecond,
		"mantrid ran out of fds during the flood:\n%s", p.Log())
	for _, c := range flood {
		c.Close()
	}
	flood = nil

	assert.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", p.addr(), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: empty.test\r\n\r\n")); err != nil {
			return false
		}
		var buf [64]byte
		n, _ := c.Read(buf[:])
		return n > 12 && string(buf[9:12]) == "403"
	}, 15*time.Second, 100*time.Millisecond, "requests are answered after the flood")
	assert.True(t, p.alive(), "mantrid still running")
}
