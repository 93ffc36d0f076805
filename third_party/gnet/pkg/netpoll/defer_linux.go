// Copyright (c) 2026 The Mantrid Authors. Mantrid patch; see PATCHES.md.

//go:build linux && !poll_opt

package netpoll

import (
	"errors"

	errorx "github.com/panjf2000/gnet/v2/pkg/errors"
	"github.com/panjf2000/gnet/v2/pkg/queue"
)

// Defer queues fn(param) to run on the event loop as soon as the current
// batch of events, or the current queued task, has been handled: before
// the loop polls again and before any task queued after it runs. Unlike
// Trigger it touches no shared queue and writes nothing to the eventfd,
// so only the loop's own goroutine may call it (from an event callback or
// a task).
func (p *Poller) Defer(fn queue.Func, param any) {
	p.deferred = append(p.deferred, queue.Task{Exec: fn, Param: param})
}

// runDeferred runs the deferred tasks, including those they defer in turn.
func (p *Poller) runDeferred() error {
	for i := 0; i < len(p.deferred); i++ {
		t := p.deferred[i]
		p.deferred[i] = queue.Task{}
		if err := t.Exec(t.Param); errors.Is(err, errorx.ErrEngineShutdown) {
			for j := range p.deferred {
				p.deferred[j] = queue.Task{}
			}
			p.deferred = p.deferred[:0]
			return err
		}
	}
	p.deferred = p.deferred[:0]
	return nil
}
