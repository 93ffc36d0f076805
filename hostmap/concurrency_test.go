package hostmap

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentReadersAndWriter runs readers (Get, Match, Range) against a
// writer doing Set, Delete and Replace. Values equal their keys, so a reader
// can tell a torn or misplaced entry; stable keys are present throughout and
// must never be missed.
func TestConcurrentReadersAndWriter(t *testing.T) {
	const stable, churn = 300, 3000
	writes := 200_000
	if raceEnabled {
		writes = 30_000
	}
	stableKeys := make([]string, stable)
	for i := range stableKeys {
		stableKeys[i] = "stable" + strconv.Itoa(i) + ".io"
	}
	m := New(1)
	replaceNames(m, stableKeys, nil)

	var stop atomic.Bool
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for r := range 3 {
		wg.Go(func() { lookups.Add(readLoop(t, m, stable, churn, r, &stop)) })
	}
	wg.Go(func() { rangeLoop(t, m, stable, &stop) })

	rng := rand.New(rand.NewPCG(3, 4))
	deadline := time.Now().Add(3 * time.Second) // bounds the test on a loaded machine
	for i := 0; i < writes && (i%1000 != 0 || time.Now().Before(deadline)); i++ {
		key := "churn" + strconv.Itoa(rng.IntN(churn)) + ".io"
		switch op := rng.IntN(1000); {
		case op < 600:
			m.Set(key, nameRule(key, rng.IntN(2) == 0))
		case op < 999:
			m.Delete(key)
		default:
			var more []string
			for j := range rng.IntN(churn) {
				more = append(more, "churn"+strconv.Itoa(j)+".io")
			}
			replaceNames(m, stableKeys, more)
		}
		if i%1000 == 0 {
			time.Sleep(time.Microsecond) // let readers interleave on few CPUs
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.Positive(t, lookups.Load(), "readers made no lookups")
}

// readLoop looks up stable and churning keys until stop and returns how
// many lookups it made.
func readLoop(t *testing.T, m *Table, stable, churn, seed int, stop *atomic.Bool) int64 {
	rng := rand.New(rand.NewPCG(uint64(seed), 99))
	var n int64
	for ; !stop.Load(); n++ {
		s := "stable" + strconv.Itoa(rng.IntN(stable)) + ".io"
		if h, ok := m.Get(s); !ok || h.Rule.Text() != s {
			t.Errorf("Get(%q) = %q, %v during writes, want the key itself", s, h.Rule, ok)
			return n
		}
		if h, ok := m.Match([]byte("www."+s), rng.IntN(2) == 0); !ok || h.Key() != s || h.Rule.Text() != s {
			t.Errorf("Match(%q) = %q, %v during writes, want %q", "www."+s, h.Rule, ok, s)
			return n
		}
		c := "churn" + strconv.Itoa(rng.IntN(churn)) + ".io"
		if h, ok := m.Get(c); ok && h.Rule.Text() != c {
			t.Errorf("Get(%q) = %q: an entry of another key", c, h.Rule.Text())
			return n
		}
		if h, ok := m.Match([]byte("a."+c), false); ok && (h.Key() != c || h.Rule.Text() != c) {
			t.Errorf("Match(%q) = %q, %q: want %q or no match", "a."+c, h.Rule.Text(), h.Key(), c)
			return n
		}
	}
	return n
}

// replaceNames replaces m's content with stable (subdomains on) and more
// (subdomains off), each holding its own key as its rule's name.
func replaceNames(m *Table, stable, more []string) {
	b := m.NewBuilder(len(stable) + len(more))
	for _, k := range stable {
		b.Add(k, nameRule(k, true))
	}
	for _, k := range more {
		b.Add(k, nameRule(k, false))
	}
	m.Replace(b)
}

// rangeLoop checks that every Range during writes visits each stable key
// exactly once and only sees entries whose value is their key.
func rangeLoop(t *testing.T, m *Table, stable int, stop *atomic.Bool) {
	for !stop.Load() {
		seen := map[string]int{}
		m.Range(func(key string, h Hit) bool {
			if v := h.Rule.Text(); v != key {
				t.Errorf("Range: key %q has value %q", key, v)
			}
			seen[key]++
			return true
		})
		for i := range stable {
			s := "stable" + strconv.Itoa(i) + ".io"
			if seen[s] != 1 {
				t.Errorf("Range visited %q %d times, want once", s, seen[s])
				return
			}
		}
	}
}

// TestWriterNeverBlocksReaders holds the writer mutex, as a writer in the
// middle of a Set or of publishing a Replace does, and checks that every
// read completes while a Set waits.
func TestWriterNeverBlocksReaders(t *testing.T) {
	m := New(1)
	replaceInts(m, testEntries(10_000))
	m.mu.Lock()
	setDone := make(chan struct{})
	go func() {
		m.Set("blocked.io", intRule(1, false))
		close(setDone)
	}()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for i := range 10_000 {
			key := testKey(i)
			if h, ok := m.Get(key); !ok || h.Rule.Text() != "v"+strconv.Itoa(i) {
				t.Errorf("Get(%q) = %q, %v under the writer lock, want v%d", key, h.Rule, ok, i)
			}
			if h, ok := m.Match([]byte("www."+key), false); i%2 == 0 && (!ok || h.Key() != key) {
				t.Errorf("Match(%q) = %v under the writer lock", "www."+key, ok)
			}
		}
		_ = m.Len()
		m.Range(func(string, Hit) bool { return true })
	}()
	select {
	case <-readDone:
	case <-time.After(30 * time.Second):
		t.Fatal("readers blocked by a writer holding the lock")
	}
	select {
	case <-setDone:
		t.Fatal("Set completed without the writer lock")
	default:
	}
	m.mu.Unlock()
	<-setDone
	_, ok := m.Get("blocked.io")
	assert.True(t, ok, "Set after the lock was released")
}

// TestReplaceIsAtomic replaces a large content with another while readers
// run: lookups keep completing during the build, a key in both contents is
// never missed, and each Range sees all of one content, never a mix.
func TestReplaceIsAtomic(t *testing.T) {
	n := 1_000_000
	if raceEnabled {
		n = 50_000
	}
	oldEs, newEs := make([]testEntry, n), make([]testEntry, n)
	for i := range n {
		oldEs[i] = testEntry{Key: "old" + strconv.Itoa(i) + ".io", Value: 1}
		newEs[i] = testEntry{Key: "new" + strconv.Itoa(i) + ".io", Value: 2}
	}
	oldEs[0].Key, newEs[0].Key = "both.io", "both.io"
	m := New(1)
	replaceInts(m, oldEs)

	started, done := make(chan struct{}), make(chan struct{})
	var during atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		close(started)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, ok := m.Match([]byte("www.both.io"), false); ok {
				t.Error("both.io has no subdomains but matched www.both.io")
			}
			if _, ok := m.Match([]byte("both.io"), false); !ok {
				t.Error("both.io missed during Replace")
				return
			}
			during.Add(1)
		}
	})
	wg.Go(func() {
		<-started
		var counts [3]int
		m.Range(func(_ string, h Hit) bool { counts[intOf(t, h)]++; return true })
		if !(counts[1] == n && counts[2] == 0) && !(counts[1] == 0 && counts[2] == n) {
			t.Errorf("Range during Replace saw %d old and %d new keys, want all of one", counts[1], counts[2])
		}
	})
	<-started
	replaceInts(m, newEs)
	close(done)
	wg.Wait()
	require.Equal(t, n, m.Len())
	assert.Positive(t, during.Load(), "no lookup completed while Replace built its tables")
	_, ok := m.Get("old1.io")
	assert.False(t, ok, "old content after Replace")
}
