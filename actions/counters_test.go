package actions

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCounters(t *testing.T) {
	c := NewCounters(2)
	assert.Equal(t, 2, c.Loops())
	assert.Equal(t, Counts{}, c.Sum(5000), "an id never counted")
	s0, s1 := c.Slot(0, 5000), c.Slot(1, 5000)
	s0.Begin(10)
	s1.Begin(20)
	s1.Sent(7)
	s1.End(true)
	assert.Equal(t, Counts{OpenRequests: 1, CompletedRequests: 1, BytesSent: 7, BytesReceived: 30}, c.Sum(5000))
	assert.Equal(t, int64(1), c.Open(5000))
	assert.Same(t, s0, c.Slot(0, 5000), "a loop's slot stays where it is")
	assert.Equal(t, Counts{}, c.Sum(4999), "a neighbour is not counted")

	c.SetBase(5000, Counts{OpenRequests: 3, CompletedRequests: 100, BytesSent: 1, BytesReceived: 2})
	assert.Equal(t, Counts{OpenRequests: 0, CompletedRequests: 100, BytesSent: 1, BytesReceived: 2}, c.Sum(5000),
		"SetBase sets the counts, open requests aside")
	assert.Equal(t, int64(1), c.Open(5000), "Open ignores the base")
	s0.End(true)
	assert.Equal(t, Counts{OpenRequests: -1, CompletedRequests: 101, BytesSent: 1, BytesReceived: 2}, c.Sum(5000))
	c.SetBase(5000, Counts{})
	assert.Equal(t, Counts{}, c.Sum(5000), "a zero base zeroes the counts")
	c.SetBase(1<<20, Counts{})
	assert.Nil(t, c.base.at(1<<20), "a zero base of an id never counted costs nothing")

	assert.True(t, c.Touched(5000), "counted by the loops")
	assert.True(t, c.Touched(4999), "in a chunk that exists: may have counts")
	assert.False(t, c.Touched(100), "no chunk: no counts")
	assert.False(t, c.Touched(1<<20), "no chunk, past the directory")
	c.SetBase(3<<countersChunkBits, Counts{CompletedRequests: 1})
	assert.True(t, c.Touched(3<<countersChunkBits), "a base alone")
}

// TestCountersConcurrent has two loops count far-apart ids (growing their
// arrays) while a reader sums; run with -race.
func TestCountersConcurrent(t *testing.T) {
	c := NewCounters(2)
	var wg sync.WaitGroup
	for loop := range 2 {
		wg.Go(func() {
			for i := range 20000 {
				s := c.Slot(loop, uint32(i*37))
				s.Begin(1)
				s.End(true)
			}
		})
	}
	wg.Go(func() {
		for i := range 20000 {
			_ = c.Sum(uint32(i * 37))
		}
	})
	wg.Wait()
	for i := range 20000 {
		assert.Equal(t, Counts{CompletedRequests: 2, BytesReceived: 2}, c.Sum(uint32(i*37)), "id %d", i*37)
	}
}
