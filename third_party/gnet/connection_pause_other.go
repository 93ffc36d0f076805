// Copyright (c) 2026 The Mantrid Authors. Mantrid patch; see PATCHES.md.

//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && poll_opt)

package gnet

// Without PauseRead (connection_pause_linux.go) reading is never paused:
// watchWrite and unwatchWrite are gnet's own ModReadWrite and ModRead.

func (c *conn) watchWrite(edgeTriggered bool) error {
	return c.loop.poller.ModReadWrite(&c.pollAttachment, edgeTriggered)
}

func (c *conn) unwatchWrite() error {
	return c.loop.poller.ModRead(&c.pollAttachment, false)
}
