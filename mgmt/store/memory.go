package store

import (
	"context"
	"sync"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Memory is a Store that keeps nothing on disk: it applies each change to
// the table at once, counting revisions from 1 as Local does. Tests use it, as can a caller that persists nothing.
type Memory struct {
	mu       sync.Mutex
	rev      uint64 // the last change's revision
	table    *hostmap.Table
	onChange func(key string)
}

// NewMemory returns a Memory store feeding table; onChange, which may be
// nil, is called as Options.OnChange says.
func NewMemory(table *hostmap.Table, onChange func(key string)) *Memory {
	return &Memory{table: table, onChange: onChange}
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, r *actions.Rule, c Cond) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(key, c); err != nil {
		return 0, err
	}
	m.rev++
	m.table.SetRev(key, r, m.rev)
	m.changed(key)
	return m.rev, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string, c Cond) (bool, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(key, c); err != nil {
		return false, 0, err
	}
	if !m.table.Delete(key) {
		return false, 0, nil
	}
	m.rev++
	m.changed(key)
	return true, m.rev, nil
}

// Replace implements Store.
func (m *Memory) Replace(_ context.Context, b *hostmap.Builder) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rev++
	b.SetRev(m.rev)
	m.table.Replace(b)
	m.changed("")
	return m.rev, nil
}

// check returns the error of a Cond that key's rule does not meet.
func (m *Memory) check(key string, c Cond) error {
	h, ok := m.table.Get(key)
	if !c.Holds(ok, h.Rev) {
		return &PreconditionError{Key: key, Exists: ok, Rev: h.Rev}
	}
	return nil
}

func (m *Memory) changed(key string) {
	if m.onChange != nil {
		m.onChange(key)
	}
}
