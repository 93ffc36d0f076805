// Copyright (c) 2026 The Mantrid Authors. Mantrid patch; see PATCHES.md.

//go:build linux && !poll_opt

package gnet

// CloseOnLoop closes c as Close does, once the current batch of events (or
// the current queued task) has been handled, without going through the
// task queue: no closure, no shared queue, no eventfd write and no extra
// trip round the loop. It must be called on c's event loop, typically from
// another connection's callback; anywhere else, use Close. A connection
// that is already closed by then is left alone, as with Close.
func (c *conn) CloseOnLoop() {
	c.loop.poller.Defer(closeOnLoop, c)
}

func closeOnLoop(param any) error {
	c := param.(*conn)
	return c.loop.close(c, nil)
}
