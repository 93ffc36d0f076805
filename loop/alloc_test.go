//go:build !race

package loop

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestKeepAliveLocalAnswerAllocatesNothing holds SPEC's hot path to zero
// allocations: parse, route, answer and count a keep-alive request.
func TestKeepAliveLocalAnswerAllocatesNothing(t *testing.T) {
	e, el := testEngine(t)
	cc, f := newTestConn(e, el)
	reqs := [][]byte{
		[]byte("GET /index.html HTTP/1.1\r\nHost: www.empty.test\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n"),
		[]byte("GET / HTTP/1.1\r\nHost: page.test\r\n\r\n"),
		[]byte("GET /a?b=c HTTP/1.1\r\nHost: away.test\r\n\r\n"),
		[]byte("GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n"),
	}
	f.out = make([]byte, 0, 64<<10)
	for _, req := range reqs {
		allocs := testing.AllocsPerRun(1000, func() {
			f.in = req
			f.out = f.out[:0]
			cc.onTraffic()
		})
		assert.Zero(t, allocs, "allocations per request %q", req)
		assert.NotEmpty(t, f.out)
	}
}

// TestNewProxiedConnectionAllocations bounds what a connection-per-request
// client costs the heap: its clientConn, room for its head's fields in the
// parser and the request, and the head for the backend, one allocation
// each (plus the test's own fake connection), not one per doubling.
func TestNewProxiedConnectionAllocations(t *testing.T) {
	p := newProxyPair(t)
	out := make([]byte, 0, 64<<10)
	f := p.newConnCycle(out)
	assert.True(t, f.closed, "the client is closed after a Connection: close answer")
	assert.Contains(t, string(f.out), "HTTP/1.1 200 OK\r\n")
	allocs := testing.AllocsPerRun(1000, func() { p.newConnCycle(out) })
	assert.LessOrEqual(t, allocs, 5.0, "allocations per connection, the fake connection included")
}

func BenchmarkKeepAliveLocalAnswer(b *testing.B) {
	e, el := testEngine(b)
	cc, f := newTestConn(e, el)
	req := []byte("GET /index.html HTTP/1.1\r\nHost: www.empty.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	f.out = make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		f.in = req
		f.out = f.out[:0]
		cc.onTraffic()
	}
}

// TestProxiedKeepAliveAllocatesNothing: a proxied keep-alive request over a
// pooled backend connection allocates nothing in steady state.
func TestProxiedKeepAliveAllocatesNothing(t *testing.T) {
	p := newProxyPair(t)
	p.cycle()
	allocs := testing.AllocsPerRun(1000, p.cycle)
	assert.Zero(t, allocs, "allocations per proxied request")
}
