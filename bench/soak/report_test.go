package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// series returns n samples a second apart whose every metric is f(i).
func series(n int, f func(i int) int64) []sample {
	out := make([]sample, n)
	for i := range out {
		v := f(i)
		out[i] = sample{at: time.Duration(i) * time.Second, p: processInfo{Goroutines: v, OpenFDs: v, RSSBytes: v << 20, Threads: v}}
	}
	return out
}

func TestJudgeFlat(t *testing.T) {
	for _, tt := range []struct {
		name    string
		samples []sample
		flat    map[string]bool // nil: too few samples to judge
	}{
		{"constant", series(30, func(int) int64 { return 100 }),
			map[string]bool{"rss_bytes": true, "open_fds": true, "goroutines": true, "threads": true}},
		{"noise within tolerance", series(30, func(i int) int64 { return 100 + int64(i%3)*5 }),
			map[string]bool{"rss_bytes": true, "open_fds": true, "goroutines": true, "threads": true}},
		{"steady growth", series(30, func(i int) int64 { return 100 + int64(i)*4 }),
			map[string]bool{"rss_bytes": false, "open_fds": false, "goroutines": false, "threads": false}},
		{"a jump at the end", series(30, func(i int) int64 { return 100 + int64(i/29)*40 }),
			map[string]bool{"rss_bytes": false, "open_fds": false, "goroutines": false, "threads": false}},
		{"a small jump at the end", series(30, func(i int) int64 { return 100 + int64(i/29)*20 }),
			map[string]bool{"rss_bytes": true, "open_fds": true, "goroutines": true, "threads": true}},
		{"too few", series(minSamples-1, func(int) int64 { return 1 }), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := judgeFlat(tt.samples, time.Minute)
			if tt.flat == nil {
				assert.Nil(t, got)
				return
			}
			require.Len(t, got, len(metrics))
			for _, f := range got {
				assert.Equal(t, tt.flat[f.name], f.ok, "%s: plateau max %d, tail max %d, limit %d", f.name, f.plateauMax, f.tailMax, f.limit)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	for _, tt := range []struct {
		id     string
		c, seq int
		ok     bool
	}{
		{"abc123-3-17", 3, 17, true},
		{"abc123-0-0", 0, 0, true},
		{"abc124-3-17", 0, 0, false}, // another run
		{"abc123-4-17", 0, 0, false}, // no such client
		{"abc123-3-017", 0, 0, false},
		{"abc123-3--1", 0, 0, false},
		{"abc123-3", 0, 0, false},
		{"abc123-3-17-1", 0, 0, false},
		{"", 0, 0, false},
	} {
		c, seq, ok := parseID("abc123", tt.id, 4)
		assert.Equal(t, tt.ok, ok, "parseID(%q)", tt.id)
		if tt.ok {
			assert.Equal(t, [2]int{tt.c, tt.seq}, [2]int{c, seq}, "parseID(%q)", tt.id)
			assert.Equal(t, tt.id, formatID("abc123", c, seq))
		}
	}
}

func TestParseWrk(t *testing.T) {
	out := "Running 10s test @ http://127.0.0.1:1/wrk\n  1 threads and 16 connections\nSOAK 1000 2000 1 2 3 4 5 1500000\n"
	w, ok := parseWrk(out)
	require.True(t, ok)
	assert.Equal(t, wrkResult{requests: 1000, bytes: 2000, connect: 1, read: 2, write: 3, timeout: 4, statuses: 5, maxLat: 1500 * time.Millisecond}, w)
	assert.Equal(t, int64(15), w.errors())
	_, ok = parseWrk("no summary line\n")
	assert.False(t, ok)
	_, ok = parseWrk("SOAK 1 2 3\n")
	assert.False(t, ok)
}

func TestPatternCheck(t *testing.T) {
	body := make([]byte, 3*patternLen+7)
	for i := range body {
		body[i] = pattern[i%patternLen]
	}
	var p patternCheck
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 1000)
		k, err := p.Write(rest[:n])
		require.NoError(t, err)
		require.Equal(t, n, k)
		rest = rest[n:]
	}
	assert.False(t, p.bad)
	assert.Equal(t, int64(len(body)), p.n)

	body[2*patternLen+5] ^= 1
	p = patternCheck{}
	p.Write(body)
	assert.True(t, p.bad, "a flipped bit is found")
	assert.Equal(t, int64(len(body)), p.n)
}

// TestJudgeFindsViolations feeds judge a run in which each thing a soak
// must catch happened once.
func TestJudgeFindsViolations(t *testing.T) {
	be := &backend{nonce: "abc123", seen: make([][]uint8, 2)}
	be.record(0, 0) // seq 0: fine
	be.record(0, 2) // seq 2: received, but the client got a 502
	be.record(0, 3) // seq 3: duplicated
	be.record(0, 3) //
	be.record(1, 5) // client 1 never sent seq 5
	c0 := &client{n: 0, outcomes: []uint8{outOK, outOK, outStatus, outOK}, statuses: map[int]int64{200: 3, 502: 1}, problems: map[string]int64{}}
	c1 := &client{n: 1, outcomes: []uint8{outNoAnswer}, statuses: map[int]int64{}, problems: map[string]int64{}}
	r := &result{
		o: defaultOptions(), be: be, clients: []*client{c0, c1},
		fl:    &flipper{cycles: 0},
		smp:   &sampler{samples: series(30, func(i int) int64 { return 100 + int64(i)*10 })},
		m:     &mantrid{},
		stats: hostStats{OpenRequests: 1},
	}
	be.afterSpin.Store(1)
	r.judge()
	all := strings.Join(r.violations, "\n")
	for _, want := range []string{
		"2 unexpected answers (1 other statuses, 0 mismatched 200s, 1 without answer)",
		"1 lost",
		"1 duplicated",
		"1 receipts at the backend of ids no client sent",
		"no spin cycle ran",
		"1 requests sent after spin went live reached the backend",
		"open_requests of soak.test is 1",
		"rss_bytes not flat",
		"goroutines not flat",
	} {
		assert.Contains(t, all, want)
	}
	assert.Equal(t, int64(1), r.totals.unanswered, "received by the backend without a 200")
}
