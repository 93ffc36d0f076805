package main

// max_dials_per_backend: releasing many held requests at once must not
// send a backend more connection attempts at once than the cap.

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fullBacklogPort returns the port of a listener that never accepts and
// whose accept queue is already full: the kernel drops every further SYN,
// so each connection attempt to it stays in SYN-SENT until it times out.
func fullBacklogPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	port := sa.(*syscall.SockaddrInet4).Port
	for range 3 { // fill the queue; attempts beyond it just time out
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return port
}

// synSent counts this machine's IPv4 sockets in SYN-SENT towards port.
func synSent(t *testing.T, port int) int {
	b, err := os.ReadFile("/proc/net/tcp")
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "02" { // st 02: SYN_SENT
			continue
		}
		if i := strings.LastIndexByte(f[2], ':'); i >= 0 {
			if p, err := strconv.ParseUint(f[2][i+1:], 16, 16); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n
}

// peakAttempts parks n requests on a spin rule, switches it to proxy to
// port (which drops SYNs) and returns the most connection attempts seen
// under way at once during the next 600 ms (connect_timeout 3 s: no
// attempt ends, and none is replaced, while it looks).
func peakAttempts(t *testing.T, maxDials, n, port int) int {
	t.Helper()
	const host = "deploy.test"
	p := startMantrid(t, fmt.Sprintf("event_loops = 1\nconnect_timeout = 3\ngrace_period = 1\nmax_dials_per_backend = %d\n", maxDials),
		stateWith(map[string]string{host: spinRule(30)}))
	defer p.stop()
	base := p.apiURL()
	for range n {
		c := dial(t, p.addr())
		_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
		require.NoError(t, err)
	}
	_, held := pollStats(base, host, 10*time.Second, func(s wireStats) bool { return s.OpenRequests >= int64(n) })
	require.True(t, held, "%d requests held", n)
	require.NoError(t, apiPut(base, host, proxyRule(1, 0, port)))
	peak := 0
	for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		peak = max(peak, synSent(t, port))
	}
	return peak
}

// TestSpinReleaseCapsConnectionAttempts: 100 held requests released onto
// a backend that does not answer SYNs. With max_dials_per_backend = 3 at
// most 3 attempts are under way at once (the others wait their turn);
// without the cap every request would dial at once, and a backend with a
// short accept queue drops the SYNs beyond it: those requests wait for
// TCP's 1 s retransmission (seen with the bench's spin scenario: the last
// of 1000 released requests answered after 1.2 s instead of 0.3 s).
func TestSpinReleaseCapsConnectionAttempts(t *testing.T) {
	port := fullBacklogPort(t)
	capped := peakAttempts(t, 3, 100, port)
	uncapped := peakAttempts(t, 1000, 100, port)
	t.Logf("most connection attempts under way at once: %d with max_dials_per_backend = 3, %d with 1000", capped, uncapped)
	require.LessOrEqual(t, capped, 3, "attempts under way with a cap of 3")
	require.Positive(t, capped, "no attempt seen: the check cannot see SYN-SENT sockets")
	require.Greater(t, uncapped, 50, "without the cap the release dials at once")
}
