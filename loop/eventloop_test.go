package loop

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/static"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReconfigureMovesTimers puts new timeouts in force on a loop with
// connections waiting on each timer: every deadline moves by the change of
// its timeout, the lists stay ordered, and what comes later uses the new
// settings.
func TestReconfigureMovesTimers(t *testing.T) {
	e, el := testEngine(t) // head, idle and backend timeouts of 1 s
	var idle []*clientConn
	for i := range 3 {
		cc, _ := newTestConn(e, el)
		el.idleWait.push(cc, int64(i)*int64(time.Millisecond)+int64(time.Second))
		idle = append(idle, cc)
	}
	head, _ := newTestConn(e, el)
	el.headWait.push(head, int64(time.Second))
	waiting, _ := newTestConn(e, el)
	el.proxyWait.push(waiting, int64(time.Second))

	next := *el.cfg
	next.IdleTimeout = 100 * time.Millisecond
	next.HeadTimeout = 3 * time.Second
	next.MaxPipelined = 4096
	next.Limits = httpparse.Limits{MaxHeadSize: 2048, MaxURILength: 1024, MaxHeaders: 10}
	next.MaxIdlePerBackend, next.MaxDialsPerBackend, next.MaxParked = 7, 0, 20
	el.reconfigure(&next)

	for i, cc := range idle {
		assert.Equal(t, int64(i)*int64(time.Millisecond)+int64(100*time.Millisecond), cc.t.deadline, "idle connection %d", i)
	}
	assert.Equal(t, int64(3*time.Second), head.t.deadline)
	assert.Equal(t, int64(time.Second), waiting.t.deadline, "backend_timeout did not change")
	assert.Same(t, &next, el.cfg)
	assert.Equal(t, 7, el.pool.maxIdle)
	assert.Equal(t, 1, el.pool.maxDials, "0 means 1")
	assert.Equal(t, 20, el.cfg.MaxParked)
	assert.Equal(t, 4096, el.waitInput, "max_pipelined below 64 KiB bounds a waiting request's input")

	var expired []*clientConn
	el.idleWait.expire(int64(101*time.Millisecond), func(cc *clientConn) { expired = append(expired, cc) })
	assert.Equal(t, idle[:2], expired, "front first, in order")

	cc, _ := newTestConn(e, el)
	assert.Equal(t, next.Limits, cc.parser.Limits, "a new connection takes the new limits")
}

// TestReconfigureRefusesLoops: the number of loops is fixed at the start.
func TestReconfigureRefusesLoops(t *testing.T) {
	e, _ := testEngine(t)
	cfg := *e.live.Load()
	require.NoError(t, e.Reconfigure(cfg))
	cfg.Loops = 2
	assert.ErrorContains(t, e.Reconfigure(cfg), "without a restart")
	assert.Equal(t, 1, e.live.Load().Loops)
}

// TestSetPages: answers use the pages in force at the time.
func TestSetPages(t *testing.T) {
	e, el := testEngine(t)
	cc, f := newTestConn(e, el)
	f.in = []byte("GET / HTTP/1.1\r\nHost: page.test\r\n\r\n")
	cc.onTraffic()
	assert.Equal(t, 200, readAll(t, f.out)[0].StatusCode)

	dir := t.TempDir()
	writePage(t, dir, "test.http", "HTTP/1.1 410 Gone\n\nreplaced")
	pages, err := static.Load(dir)
	require.NoError(t, err)
	e.SetPages(pages)
	f.out = f.out[:0]
	f.in = []byte("GET / HTTP/1.1\r\nHost: page.test\r\n\r\n")
	cc.onTraffic()
	assert.Equal(t, 410, readAll(t, f.out)[0].StatusCode)
}

func writePage(t *testing.T, dir, name, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
}
