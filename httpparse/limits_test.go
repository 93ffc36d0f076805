package httpparse

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// headOfSize returns a complete request head of exactly size bytes.
func headOfSize(size int) string {
	const frame = "GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n"
	return "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", size-len(frame)) + "\r\n\r\n"
}

// requestWithTarget returns a request whose target has exactly size bytes.
func requestWithTarget(size int) string {
	return "GET /" + strings.Repeat("p", size-1) + " HTTP/1.1\r\nHost: a\r\n\r\n"
}

// requestWithFields returns a request with exactly count field lines.
func requestWithFields(count int) string {
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: a\r\n")
	for i := 1; i < count; i++ {
		b.WriteString("X-" + strconv.Itoa(i) + ": v\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

type limitCase struct {
	name string
	in   string
	want error
}

// limitCases returns the N−1, N, N+1 cases of every limit in lim.
func limitCases(lim Limits) []limitCase {
	h, u, f := lim.MaxHeadSize, lim.MaxURILength, lim.MaxHeaders
	return []limitCase{
		{"head N-1", headOfSize(h - 1), nil},
		{"head N", headOfSize(h), nil},
		{"head N+1", headOfSize(h + 1), ErrHeadTooLarge},
		{"head N with leading CRLF", "\r\n" + headOfSize(h-2), nil},
		{"head N+1 with leading CRLF", "\r\n" + headOfSize(h-1), ErrHeadTooLarge},
		{"unfinished head of N-1 bytes", headOfSize(h + 10)[:h-1], ErrNeedMore},
		{"unfinished head of N bytes", headOfSize(h + 10)[:h], ErrHeadTooLarge},
		{"unfinished head of N bytes ending in CR", headOfSize(h + 1)[:h], ErrHeadTooLarge},
		{"target N-1", requestWithTarget(u - 1), nil},
		{"target N", requestWithTarget(u), nil},
		{"target N+1", requestWithTarget(u + 1), ErrURITooLong},
		{"unfinished target of N bytes", requestWithTarget(u + 10)[:len("GET ")+u], ErrNeedMore},
		{"unfinished target of N+1 bytes", requestWithTarget(u + 10)[:len("GET ")+u+1], ErrURITooLong},
		{"fields N-1", requestWithFields(f - 1), nil},
		{"fields N", requestWithFields(f), nil},
		{"fields N+1", requestWithFields(f + 1), ErrTooManyHeaders},
	}
}

func TestLimitsDefault(t *testing.T) {
	lim := DefaultLimits()
	assert.Equal(t, Limits{MaxHeadSize: 16 << 10, MaxURILength: 8 << 10, MaxHeaders: 100}, lim)
	assert.Equal(t, lim, Limits{}.orDefault(), "zero fields mean the defaults")
	assert.Equal(t, lim, Limits{MaxHeadSize: -1, MaxURILength: -1, MaxHeaders: -1}.orDefault())
	for _, tc := range limitCases(lim) {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range []Limits{lim, {}} {
				got := wholeRequest([]byte(tc.in), l)
				assert.Equal(t, tc.want, got.Err, "%s (%d bytes), limits %+v: got %v, want %v", tc.name, len(tc.in), l, got.Err, tc.want)
			}
		})
	}
}

func TestLimitsSmall(t *testing.T) {
	lim := Limits{MaxHeadSize: 120, MaxURILength: 20, MaxHeaders: 3}
	for _, tc := range limitCases(lim) {
		t.Run(tc.name, func(t *testing.T) {
			got := wholeRequest([]byte(tc.in), lim)
			assert.Equal(t, tc.want, got.Err, "%q: got %v, want %v", tc.in, got.Err, tc.want)
			checkRequestSplits(t, []byte(tc.in), lim)
		})
	}
}

func TestLimitsResponse(t *testing.T) {
	lim := Limits{MaxHeadSize: 64, MaxHeaders: 2}
	head := func(size int) string {
		const frame = "HTTP/1.1 200 OK\r\nX: \r\n\r\n"
		return "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("v", size-len(frame)) + "\r\n\r\n"
	}
	for _, tc := range []limitCase{
		{"head N-1", head(63), nil},
		{"head N", head(64), nil},
		{"head N+1", head(65), ErrHeadTooLarge},
		{"fields N", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n", nil},
		{"fields N+1", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", ErrTooManyHeaders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := wholeResponse([]byte(tc.in), lim)
			assert.Equal(t, tc.want, got.Err, "%q: got %v, want %v", tc.in, got.Err, tc.want)
			checkResponseSplits(t, []byte(tc.in), lim)
		})
	}
}

func TestLimitsReadAtMessageStart(t *testing.T) {
	p := Parser{Limits: Limits{MaxHeadSize: 1000}}
	in := []byte(headOfSize(200))
	_, err := p.ParseRequest(in[:50], new(Request))
	assert.Equal(t, ErrNeedMore, err)
	p.Limits.MaxHeadSize = 100
	_, err = p.ParseRequest(in, new(Request))
	assert.NoError(t, err, "a limit changed mid-message applies from the next message")
	_, err = p.ParseRequest(in, new(Request))
	assert.Equal(t, ErrHeadTooLarge, err)
}
