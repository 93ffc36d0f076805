package store

import (
	"context"
	"sync"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Memory is a Store that keeps nothing on disk: it applies each change to
// the table at once. Tests use it, as can a caller that persists nothing.
type Memory struct {
	mu       sync.Mutex
	table    *hostmap.Table
	onChange func(key string)
}

// NewMemory returns a Memory store feeding table; onChange, which may be
// nil, is called as Options.OnChange says.
func NewMemory(table *hostmap.Table, onChange func(key string)) *Memory {
	return &Memory{table: table, onChange: onChange}
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, r *actions.Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.table.Set(key, r)
	m.changed(key)
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := m.table.Delete(key)
	if ok {
		m.changed(key)
	}
	return ok, nil
}

// Replace implements Store.
func (m *Memory) Replace(_ context.Context, b *hostmap.Builder) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.table.Replace(b)
	m.changed("")
	return nil
}

func (m *Memory) changed(key string) {
	if m.onChange != nil {
		m.onChange(key)
	}
}
