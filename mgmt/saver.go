package mgmt

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/state"
)

// Saver timing.
const (
	// DefaultSaveInterval is how often a Saver writes the state file for
	// the statistics when the caller gives no interval.
	DefaultSaveInterval = 10 * time.Second
	// SaveDelay is how long after a rule change the state file is written.
	// Changes within it are written together, so a burst of changes costs
	// one save, on disk at most SaveDelay plus the time to write after the
	// first change of the burst.
	SaveDelay = 500 * time.Millisecond
)

// Saver writes a Store to its state file (SPEC §8): SaveDelay after a rule
// change, every interval when the counters moved, and when Flush is called.
// Hosts are written in the table's own order, not sorted: sorting a
// million names would double the cost of every save.
// Saving copies the table's pointers under the Store's writer mutex and
// then encodes and writes without any lock, so it never holds up API
// writers for long nor the event loops at all. A failed save is logged and
// retried at the next tick. At most one Saver may run per Store.
//
// Run must be called once, in a goroutine of the owner, which stops it by
// ending Run's context. Flush may be called from any goroutine, also while
// Run is running.
type Saver struct {
	store    *Store
	path     string
	interval time.Duration
	log      *slog.Logger

	mu    sync.Mutex // serialises saves; guards the fields below
	last  mark       // what the file on disk holds
	saved bool       // last is valid
	saves int        // successful saves, for tests
}

// mark identifies what a save wrote: the Store's rule generation and the
// totals of the counters that only grow. open_requests are left out: the
// loader resets them, and a change in them alone is not worth a write.
type mark struct {
	gen                       uint64
	completed, sent, received int64
}

// NewSaver returns a Saver of store to path. interval is the stats save
// period (DefaultSaveInterval when 0 or negative); log receives errors
// (discarded when nil).
func NewSaver(store *Store, path string, interval time.Duration, log *slog.Logger) *Saver {
	if interval <= 0 {
		interval = DefaultSaveInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Saver{store: store, path: path, interval: interval, log: log}
}

// Run saves as the type comment says until ctx ends, then returns without
// a last save: call Flush after Run returns for that.
func (s *Saver) Run(ctx context.Context) {
	tick := time.NewTicker(s.interval)
	defer tick.Stop()
	delay := time.NewTimer(SaveDelay)
	delay.Stop()
	defer delay.Stop()
	armed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.store.changed:
			if !armed {
				delay.Reset(SaveDelay)
				armed = true
			}
		case <-delay.C:
			armed = false
			s.save(false)
		case <-tick.C:
			s.save(false)
		}
	}
}

// Flush writes the state file now, whether or not anything changed, and
// returns the error, which it also logs.
func (s *Saver) Flush() error { return s.save(true) }

// save writes the state file when force is set or when rules or counters
// changed since the last successful save.
func (s *Saver) save(force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen := s.store.gen.Load()
	hosts, unknown := s.store.entries()
	m := markOf(gen, hosts, unknown)
	if !force && s.saved && m == s.last {
		return nil
	}
	start := time.Now()
	if err := state.SaveEntries(s.path, hosts, unknown); err != nil {
		s.log.Error("cannot save the state file; will retry", "err", err)
		s.saved = false
		return err
	}
	s.last, s.saved = m, true
	s.saves++
	s.log.Debug("state file saved", "path", s.path, "rules", len(hosts), "took", time.Since(start))
	return nil
}

// markOf sums the growing counters of a snapshot.
func markOf(gen uint64, hosts []state.Entry, unknown actions.Counts) mark {
	m := mark{gen: gen, completed: unknown.CompletedRequests, sent: unknown.BytesSent, received: unknown.BytesReceived}
	for i := range hosts {
		c := &hosts[i].Stats
		m.completed += c.CompletedRequests
		m.sent += c.BytesSent
		m.received += c.BytesReceived
	}
	return m
}

// entries returns the table as state entries with their counters, and the
// counters of unmatched requests. Only copying the pointers holds the
// writer mutex.
func (s *Store) entries() ([]state.Entry, actions.Counts) {
	list := s.hostList()
	out := make([]state.Entry, len(list))
	for i, h := range list {
		out[i] = state.Entry{Name: h.Name, Rule: h.Rule, Stats: h.Stats.Snapshot()}
	}
	return out, s.unknown.Snapshot()
}
