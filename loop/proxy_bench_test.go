package loop

import (
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/stretchr/testify/require"
)

// proxyPair is a client connection and a pooled backend connection on one
// test loop, both fakes, for a proxied request cycle without sockets.
type proxyPair struct {
	cc     *clientConn
	client *fakeConn
	be     *backendConn
	back   *fakeConn
}

func newProxyPair(t testing.TB) *proxyPair {
	e, el := testEngine(t)
	r, err := actions.ParseRule([]byte(`["proxy", {"backends": [["127.0.0.1", 9]]}, false]`))
	require.NoError(t, err)
	e.rules.Set("proxy.test", r)
	cc, f := newTestConn(e, el)
	back := &fakeConn{}
	be := &backendConn{c: back, el: el, addr: "127.0.0.1:9", state: beIdle}
	back.ctx = be
	el.pool.put(be, 0)
	f.out = make([]byte, 0, 64<<10)
	back.out = make([]byte, 0, 64<<10)
	return &proxyPair{cc: cc, client: f, be: be, back: back}
}

var (
	benchReq  = []byte("GET /index.html HTTP/1.1\r\nHost: proxy.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	benchResp = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
)

// cycle runs one keep-alive request through: client → backend → client.
func (p *proxyPair) cycle() {
	p.client.in = benchReq
	p.client.out = p.client.out[:0]
	p.back.out = p.back.out[:0]
	p.cc.onTraffic()
	p.back.in = benchResp
	p.be.onTraffic()
}

func TestProxyCycleThroughFakes(t *testing.T) {
	p := newProxyPair(t)
	for range 3 {
		p.cycle()
		require.Contains(t, string(p.back.out), "GET /index.html HTTP/1.1\r\n", "the request reached the backend")
		require.Contains(t, string(p.back.out), "X-Forwarded-For: 127.0.0.1\r\n")
		require.Equal(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", string(p.client.out))
		require.Equal(t, stateHead, p.cc.state, "ready for the next request")
		require.Equal(t, 1, p.cc.el.pool.n, "the backend connection is back in the pool")
	}
}

func BenchmarkProxiedKeepAlive(b *testing.B) {
	p := newProxyPair(b)
	b.ReportAllocs()
	for b.Loop() {
		p.cycle()
	}
}

var benchCloseReq = []byte("GET /index.html HTTP/1.1\r\nHost: proxy.test\r\nUser-Agent: bench\r\nAccept: */*\r\nConnection: close\r\n\r\n")

// newConnCycle is one connection-per-request cycle on Mantrid's side: a
// new client connection (writing into out), its request through the
// pooled backend connection, the answer, and the client's close. It
// returns the client's fake connection, which costs one allocation.
func (p *proxyPair) newConnCycle(out []byte) *fakeConn {
	e, el := p.cc.el.e, p.cc.el
	f := &fakeConn{out: out[:0], in: benchCloseReq}
	cc := newClientConn(f, el, false)
	f.ctx = cc
	e.conns.Add(1)
	cc.onTraffic()
	p.back.out = p.back.out[:0]
	p.back.in = benchResp
	p.be.onTraffic()
	_ = e.OnClose(f, nil) // gnet's callback after the close
	return f
}

func BenchmarkProxiedNewConnection(b *testing.B) {
	p := newProxyPair(b)
	out := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		if f := p.newConnCycle(out); !f.closed {
			b.Fatal("the client was not closed after a Connection: close answer")
		}
	}
}
