package hostmap

import (
	"fmt"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// count makes loop 0 count one completed request of n bytes for h.
func count(m *Table, h Hit, n int) {
	s := m.Counters().Slot(0, h.Stat)
	s.Begin(n)
	s.Sent(n)
	s.End(true)
}

// TestCountsFollowTheHost checks the README's Statistics on the table: a host's counts stay
// when its rule is set again and across Replace, and go when it is deleted;
// unmatched requests count under stat id 0.
func TestCountsFollowTheHost(t *testing.T) {
	m := New(2)
	m.Set("ep.io", intRule(1, false))
	h, _ := m.Get("ep.io")
	count(m, h, 10)
	m.Set("ep.io", intRule(2, true))
	h2, _ := m.Get("ep.io")
	want := actions.Counts{CompletedRequests: 1, BytesSent: 10, BytesReceived: 10}
	assert.Equal(t, want, m.Counts(h2.Stat), "counts after the rule was set again")

	replaceInts(m, []testEntry{{Key: "ep.io", Value: 3}, {Key: "new.io", Value: 4}})
	h3, _ := m.Get("ep.io")
	assert.Equal(t, want, m.Counts(h3.Stat), "counts after a Replace that kept the host")
	n, _ := m.Get("new.io")
	assert.Equal(t, actions.Counts{}, m.Counts(n.Stat), "a new host starts at zero")

	m.Counters().Slot(1, 0).Begin(5)
	assert.Equal(t, actions.Counts{OpenRequests: 1, BytesReceived: 5}, m.Counts(0), "unmatched requests count under id 0")

	assert.True(t, m.SetCounts("new.io", actions.Counts{OpenRequests: 9, CompletedRequests: 3, BytesSent: 4, BytesReceived: 5}))
	assert.Equal(t, actions.Counts{CompletedRequests: 3, BytesSent: 4, BytesReceived: 5}, m.Counts(n.Stat),
		"SetCounts restores counts, without open requests")
	assert.False(t, m.SetCounts("nowhere.io", actions.Counts{CompletedRequests: 1}), "SetCounts of a host without a rule")
}

// TestStatIDReuse deletes hosts and checks that their ids come back only
// when Reclaim finds them quiet and old enough, and then with zero counts.
func TestStatIDReuse(t *testing.T) {
	m := New(1)
	m.Set("a.io", intRule(1, false))
	m.Set("busy.io", intRule(2, false))
	a, _ := m.Get("a.io")
	busy, _ := m.Get("busy.io")
	count(m, a, 100)
	open := m.Counters().Slot(0, busy.Stat)
	open.Begin(1) // a request of busy.io still under way
	require.True(t, m.Delete("a.io"))
	require.True(t, m.Delete("busy.io"))

	now := time.Now()
	assert.Zero(t, m.Reclaim(now, time.Minute), "ids younger than minAge stay pending")
	m.Set("b.io", intRule(3, false))
	b, _ := m.Get("b.io")
	assert.NotEqual(t, a.Stat, b.Stat, "a pending id was reused")

	later := now.Add(2 * time.Minute)
	assert.Zero(t, m.Reclaim(later, time.Minute), "the first look only notes the counts")
	assert.Equal(t, 1, m.Reclaim(later.Add(time.Second), time.Minute), "a quiet old id becomes free; one with an open request does not")
	m.Set("c.io", intRule(4, false))
	c, _ := m.Get("c.io")
	assert.Equal(t, a.Stat, c.Stat, "the freed id is reused")
	assert.Equal(t, actions.Counts{}, m.Counts(c.Stat), "a reused id starts at zero")

	open.End(true)
	assert.Zero(t, m.Reclaim(later.Add(2*time.Second), time.Minute), "counts moved since the last look")
	assert.Equal(t, 1, m.Reclaim(later.Add(3*time.Second), time.Minute), "quiet now")
	m.Set("d.io", intRule(5, false))
	d, _ := m.Get("d.io")
	assert.Equal(t, busy.Stat, d.Stat)
	assert.Equal(t, actions.Counts{}, m.Counts(d.Stat))

	replaceInts(m, []testEntry{{Key: "e.io", Value: 6}})
	assert.Zero(t, m.Reclaim(later.Add(4*time.Second), time.Minute), "ids released by Replace wait too")
}

// TestEachCounted checks that EachCounted lists exactly the keys with
// counts (open requests aside), as Range and Counts would, over a table
// whose ids span several counter chunks, with counts from the loops and
// from bases.
func TestEachCounted(t *testing.T) {
	m := New(2)
	var entries []testEntry
	for i := range 5000 {
		entries = append(entries, testEntry{Key: fmt.Sprintf("h%d.example", i), Value: i})
	}
	replaceInts(m, entries)
	hit := func(key string) Hit {
		h, ok := m.Get(key)
		require.True(t, ok, key)
		return h
	}
	count(m, hit("h1.example"), 10)
	count(m, hit("h4999.example"), 20)
	m.Counters().Slot(1, hit("h2500.example").Stat).Sent(3)
	m.Counters().SetBase(hit("h3000.example").Stat, actions.Counts{CompletedRequests: 7})
	m.Counters().Slot(0, hit("h2.example").Stat).Begin(0) // open only: not listed
	m.Counters().Slot(0, 0).Begin(5)                      // unmatched: not a key

	want := map[string]actions.Counts{}
	m.Range(func(key string, h Hit) bool {
		c := m.Counts(h.Stat)
		c.OpenRequests = 0
		if !c.IsZero() {
			want[key] = c
		}
		return true
	})
	got := map[string]actions.Counts{}
	m.EachCounted(func(key string, c actions.Counts) {
		_, twice := got[key]
		assert.False(t, twice, "%s listed twice", key)
		got[key] = c
	})
	assert.Len(t, want, 4)
	assert.Equal(t, want, got)
}
