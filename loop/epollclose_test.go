package loop

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// epollWatched reports whether any epoll instance of this process still
// watches the file with inode ino, from /proc/self/fdinfo: each watched
// file is a "tfd: … ino:<hex>" line of its epoll fd.
func epollWatched(t *testing.T, ino uint64) bool {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	want := "ino:" + strconv.FormatUint(ino, 16)
	for _, e := range fds {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || link != "anon_inode:[eventpoll]" {
			continue
		}
		f, err := os.Open("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue // closed in the meantime
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "tfd:") && strings.Contains(sc.Text()+" ", " "+want+" ") {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

// waitFdClosed waits until this process's descriptor fd no longer refers
// to the socket with inode ino. gnet calls OnClose before it deletes the
// descriptor from epoll and closes it, so the test must not look at the
// epoll before then.
func waitFdClosed(t *testing.T, fd int, ino uint64) {
	t.Helper()
	link := fmt.Sprintf("socket:[%d]", ino)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil || got != link {
			return // closed, or the number reused by another file
		}
		if time.Now().After(deadline) {
			t.Fatalf("gnet never closed descriptor %d after OnClose", fd)
		}
		time.Sleep(time.Millisecond)
	}
}

// dupHandler answers each connection's first byte: 'd' dups the socket
// (keeping the dup open, as a hand-off to a goroutine does) and closes
// gnet's connection; any other byte just closes it. It reports the
// socket's inode, the dup, and the remote address gnet decoded.
type dupHandler struct {
	gnet.BuiltinEventEngine
	mu     sync.Mutex
	remote string
	fd     int
	ino    uint64
	dup    int
	closed chan struct{}
}

func (h *dupHandler) OnTraffic(c gnet.Conn) gnet.Action {
	b, _ := c.Next(-1)
	var st syscall.Stat_t
	err := syscall.Fstat(c.Fd(), &st)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remote = c.RemoteAddr().String()
	h.fd = c.Fd()
	if err == nil {
		h.ino = st.Ino
	}
	h.dup = -1
	if len(b) > 0 && b[0] == 'd' {
		if fd, err := c.Dup(); err == nil {
			h.dup = fd
		}
	}
	return gnet.Close
}

func (h *dupHandler) OnClose(gnet.Conn, error) gnet.Action {
	h.closed <- struct{}{}
	return gnet.None
}

// TestClosedConnectionLeavesEpoll checks the two gnet patches on the
// accept and close path: the remote address is decoded without x/sys's
// help, and a closed connection is never left in the loop's epoll, whether
// gnet skipped EPOLL_CTL_DEL (its fd was the socket's only one) or not (a
// dup keeps the socket alive, and with it an epoll entry that would
// report the dup's events under a reused fd number).
func TestClosedConnectionLeavesEpoll(t *testing.T) {
	h := &dupHandler{closed: make(chan struct{}, 4)}
	addr := runGnet(t, h)

	for _, tc := range []struct {
		name string
		send string
	}{{"only descriptor", "c"}, {"dup'ed", "d"}} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialGnet(t, addr)
			defer c.Close()
			_, err := c.Write([]byte(tc.send))
			require.NoError(t, err)
			select {
			case <-h.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("gnet never closed the connection")
			}
			h.mu.Lock()
			remote, fd, ino, dup := h.remote, h.fd, h.ino, h.dup
			h.mu.Unlock()
			if dup >= 0 {
				defer syscall.Close(dup)
			}
			assert.Equal(t, c.LocalAddr().String(), remote, "gnet's RemoteAddr is the client's address")
			require.NotZero(t, ino)
			if tc.send == "d" {
				require.GreaterOrEqual(t, dup, 0, "Dup worked")
				var st syscall.Stat_t
				require.NoError(t, syscall.Fstat(dup, &st))
				require.Equal(t, ino, st.Ino, "the dup is the same socket, still open")
			}
			waitFdClosed(t, fd, ino)
			assert.False(t, epollWatched(t, ino), "no epoll still watches the closed connection's socket")
		})
	}
}
