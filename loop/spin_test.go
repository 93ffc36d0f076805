package loop

import (
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
