package loop

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/static"
	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testEngine returns an engine with rules for empty.test (403), page.test
// (static test page) and away.test (redirect), and no event loops running.
func testEngine(t testing.TB) (*Engine, *eventLoop) {
	t.Helper()
	e := newTestEngine(t, 1, nil)
	return e, newEventLoop(e, 0, nil)
}

// newTestEngine returns testEngine's engine for loops event loops, its
// configuration changed by edit (when not nil) before the engine is made.
func newTestEngine(t testing.TB, loops int, edit func(*Config)) *Engine {
	t.Helper()
	pages, err := static.Load("")
	require.NoError(t, err)
	rules := hostmap.New(loops)
	add := func(name, rule string) {
		r, err := actions.ParseRule([]byte(rule))
		require.NoError(t, err)
		rules.Set(name, r)
	}
	add("empty.test", `["empty", {"code": 403}, true]`)
	add("page.test", `["static", {"type": "test"}, false]`)
	add("away.test", `["redirect", {"redirect_to": "example.com"}, false]`)
	cfg := Config{Loops: loops, HeadTimeout: time.Second, IdleTimeout: time.Second,
		Limits: httpparse.DefaultLimits(), MaxConnections: 10, ConnectTimeout: time.Second,
		BackendTimeout: time.Second, BackendIdleTimeout: time.Second, MaxIdlePerBackend: 4,
		MaxParked: 10, MaxPipelined: 1 << 20}
	if edit != nil {
		edit(&cfg)
	}
	return New(cfg, rules, pages)
}

func newTestConn(e *Engine, el *eventLoop) (*clientConn, *fakeConn) {
	f := &fakeConn{}
	cc := newClientConn(f, el, false)
	f.ctx = cc
	e.conns.Add(1)
	return cc, f
}

func readAll(t *testing.T, out []byte) []*http.Response {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	var resps []*http.Response
	for br.Buffered() > 0 || len(resps) == 0 {
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "output %q", out)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		resps = append(resps, resp)
		if _, err := br.Peek(1); err != nil {
			break
		}
	}
	return resps
}

func TestClientConnAnswersPipelinedRequests(t *testing.T) {
	e, el := testEngine(t)
	cc, f := newTestConn(e, el)
	f.in = []byte("GET / HTTP/1.1\r\nHost: sub.empty.test\r\n\r\nGET / HTTP/1.1\r\nHost: page.test\r\n\r\nGET /x?y HTTP/1.1\r\nHost: away.test\r\n\r\nGET / HTTP/1.1\r\nHost: pa")
	assert.Equal(t, gnet.None, cc.onTraffic())
	resps := readAll(t, f.out)
	require.Len(t, resps, 3)
	assert.Equal(t, 403, resps[0].StatusCode)
	assert.Equal(t, 200, resps[1].StatusCode)
	assert.Equal(t, "http://example.com/x?y", resps[2].Header.Get("Location"))
	assert.Equal(t, &el.headWait, cc.t.list, "a partial head waits under the head timeout")

	f.out = f.out[:0]
	f.in = append(f.in, "ge.test\r\n\r\n"...)
	cc.onTraffic()
	resps = readAll(t, f.out)
	assert.Equal(t, 200, resps[0].StatusCode)
	assert.Equal(t, &el.idleWait, cc.t.list, "an idle connection waits under the idle timeout")

	got := e.rules.Counts(0)
	assert.Equal(t, int64(0), got.CompletedRequests, "nothing went to unknown")
	h, ok := e.rules.Get("page.test")
	require.True(t, ok)
	assert.Equal(t, int64(2), e.rules.Counts(h.Stat).CompletedRequests)
	assert.Equal(t, int64(0), e.rules.Counts(h.Stat).OpenRequests)
}

func TestClientConnSweepAnswers408(t *testing.T) {
	e, el := testEngine(t)
	cc, f := newTestConn(e, el)
	el.headWait.push(cc, 0)
	f.in = []byte("GET / HTT")
	el.sweep()
	assert.True(t, f.closed)
	require.NotEmpty(t, f.out)
	assert.Equal(t, 408, readAll(t, f.out)[0].StatusCode)
}
