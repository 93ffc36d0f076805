package main

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// apiListener is a REST API listener that counts the connections it
// accepted and that are still open, so that the API can stop without
// dropping a request already on its way (stopAPI).
type apiListener struct {
	net.Listener
	open    *atomic.Int64 // connections accepted and not yet closed
	stopped atomic.Bool   // closed by stopAPI: Serve's error is expected
}

// Accept counts the connection it returns.
func (l *apiListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &apiConn{Conn: c, open: l.open}, nil
}

// apiConn uncounts itself at its first Close.
type apiConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *apiConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// stopAPI stops the REST API without dropping a request that a client has
// sent or is sending on a new connection: the listeners close (their
// sockets stay open when another process holds them: its queue keeps new
// connections for it), every answer from then on closes its connection,
// the idle keep-alive connections close, and once every connection has
// ended (or ctx ends) the API shuts down. A client that sends a request on
// a keep-alive connection just as it is closed sees it closed, as with any
// server that closes idle connections, and must retry it.
func (d *daemon) stopAPI(ctx context.Context) error {
	for _, ln := range d.mlns {
		ln.stopped.Store(true)
		ln.Close()
	}
	d.apiWG.Wait()
	d.api.CloseAfterAnswers()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var err error
	for d.apiOpen.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
	}
	return errors.Join(err, d.api.Shutdown(ctx))
}
