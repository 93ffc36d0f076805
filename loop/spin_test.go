package loop

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdRule holds requests for an hour: no timeout fires during a test
// (the test loops have no gnet loop to run it on).
const holdRule = `["spin", {"timeout": 3600}, false]`

func setRule(t *testing.T, e *Engine, host, rule string) {
	t.Helper()
	r, err := actions.ParseRule([]byte(rule))
	require.NoError(t, err)
	e.rules.Set(host, r)
}

// TestSpinCapCountsEveryLoop: max_spin caps the requests held on all loops
// together, not a share of it per loop: with 2 loops and a cap of 3, one
// loop may hold all of them; the next request gets 503, and a request that
// leaves makes room.
func TestSpinCapCountsEveryLoop(t *testing.T) {
	e := newTestEngine(t, 2, func(c *Config) { c.MaxParked = 3 })
	setRule(t, e, "hold.test", holdRule)
	loops := []*eventLoop{newEventLoop(e, 0, nil), newEventLoop(e, 1, nil)}
	send := func(el *eventLoop) (*clientConn, *fakeConn) {
		cc, f := newTestConn(e, el)
		f.in = []byte("GET / HTTP/1.1\r\nHost: hold.test\r\n\r\n")
		cc.onTraffic()
		return cc, f
	}
	var held []*clientConn
	for i, el := range []*eventLoop{loops[0], loops[0], loops[0]} {
		cc, f := send(el)
		require.Equal(t, stateSpin, cc.state, "request %d is held", i+1)
		require.Empty(t, f.out, "request %d is not answered", i+1)
		held = append(held, cc)
	}
	assert.Equal(t, int64(3), e.held.Load())

	cc, f := send(loops[1])
	require.NotEmpty(t, f.out, "the request beyond max_spin is answered")
	assert.Equal(t, 503, readAll(t, f.out)[0].StatusCode, "the request beyond max_spin, on the other loop")
	assert.NotEqual(t, stateSpin, cc.state)
	assert.Equal(t, int64(3), e.held.Load())

	held[0].onClose() // its client left
	assert.Equal(t, int64(2), e.held.Load())
	cc, f = send(loops[1])
	assert.Equal(t, stateSpin, cc.state, "a request is held again once one left")
	assert.Empty(t, f.out)
	held = append(held[1:], cc)

	setRule(t, e, "hold.test", `["empty", {"code": 200}, false]`)
	for _, el := range loops {
		el.wake("hold.test")
	}
	for i, cc := range held {
		f := cc.c.(*fakeConn)
		require.NotEmpty(t, f.out, "held request %d answered once released", i+1)
		assert.Equal(t, 200, readAll(t, f.out)[0].StatusCode)
	}
	assert.Zero(t, e.held.Load(), "no request held after the release")
}

// TestHeldRequestStopsReading: a held request's client is read until more
// than the bound (maxWaitInput, or max_pipelined below it) is buffered
// past the head, then not at all until the release; the request then
// reaches its backend with every byte of its body.
func TestHeldRequestStopsReading(t *testing.T) {
	for _, pipelined := range []int{1 << 20, 1000} {
		bound := min(maxWaitInput, pipelined)
		for _, n := range []int{bound - 1, bound, bound + 1} {
			t.Run(fmt.Sprintf("max_pipelined=%d/body=%d", pipelined, n), func(t *testing.T) {
				checkHeldBody(t, pipelined, n, n > bound)
			})
		}
	}
}

func checkHeldBody(t *testing.T, pipelined, first int, wantPaused bool) {
	e := newTestEngine(t, 1, func(c *Config) { c.MaxPipelined = pipelined })
	el := newEventLoop(e, 0, nil)
	setRule(t, e, "hold.test", holdRule)
	cc, f := newTestConn(e, el)
	const total = 5 << 20
	body := []byte(strings.Repeat("0123456789abcdef", total/16))
	head := fmt.Sprintf("POST /up HTTP/1.1\r\nHost: hold.test\r\nContent-Length: %d\r\n\r\n", total)
	f.in = append([]byte(head), body[:first]...)
	cc.onTraffic()
	require.Equal(t, stateSpin, cc.state, "the request is held")
	assert.Empty(t, f.out, "nothing is answered while held")
	assert.Equal(t, wantPaused, f.paused, "reading paused with %d body bytes buffered", first)
	assert.Equal(t, len(head)+first, cc.buffered(), "nothing consumed while held")

	// Released to a proxy rule with an idle backend connection: the head
	// and the buffered body go out, and the client is read again.
	setRule(t, e, "hold.test", `["proxy", {"backends": [["127.0.0.1", 9]]}, false]`)
	back := &fakeConn{}
	be := &backendConn{c: back, el: el, addr: "127.0.0.1:9", state: beIdle}
	back.ctx = be
	el.pool.put(be, 0)
	el.wake("hold.test")
	require.Equal(t, stateProxy, cc.state)
	assert.False(t, f.paused, "reading resumes at the release")
	for sent := first; sent < total; {
		k := min(64<<10, total-sent)
		f.in = append(f.in, body[sent:sent+k]...)
		cc.onTraffic()
		sent += k
	}
	out := string(back.out)
	i := strings.Index(out, "\r\n\r\n")
	require.Positive(t, i, "the backend got a head: %.200q", out)
	assert.Contains(t, out[:i], "Content-Length: 5242880")
	assert.True(t, out[i+4:] == string(body), "the backend got the whole body: %d of %d bytes", len(out)-i-4, total)
	assert.True(t, cc.px.bodySent)
}

// TestQueuedRequestStopsReading: a proxied request whose backend
// connection is not up yet (here: waiting for a connection attempt, at
// max_dials_per_backend) stops reading its body past the bound, and reads
// on once a connection is there.
func TestQueuedRequestStopsReading(t *testing.T) {
	e := newTestEngine(t, 1, nil)
	el := newEventLoop(e, 0, nil)
	setRule(t, e, "up.test", `["proxy", {"backends": [["127.0.0.1", 9]]}, false]`)
	el.pool.dialing["127.0.0.1:9"] = el.pool.maxDials
	cc, f := newTestConn(e, el)
	body := strings.Repeat("x", maxWaitInput+1)
	head := fmt.Sprintf("POST /up HTTP/1.1\r\nHost: up.test\r\nContent-Length: %d\r\n\r\n", len(body)+10)
	f.in = []byte(head + body[:maxWaitInput])
	cc.onTraffic()
	require.True(t, cc.px.queued, "the request waits for a connection attempt")
	assert.False(t, f.paused, "%d body bytes: still read", maxWaitInput)
	f.in = append(f.in, body[maxWaitInput:]...)
	cc.onTraffic()
	assert.True(t, f.paused, "%d body bytes: reading paused", maxWaitInput+1)

	back := &fakeConn{}
	be := &backendConn{c: back, el: el, addr: "127.0.0.1:9", state: beIdle}
	back.ctx = be
	require.True(t, el.release(be), "the waiting request takes the connection")
	assert.False(t, f.paused, "reading resumes once the backend is reached")
	assert.True(t, strings.HasSuffix(string(back.out), "\r\n\r\n"+body), "the buffered body went out")
}
