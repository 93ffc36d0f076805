package main

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// connTracker follows the backend's connections through
// http.Server.ConnState, so that each stop can say what it cut: idle
// connections (closed at once), new ones (Mantrid connected but has sent
// no request yet) and active ones (a request under way, waited for). It is
// safe for concurrent use.
type connTracker struct {
	mu    sync.Mutex
	conns map[net.Conn]*connInfo
	// closedNew counts connections that closed without carrying a request.
	closedNew int64
}

type connInfo struct {
	state    http.ConnState
	since    time.Time // of the last state change
	requests int
}

// hook is the http.Server.ConnState function.
func (t *connTracker) hook(c net.Conn, s http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conns == nil {
		t.conns = map[net.Conn]*connInfo{}
	}
	ci := t.conns[c]
	if ci == nil {
		ci = &connInfo{}
		t.conns[c] = ci
	}
	if s == http.StateActive {
		ci.requests++
	}
	if s == http.StateClosed || s == http.StateHijacked {
		if ci.requests == 0 {
			t.closedNew++
		}
		delete(t.conns, c)
		return
	}
	ci.state, ci.since = s, time.Now()
}

// connSnapshot counts the connections by state at one moment.
type connSnapshot struct {
	idle, fresh, active int
	oldestFresh         time.Duration // age of the oldest connection without a request yet
	oldestActive        time.Duration // time since the oldest active request began
}

func (s connSnapshot) String() string {
	return fmt.Sprintf("%d idle, %d new (oldest %s), %d active (oldest %s)", s.idle, s.fresh,
		s.oldestFresh.Round(time.Millisecond), s.active, s.oldestActive.Round(time.Millisecond))
}

// snapshot counts the open connections by state.
func (t *connTracker) snapshot() connSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s connSnapshot
	now := time.Now()
	for _, ci := range t.conns {
		switch ci.state {
		case http.StateIdle:
			s.idle++
		case http.StateNew:
			s.fresh++
			s.oldestFresh = max(s.oldestFresh, now.Sub(ci.since))
		case http.StateActive:
			s.active++
			s.oldestActive = max(s.oldestActive, now.Sub(ci.since))
		}
	}
	return s
}

// closedNewCount returns closedNew.
func (t *connTracker) closedNewCount() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closedNew
}
