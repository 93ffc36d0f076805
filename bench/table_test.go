package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTableMarkdown(t *testing.T) {
	tab := table{title: "t", text: 2, head: []string{"target", "how", "n", "p99"}, note: "a note"}
	tab.addRow("Mantrid", "PUT a|b", "20", "1.00 ms")
	tab.addRow("HAProxy", "n/a (not installed)")
	md := tab.markdown()
	for _, want := range []string{
		"\n### t\n\n",
		"| target | how | n | p99 |\n|---|---|---:|---:|\n",
		`| Mantrid | PUT a\|b | 20 | 1.00 ms |`,
		"| HAProxy | n/a (not installed) | — | — |",
		"\na note\n",
	} {
		assert.Contains(t, md, want, "markdown:\n%s", md)
	}
	failed := table{title: "crash: failed", note: "boom"}.markdown()
	assert.Equal(t, "\n### crash: failed\n\nboom\n", failed)
}

func TestCountLabel(t *testing.T) {
	cases := []struct {
		n    int
		want string
	}{{1_000_000, "10⁶"}, {20000, "20,000"}, {999, "999"}, {1000, "1,000"}, {12345678, "12,345,678"}}
	for _, c := range cases {
		assert.Equal(t, c.want, countLabel(c.n), "countLabel(%d)", c.n)
	}
}

func TestFormats(t *testing.T) {
	assert.Equal(t, "1.50 ms", fmtMS(1500*time.Microsecond))
	assert.Equal(t, "250 ms", fmtMS(250*time.Millisecond))
	assert.Equal(t, "2.50 s", fmtSec(2500*time.Millisecond))
	assert.Equal(t, "—", fmtSec(-1))
	assert.Equal(t, "1.5 MiB", fmtMiB(1536))
	assert.Equal(t, "228.9 MB", fmtBytes(228_948_282))
	assert.Equal(t, "28.7 kB", fmtBytes(28672))
}

func TestLatencies(t *testing.T) {
	var l latencies
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, l.p(0.5))
	assert.Equal(t, 99*time.Millisecond, l.p(0.99))
	assert.Equal(t, 100*time.Millisecond, l.p(1))
	assert.Equal(t, 100*time.Millisecond, l[0], "p must not sort the caller's slice")
	assert.Equal(t, "50.00 ms / 100 ms (n = 100)", l.summary(fmtMS, 0.5, 1))
	assert.Equal(t, "—", latencies{}.summary(fmtMS, 0.5))
	assert.True(t, strings.HasPrefix(latencies{time.Second}.summary(fmtSec, 0.5), "1.00 s"))
}
