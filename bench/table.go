package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// table is a titled markdown table of the scale scenarios, whose columns
// differ from the wrk tables of scenarioResult.
type table struct {
	name     string // scenario id, for the commands section
	title    string
	head     []string // column names
	text     int      // leading columns that are left-aligned (at least 1); the rest are numbers
	rows     [][]string
	note     string   // printed under the table
	commands []string // command lines run, for the report
}

// markdown renders the table with its title and note.
func (t table) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s\n\n", t.title)
	if len(t.head) == 0 {
		b.WriteString(t.note + "\n")
		return b.String()
	}
	b.WriteString("| " + strings.Join(t.head, " | ") + " |\n|")
	for i := range t.head {
		if i < max(t.text, 1) {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		cells := make([]string, len(t.head))
		for i := range cells {
			cells[i] = "—"
			if i < len(r) && r[i] != "" {
				cells[i] = strings.ReplaceAll(r[i], "|", `\|`)
			}
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	if t.note != "" {
		b.WriteString("\n" + t.note + "\n")
	}
	return b.String()
}

// addRow appends a row of cells.
func (t *table) addRow(cells ...string) { t.rows = append(t.rows, cells) }

// fmtSec prints a duration in seconds with two decimals, or — when it is
// negative (not measured).
func fmtSec(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// fmtMS prints a duration in ms: two decimals below 100 ms, none above.
func fmtMS(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms >= 100 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

// fmtMiB prints KiB as MiB with one decimal.
func fmtMiB(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

// fmtBytes prints a byte count in MB (10⁶) with one decimal, or in kB
// below 1 MB.
func fmtBytes(n int64) string {
	if n < 1_000_000 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// countLabel names a host count in a title: 10⁶ for a million, else the
// number with thousands separators.
func countLabel(n int) string {
	if n == 1_000_000 {
		return "10⁶"
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// latencies summarises durations as p50, p99 and max (sorted copy).
type latencies []time.Duration

// sorted returns a sorted copy.
func (l latencies) sorted() latencies {
	s := slices.Clone(l)
	slices.Sort(s)
	return s
}

// p returns the q-quantile (q = 1: the largest), or 0 when empty.
func (l latencies) p(q float64) time.Duration { return quantile(l.sorted(), q) }

// summary prints the q-quantiles with f, separated by " / ", and the
// count; — when there are none.
func (l latencies) summary(f func(time.Duration) string, qs ...float64) string {
	if len(l) == 0 {
		return "—"
	}
	s := l.sorted()
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = f(quantile(s, q))
	}
	return fmt.Sprintf("%s (n = %d)", strings.Join(parts, " / "), len(l))
}
