package loop

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closeHandler closes the first connection when the second one sends a
// byte, from the second one's callback: what Mantrid does to a client when
// its backend's answer ends.
type closeHandler struct {
	gnet.BuiltinEventEngine
	mu      sync.Mutex
	first   gnet.Conn
	patched bool // the first connection had CloseOnLoop
	closed  chan struct{}
}

func (h *closeHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.first == nil {
		h.first = c
		_, h.patched = c.(loopCloser)
	}
	return nil, gnet.None
}

func (h *closeHandler) OnTraffic(c gnet.Conn) gnet.Action {
	_, _ = c.Next(-1)
	h.mu.Lock()
	first := h.first
	h.mu.Unlock()
	if c != first {
		closeOnLoop(first)
		_, _ = c.Write([]byte("k"))
	}
	return gnet.None
}

func (h *closeHandler) OnClose(c gnet.Conn, _ error) gnet.Action {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c == h.first {
		close(h.closed)
	}
	return gnet.None
}

// TestCloseOnLoopClosesAnotherConnection checks that gnet's connections
// have the patched CloseOnLoop (a gnet update that drops the patch would
// silently fall back to Close) and that it closes the other connection,
// with OnClose, while the calling one stays open.
func TestCloseOnLoopClosesAnotherConnection(t *testing.T) {
	h := &closeHandler{closed: make(chan struct{})}
	addr := runGnet(t, h)

	a := dialGnet(t, addr)
	defer a.Close()
	// a is the first connection gnet opens: wait for it before dialling b.
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.first != nil
	}, 5*time.Second, 5*time.Millisecond)
	b, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer b.Close()

	h.mu.Lock()
	assert.True(t, h.patched, "gnet's conn has CloseOnLoop (third_party/gnet patch)")
	h.mu.Unlock()

	_, err = b.Write([]byte("x"))
	require.NoError(t, err)
	select {
	case <-h.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose never ran for the first connection")
	}
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := a.Read(make([]byte, 1))
	assert.Equal(t, 0, n)
	assert.ErrorIs(t, err, io.EOF, "the first connection is closed")

	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1)
	_, err = io.ReadFull(b, buf)
	require.NoError(t, err, "the calling connection stays open")
	assert.Equal(t, "k", string(buf))
}

// runGnet runs a one-loop gnet engine with h on a free loopback port,
// stopped when the test ends, and returns its address.
func runGnet(t *testing.T, h gnet.EventHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	done := make(chan error, 1)
	go func() {
		done <- gnet.Run(h, "tcp://"+addr, gnet.WithNumEventLoop(1), gnet.WithLogLevel(logging.ErrorLevel))
	}()
	t.Cleanup(func() {
		_ = gnet.Stop(context.Background(), "tcp://"+addr)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("gnet did not stop")
		}
	})
	return addr
}

// dialGnet connects to a gnet engine that runGnet started, waiting for it
// to listen.
func dialGnet(t *testing.T, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	require.Eventually(t, func() bool {
		var err error
		c, err = net.Dial("tcp", addr)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	return c
}
