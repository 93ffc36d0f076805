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
