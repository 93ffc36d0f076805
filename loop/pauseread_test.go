package loop

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pauseHandler keeps what a client sends unconsumed and pauses reading it
// past pauseAt bytes, as Mantrid does for a held request. Before pausing
// it queues a reply larger than the client's socket can take, so that
// the pause happens while output is pending. Once resumed it consumes
// everything.
type pauseHandler struct {
	gnet.BuiltinEventEngine
	conn      atomic.Pointer[gnet.Conn]
	inbound   atomic.Int64 // most bytes gnet held for the client
	consumed  atomic.Int64 // bytes consumed after the resume
	outAtStop atomic.Int64 // OutboundBuffered when reading stopped
	paused    atomic.Bool
	resumed   atomic.Bool
	patched   atomic.Bool // the connection had PauseRead
	closed    chan struct{}
}

const (
	pauseAt    = 64 << 10
	pauseReply = 8 << 20
)

func (h *pauseHandler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	h.conn.Store(&c)
	_, ok := c.(readPauser)
	h.patched.Store(ok)
	return nil, gnet.None
}

func (h *pauseHandler) OnTraffic(c gnet.Conn) gnet.Action {
	if h.resumed.Load() {
		n, _ := c.Discard(-1)
		h.consumed.Add(int64(n))
		return gnet.None
	}
	n := int64(c.InboundBuffered())
	h.inbound.Store(max(h.inbound.Load(), n))
	if n > pauseAt && !h.paused.Load() {
		_, _ = c.Write(make([]byte, pauseReply))
		h.outAtStop.Store(int64(c.OutboundBuffered()))
		if rp, ok := c.(readPauser); ok && rp.PauseRead() == nil {
			h.paused.Store(true)
		}
	}
	return gnet.None
}

func (h *pauseHandler) OnClose(gnet.Conn, error) gnet.Action {
	close(h.closed)
	return gnet.None
}

// resume runs ResumeRead on the connection's loop and consumes what gnet
// holds.
func (h *pauseHandler) resume(t *testing.T) {
	c := *h.conn.Load()
	done := make(chan error, 1)
	require.NoError(t, c.EventLoop().Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		h.resumed.Store(true)
		n, _ := c.Discard(-1)
		h.consumed.Add(int64(n))
		done <- c.(readPauser).ResumeRead()
		return nil
	})))
	require.NoError(t, <-done)
}

// stalled waits until n stops growing for 300 ms (at most 10 s) and
// returns its value.
func stalled(n *atomic.Int64) int64 {
	last, since := n.Load(), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if v := n.Load(); v != last {
			last, since = v, time.Now()
		} else if time.Since(since) > 300*time.Millisecond {
			break
		}
	}
	return last
}

// TestPauseReadHoldsInputInTheKernel checks the gnet patch PauseRead
// (third_party/gnet/PATCHES.md) against a real engine: a paused connection
// is not read however much its client sends, also once the output that
// was pending when it paused has been written (the write path switches
// what epoll watches); after ResumeRead every byte arrives.
func TestPauseReadHoldsInputInTheKernel(t *testing.T) {
	h := &pauseHandler{closed: make(chan struct{})}
	addr := runGnet(t, h)
	c := dialGnet(t, addr)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))

	const total = 32 << 20
	var written atomic.Int64
	wrote := make(chan error, 1)
	go func() {
		buf := make([]byte, 16<<10)
		for written.Load() < total {
			n, err := c.Write(buf)
			written.Add(int64(n))
			if err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	require.Eventually(t, h.paused.Load, 10*time.Second, 5*time.Millisecond, "the handler paused reading")
	require.True(t, h.patched.Load(), "gnet's conn has PauseRead (third_party/gnet patch)")
	sent := stalled(&written)
	held := h.inbound.Load()
	t.Logf("paused with %d bytes of output pending; the client wrote %d KiB and stalled, gnet holds %d KiB",
		h.outAtStop.Load(), sent>>10, held>>10)
	assert.Positive(t, h.outAtStop.Load(), "output was pending when reading stopped")
	assert.Less(t, sent, int64(total), "the client could write everything: nothing stopped it")
	assert.Less(t, held, int64(2*pauseAt+1), "gnet read on after the pause")

	// The reply drains: gnet stops watching for writability, and must
	// not start reading again.
	_, err := io.CopyN(io.Discard, c, pauseReply)
	require.NoError(t, err, "the reply pending at the pause is written")
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, held, h.inbound.Load(), "gnet read again once its output was out")

	h.resume(t)
	require.NoError(t, <-wrote, "the client's writes complete after the resume")
	require.Eventually(t, func() bool { return h.consumed.Load() == total }, 10*time.Second, 5*time.Millisecond,
		"every byte arrives after the resume: got %d of %d", h.consumed.Load(), total)
}

// TestPausedConnectionSeesHangUp: a client that leaves while its
// connection is paused is closed (OnClose), not left waiting.
func TestPausedConnectionSeesHangUp(t *testing.T) {
	h := &pauseHandler{closed: make(chan struct{})}
	addr := runGnet(t, h)
	c := dialGnet(t, addr)
	_, err := c.Write(make([]byte, 2*pauseAt))
	require.NoError(t, err)
	require.Eventually(t, h.paused.Load, 10*time.Second, 5*time.Millisecond, "the handler paused reading")
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	select {
	case <-h.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("a paused connection whose client hung up was not closed")
	}
	c.Close()
}
