package actions

import (
	"sync/atomic"
)

// Counts is a plain copy of one host's counters (SPEC §6).
type Counts struct {
	OpenRequests      int64 `json:"open_requests"`
	CompletedRequests int64 `json:"completed_requests"`
	BytesSent         int64 `json:"bytes_sent"`
	BytesReceived     int64 `json:"bytes_received"`
}

// Add returns the field-wise sum of c and o.
func (c Counts) Add(o Counts) Counts {
	return Counts{
		OpenRequests:      c.OpenRequests + o.OpenRequests,
		CompletedRequests: c.CompletedRequests + o.CompletedRequests,
		BytesSent:         c.BytesSent + o.BytesSent,
		BytesReceived:     c.BytesReceived + o.BytesReceived,
	}
}

// Sub returns the field-wise difference c − o.
func (c Counts) Sub(o Counts) Counts {
	return Counts{
		OpenRequests:      c.OpenRequests - o.OpenRequests,
		CompletedRequests: c.CompletedRequests - o.CompletedRequests,
		BytesSent:         c.BytesSent - o.BytesSent,
		BytesReceived:     c.BytesReceived - o.BytesReceived,
	}
}

// IsZero reports whether every counter is 0.
func (c Counts) IsZero() bool { return c == Counts{} }

// Slot holds one event loop's counters for one host. Only the owning loop
// writes a Slot, with plain load-then-store of atomics (no read-modify-write
// instruction, no lock); any goroutine may read it. Slots of one loop sit
// side by side in that loop's own arrays (see Counters), so two loops never
// write the same cache line.
type Slot struct {
	open, completed, sent, received atomic.Int64
}

// Begin records a request that started (open_requests + 1) and the bytes of
// its head read from the client. Call it only from the owning loop.
func (s *Slot) Begin(received int) {
	s.open.Store(s.open.Load() + 1)
	s.received.Store(s.received.Load() + int64(received))
}

// Unbegin undoes Begin for a request that will be counted again when it
// is served (a request held by spin and then re-routed). Owning loop only.
func (s *Slot) Unbegin(received int) {
	s.open.Store(s.open.Load() - 1)
	s.received.Store(s.received.Load() - int64(received))
}

// Received adds bytes read from the client. Owning loop only.
func (s *Slot) Received(n int) { s.received.Store(s.received.Load() + int64(n)) }

// Sent adds bytes written to the client. Owning loop only.
func (s *Slot) Sent(n int) { s.sent.Store(s.sent.Load() + int64(n)) }

// End records a request that ended: open_requests − 1 and, when completed,
// completed_requests + 1. Owning loop only.
func (s *Slot) End(completed bool) {
	s.open.Store(s.open.Load() - 1)
	if completed {
		s.completed.Store(s.completed.Load() + 1)
	}
}

func (s *Slot) counts() Counts {
	return Counts{
		OpenRequests:      s.open.Load(),
		CompletedRequests: s.completed.Load(),
		BytesSent:         s.sent.Load(),
		BytesReceived:     s.received.Load(),
	}
}
