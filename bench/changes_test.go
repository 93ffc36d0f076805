package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mantrid/mantrid/bench/hostset"
)

func TestChangedHost(t *testing.T) {
	const n = 20000
	seen := map[int]bool{}
	for k := range 2000 {
		i := changedHost(k, n)
		require.True(t, i >= 0 && i < n, "changedHost(%d, %d) = %d", k, n, i)
		assert.False(t, seen[i], "change %d repeats host %d", k, i)
		seen[i] = true
	}
	assert.Equal(t, 0, changedHost(5, 1), "a set of one host")
}

func TestMapEdits(t *testing.T) {
	m := newMapEdits(1000, 16)
	for k := range 40 {
		_, before := m.value(k)
		host, after := m.next(k)
		gotHost, now := m.value(k)
		assert.Equal(t, host, gotHost)
		assert.NotEqual(t, before, after, "change %d keeps %s on %s", k, host, before)
		assert.Equal(t, after, now)
	}
	m = newMapEdits(1, 16)
	_, first := m.next(0)
	_, second := m.next(1)
	assert.Equal(t, []string{hostset.BackendName(1), hostset.BackendName(2)}, []string{first, second}, "the same host changed twice")
}

func TestSameJSON(t *testing.T) {
	assert.True(t, sameJSON(`["proxy", {"backends": [["127.0.0.1", 8001]]}, true]`, `["proxy",{"backends":[["127.0.0.1",8001]]},true]`))
	assert.False(t, sameJSON(`["proxy",{},true]`, `["proxy",{},false]`))
	assert.False(t, sameJSON(`null`, `not json`))
}

func TestRunChanges(t *testing.T) {
	var ks []int
	l := &loaded{change: func(_ context.Context, k int) error { ks = append(ks, k); return nil }}
	start := time.Now()
	r := runChanges(t.Context(), l, 5, 4, 20*time.Millisecond, time.Minute)
	require.NoError(t, r.err)
	assert.Equal(t, []int{5, 6, 7, 8}, ks)
	assert.Len(t, r.lat, 4)
	assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond, "4 changes 20 ms apart")

	boom := errors.New("boom")
	l.change = func(_ context.Context, k int) error {
		if k == 2 {
			return boom
		}
		return nil
	}
	l.backToBack = true
	r = runChanges(t.Context(), l, 0, 10, time.Hour, time.Minute)
	assert.ErrorIs(t, r.err, boom)
	assert.ErrorContains(t, r.err, "change 3")
	assert.Len(t, r.lat, 2)
}

func TestBackground(t *testing.T) {
	calls := 0
	l := &loaded{change: func(context.Context, int) error { calls++; return nil }}
	stop := background(t.Context(), l, 0, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	r := stop()
	require.NoError(t, r.err)
	assert.Equal(t, calls, len(r.lat))
	assert.GreaterOrEqual(t, calls, 3, "about 10 changes in 100 ms at one per 10 ms")

	l.change = func(ctx context.Context, _ int) error { <-ctx.Done(); return ctx.Err() }
	r = background(t.Context(), l, 0, time.Millisecond)()
	assert.NoError(t, r.err, "a change cut short by stop is no error")
	assert.Empty(t, r.lat)
}
