package loop

import (
	"net"

	"github.com/panjf2000/gnet/v2"
)

// fakeConn is the part of gnet.Conn that clientConn uses, backed by byte
// slices, so that the request cycle can be driven without sockets. Calling
// any other method panics (the embedded interface is nil).
type fakeConn struct {
	gnet.Conn
	in     []byte
	out    []byte
	ctx    any
	closed bool
	paused bool // between PauseRead and ResumeRead
}

func (f *fakeConn) Peek(n int) ([]byte, error) {
	if n <= 0 || n > len(f.in) {
		return f.in, nil
	}
	return f.in[:n], nil
}

func (f *fakeConn) Discard(n int) (int, error) {
	n = min(n, len(f.in))
	f.in = f.in[n:]
	return n, nil
}

func (f *fakeConn) Write(p []byte) (int, error) {
	f.out = append(f.out, p...)
	return len(p), nil
}

func (f *fakeConn) InboundBuffered() int  { return len(f.in) }
func (f *fakeConn) OutboundBuffered() int { return 0 }
func (f *fakeConn) Context() any          { return f.ctx }
func (f *fakeConn) SetContext(v any)      { f.ctx = v }
func (f *fakeConn) Close() error          { f.closed = true; return nil }
func (f *fakeConn) PauseRead() error      { f.paused = true; return nil }
func (f *fakeConn) ResumeRead() error     { f.paused = false; return nil }

// fakeRemote is every fake connection's peer: shared, so that allocation
// counts are Mantrid's own.
var fakeRemote net.Addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}

func (f *fakeConn) RemoteAddr() net.Addr { return fakeRemote }
