package loop

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// listenerInfo travels to OnOpen in the registration context.
type listenerInfo struct{ internal bool }

// overloaded is written to a connection refused by max_connections.
var overloaded = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

// acceptLoop accepts connections on ln and registers them on an event loop.
// When accept fails for lack of file descriptors it backs off (5 ms doubling
// to 1 s, as net/http does) and tries again, leaving pending connections in
// the kernel's backlog: unlike gnet's own acceptor, running out of fds never
// stops the engine. It returns when ln is closed.
func (e *Engine) acceptLoop(ln Listener) {
	defer e.accepts.Done()
	var reg registrations
	defer reg.wait(e)
	ctx := gnet.NewContext(context.Background(), listenerInfo{internal: ln.Internal})
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if e.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if backoff == 5*time.Millisecond || backoff == time.Second || !isTemporary(err) {
				e.log.Warn("accept failed; retrying", "listener", ln.Addr().String(), "err", err, "backoff", backoff)
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		reg.collect(e)
		if e.conns.Add(1) > int64(e.cfg.MaxConnections) {
			e.refuse(c)
			continue
		}
		ch, err := e.eng.Register(gnet.NewNetConnContext(ctx, c))
		if err != nil {
			e.conns.Add(-1)
			c.Close()
			continue
		}
		reg.pending = append(reg.pending, ch)
	}
}

// registrations are the answers of gnet's Register not yet looked at. gnet
// dups each fd in a worker goroutine, which fails under fd exhaustion (it
// closes our copy itself): such a connection never opens and its count
// must be undone. The accept loop collects the answers that are in without
// blocking before each count check, instead of a goroutine waiting on each
// one: that goroutine cost a wake-up per connection.
type registrations struct {
	pending []<-chan gnet.RegisteredResult
	lastLog time.Time
}

// collect takes the answers that are in from the front of the queue.
func (r *registrations) collect(e *Engine) {
	n := 0
	for _, ch := range r.pending {
		select {
		case res, ok := <-ch:
			r.settle(e, res, ok)
			n++
			continue
		default:
		}
		break
	}
	if n > 0 {
		r.pending = append(r.pending[:0], r.pending[n:]...)
	}
}

// wait takes every answer still due; the accept loop is ending.
func (r *registrations) wait(e *Engine) {
	for _, ch := range r.pending {
		res, ok := <-ch
		r.settle(e, res, ok)
	}
	r.pending = nil
}

func (r *registrations) settle(e *Engine, res gnet.RegisteredResult, ok bool) {
	if ok && res.Err == nil {
		return
	}
	e.conns.Add(-1)
	if ok && time.Since(r.lastLog) > 10*time.Second {
		r.lastLog = time.Now()
		e.log.Warn("dropped a connection that could not be registered (repeats are not logged for 10s)", "err", res.Err)
	}
}

// refuse answers 503 to a connection over max_connections and closes it.
func (e *Engine) refuse(c net.Conn) {
	e.conns.Add(-1)
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write(overloaded)
	c.Close()
}

// isTemporary reports the accept errors that are expected under load.
func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}
