// Copyright (c) 2026 The Mantrid Authors. Licensed under the Apache License,
// Version 2.0, like the rest of gnet.
//
// Mantrid patch to gnet v2.10.0 (see PATCHES.md): an accept error never
// stops the engine.

//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnet

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/panjf2000/gnet/v2/pkg/queue"
)

// acceptFailed handles an accept error other than the retried ones; it runs
// on the loop that watches the listener fd, and always returns nil.
//
// Running out of file descriptors or kernel memory (EMFILE, ENFILE,
// ENOBUFS, ENOMEM) stops watching the listener for a back-off of 5 ms
// doubling to 1 s (as net/http does), leaving pending connections in the
// kernel's backlog; a successful accept resets it. Any other error means
// the socket no longer listens (it was shut down or closed): the loop stops
// watching it for good.
func (el *eventloop) acceptFailed(fd int, err error, edgeTriggered bool) error {
	ln := el.listeners[fd]
	_ = el.poller.Delete(fd)
	switch err {
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
	default:
		if err == unix.EINVAL { // shut down on purpose: nothing to report
			el.getLogger().Infof("listener %v stopped listening", ln.addr)
		} else {
			el.getLogger().Errorf("listener %v stopped accepting: %v", ln.addr, err)
		}
		return nil
	}
	switch {
	case ln.backoff == 0:
		ln.backoff = 5 * time.Millisecond
	case ln.backoff < time.Second/2:
		ln.backoff *= 2
	default:
		ln.backoff = time.Second
	}
	if ln.backoff == 5*time.Millisecond || ln.backoff == time.Second {
		el.getLogger().Warnf("accept failed on %v, retrying in %v: %v", ln.addr, ln.backoff, err)
	}
	time.AfterFunc(ln.backoff, func() {
		_ = el.poller.Trigger(queue.HighPriority, func(any) error {
			if ln.fd < 0 {
				return nil
			}
			return el.poller.AddRead(ln.pollAttachment, edgeTriggered)
		}, nil)
	})
	return nil
}
