// Copyright (c) 2026 The Mantrid Authors. Licensed under the Apache License,
// Version 2.0, like the rest of gnet.
//
// Mantrid patch to gnet v2.10.0 (see PATCHES.md): stop accepting without
// shutting the listening sockets down.

//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnet

import (
	"context"

	"github.com/panjf2000/gnet/v2/pkg/queue"
)

// StopAccepting makes every event loop stop watching its listening sockets
// and close its descriptors of them, without shutting the sockets down:
// another process holding the same sockets (a new server taking over, or
// systemd, which passed them in) goes on accepting from their queues, and
// the connections waiting there stay for it. Connections already accepted
// are not touched. It returns once every loop has stopped accepting, or
// with ctx's error when ctx ends first. Safe to call from any goroutine,
// more than once; Stop closes whatever is left as before.
//
// Closing the descriptors alone would not do: epoll watches the open file
// description, which the other process keeps alive, so the loop would go
// on receiving its events under a closed descriptor number. Shutting the
// socket down (shutdown(2)) stops it listening for every process that
// holds it.
func (e Engine) StopAccepting(ctx context.Context) error {
	if err := e.Validate(); err != nil {
		return err
	}
	var done []chan struct{}
	var err error
	e.eng.eventLoops.iterate(func(_ int, el *eventloop) bool {
		ch := make(chan struct{})
		err = el.poller.Trigger(queue.HighPriority, func(any) error {
			defer close(ch)
			for fd, ln := range el.listeners {
				if ln.fd < 0 {
					continue
				}
				_ = el.poller.Delete(fd)
				ln.close()
			}
			return nil
		}, nil)
		done = append(done, ch)
		return err == nil
	})
	if err != nil {
		return err
	}
	for _, ch := range done {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
