package mgmt

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runSaver starts s.Run and stops it when the test ends.
func runSaver(t *testing.T, s *Saver) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

func (s *Saver) saveCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// TestSaverChangeOnDiskSoon checks SPEC §9.7 in real time: a rule change is
// in the state file within 1.2 s.
func TestSaverChangeOnDiskSoon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	store := NewStore(1, nil, nil)
	saver := NewSaver(store, path, time.Hour, nil)
	runSaver(t, saver)
	start := time.Now()
	require.NoError(t, store.Set("ep.io", mustRule(t, emptyRule)))
	assert.Eventually(t, func() bool {
		snap, err := state.Load(path)
		return err == nil && snap.Hosts["ep.io"] != nil
	}, 1200*time.Millisecond, 10*time.Millisecond, "rule not on disk within 1.2 s")
	t.Logf("on disk after %v", time.Since(start))
}

// TestSaverRoundTrip checks that what Flush writes loads back to the same
// rules and counters.
func TestSaverRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	store := NewStore(2, nil, nil)
	rules := map[string]*actions.Rule{
		"ep.io": mustRule(t, proxyRule), "http://ep.io": mustRule(t, redirectRule), "localhost": mustRule(t, emptyRule),
	}
	require.NoError(t, store.Replace(rules))
	h, _, _ := store.Hosts().Get("ep.io")
	h.Stats.Slot(0).Begin(10)
	h.Stats.Slot(1).Begin(20)
	h.Stats.Slot(1).Sent(30)
	h.Stats.Slot(1).End(true)
	store.Unknown().Slot(0).Begin(7)
	store.Unknown().Slot(0).End(true)

	require.NoError(t, NewSaver(store, path, 0, nil).Flush())
	snap, err := state.Load(path)
	require.NoError(t, err)
	require.Len(t, snap.Hosts, len(rules))
	for k, r := range rules {
		assert.True(t, r.Equal(snap.Hosts[k]), "host %s: got %s", k, snap.Hosts[k].AppendJSON(nil))
	}
	assert.Equal(t, store.AllStats(), snap.Stats, "open_requests written as counted")
	assert.Equal(t, int64(1), snap.Stats["ep.io"].OpenRequests)

	again := NewStore(2, snap, nil)
	assert.Equal(t, store.Rules(), again.Rules())
	c, _ := again.Stats("ep.io")
	assert.Equal(t, actions.Counts{CompletedRequests: 1, BytesSent: 30, BytesReceived: 30}, c, "reloaded with open_requests reset")
}

// TestSaverWriteFailure checks that a save into a read-only folder is
// reported and logged, leaves the old file intact, and that the next save
// after the folder is writable again succeeds.
func TestSaverWriteFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	store := NewStore(1, nil, nil)
	require.NoError(t, store.Set("old.io", mustRule(t, emptyRule)))
	var logs bytes.Buffer
	saver := NewSaver(store, path, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, saver.Flush())
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	sub := t.TempDir()
	makeReadOnly(t, sub)
	saver.path = filepath.Join(sub, "state.json")
	require.NoError(t, store.Set("new.io", mustRule(t, emptyRule)))
	err = saver.Flush()
	require.Error(t, err)
	assert.Contains(t, logs.String(), "cannot save the state file")

	saver.path = path
	makeReadOnly(t, dir)
	assert.Error(t, saver.save(false), "save into the read-only folder")
	after, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	assert.Equal(t, before, after, "old file changed by a failed save")
	entries, rerr := os.ReadDir(dir)
	require.NoError(t, rerr)
	assert.Len(t, entries, 1, "temporary files left: %v", entries)
}

// TestSaverRetries checks that a failed save is retried at the next tick.
func TestSaverRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "missing", "state.json")
		store := NewStore(1, nil, nil)
		saver := NewSaver(store, path, 10*time.Second, nil)
		runSaver(t, saver)
		require.NoError(t, store.Set("ep.io", mustRule(t, emptyRule)))
		time.Sleep(SaveDelay + time.Millisecond)
		synctest.Wait()
		assert.Equal(t, 0, saver.saveCount(), "save into a missing folder")
		require.NoError(t, os.Mkdir(filepath.Join(dir, "missing"), 0o755))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, saver.saveCount(), "retried at the tick")
	})
}

// TestSaverDebounce checks in fake time that a burst of 1000 changes costs
// one save, SaveDelay after the first change, and that the periodic tick
// saves only when counters moved.
func TestSaverDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state.json")
		store := NewStore(1, nil, nil)
		saver := NewSaver(store, path, 10*time.Second, nil)
		runSaver(t, saver)
		r := mustRule(t, emptyRule)
		for i := range 1000 {
			require.NoError(t, store.Set("h"+string(rune('a'+i%26))+".io", r))
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		synctest.Wait()
		assert.Equal(t, 0, saver.saveCount(), "saved before SaveDelay")
		time.Sleep(SaveDelay)
		synctest.Wait()
		assert.Equal(t, 1, saver.saveCount(), "saves for a burst of 1000 changes")

		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, saver.saveCount(), "tick saved although nothing changed")
		h, _, _ := store.Hosts().Get("ha.io")
		h.Stats.Slot(0).Begin(1)
		h.Stats.Slot(0).End(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, 2, saver.saveCount(), "tick after counters moved")
	})
}

// TestSaverBurstRealTime spreads 1000 changes over about 300 ms of real
// time and checks that they cost few saves.
func TestSaverBurstRealTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	store := NewStore(1, nil, nil)
	saver := NewSaver(store, path, time.Hour, nil)
	runSaver(t, saver)
	r := mustRule(t, emptyRule)
	for i := range 1000 {
		require.NoError(t, store.Set("h"+string(rune('a'+i%26))+".io", r))
		if i%10 == 0 {
			time.Sleep(3 * time.Millisecond)
		}
	}
	require.Eventually(t, func() bool { return saver.saveCount() > 0 }, 2*time.Second, 10*time.Millisecond)
	time.Sleep(SaveDelay + 200*time.Millisecond)
	n := saver.saveCount()
	t.Logf("1000 changes, %d saves", n)
	assert.LessOrEqual(t, n, 3, "saves for 1000 changes")
}
