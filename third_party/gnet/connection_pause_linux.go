// Copyright (c) 2026 The Mantrid Authors. Mantrid patch; see PATCHES.md.

//go:build linux && !poll_opt

package gnet

import errorx "github.com/panjf2000/gnet/v2/pkg/errors"

// PauseRead stops reading c: its fd is no longer watched for input, so
// what the peer sends waits in the kernel's socket buffer and then, once
// the TCP window is full, at the peer. OnTraffic is not called for c
// until ResumeRead; what gnet already holds (InboundBuffered) stays. A
// hang-up of the peer (EOF, or a reset) still closes c with OnClose, and
// pending output is still written. It must be called on c's event loop.
// Level-triggered IO only: with WithEdgeTriggeredIO it returns
// ErrUnsupportedOp. Pausing a paused connection does nothing.
func (c *conn) PauseRead() error {
	if c.readPaused || !c.opened {
		return nil
	}
	if c.loop.engine.opts.EdgeTriggeredIO {
		return errorx.ErrUnsupportedOp
	}
	c.readPaused = true
	return c.loop.poller.ModPaused(&c.pollAttachment, !c.outboundBuffer.IsEmpty())
}

// ResumeRead watches c for input again after PauseRead; input that
// arrived meanwhile is read on the loop's next poll. It must be called
// on c's event loop. Resuming a connection that is not paused does
// nothing.
func (c *conn) ResumeRead() error {
	if !c.readPaused || !c.opened {
		return nil
	}
	c.readPaused = false
	if c.outboundBuffer.IsEmpty() {
		return c.loop.poller.ModRead(&c.pollAttachment, false)
	}
	return c.loop.poller.ModReadWrite(&c.pollAttachment, false)
}

// watchWrite watches c for writability (output is pending), and for
// input unless reading is paused.
func (c *conn) watchWrite(edgeTriggered bool) error {
	if c.readPaused {
		return c.loop.poller.ModPaused(&c.pollAttachment, true)
	}
	return c.loop.poller.ModReadWrite(&c.pollAttachment, edgeTriggered)
}

// unwatchWrite stops watching c for writability (its output is out),
// leaving it watched for input unless reading is paused.
func (c *conn) unwatchWrite() error {
	if c.readPaused {
		return c.loop.poller.ModPaused(&c.pollAttachment, false)
	}
	return c.loop.poller.ModRead(&c.pollAttachment, false)
}
