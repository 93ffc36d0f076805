package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// benchRules returns the bench's standard set of n rules: a proxy to two
// backends, each shared with the neighbouring host.
func benchRules(b *testing.B, n int) ([]string, []*actions.Rule) {
	b.Helper()
	keys := make([]string, n)
	rules := make([]*actions.Rule, n)
	for i := range n {
		keys[i] = fmt.Sprintf("app%07d.example-hosting.com", i)
		js := fmt.Sprintf(`["proxy",{"backends":[["127.%d.%d.%d",8000],["127.%d.%d.%d",8000]]},true]`,
			i>>16&255, i>>8&255, i&255, (i+1)>>16&255, (i+1)>>8&255, (i+1)&255)
		r, err := actions.ParseRule([]byte(js))
		if err != nil {
			b.Fatal(err)
		}
		rules[i] = r
	}
	return keys, rules
}

// openWith1M opens a store in dir holding the standard million rules and
// returns it with their keys.
func openWith1M(b *testing.B, dir string) (*Local, []string) {
	b.Helper()
	keys, rules := benchRules(b, 1_000_000)
	table := hostmap.New(2)
	l, err := Open(Options{Dir: dir, Table: table})
	if err != nil {
		b.Fatal(err)
	}
	bl := table.NewBuilder(len(keys))
	for i := range keys {
		bl.Add(keys[i], rules[i])
	}
	if _, err := l.Replace(ctx, bl); err != nil {
		b.Fatal(err)
	}
	return l, keys
}

// BenchmarkReplace1M times a bulk replace of a million rules through the
// store: the snapshot written and fsynced, then the table replaced; and,
// separately, building the content.
func BenchmarkReplace1M(b *testing.B) {
	keys, rules := benchRules(b, 1_000_000)
	table := hostmap.New(2)
	l, err := Open(Options{Dir: b.TempDir(), Table: table})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var build, commit time.Duration
	for b.Loop() {
		start := time.Now()
		bl := table.NewBuilder(len(keys))
		for i := range keys {
			bl.Add(keys[i], rules[i])
		}
		mid := time.Now()
		if _, err := l.Replace(ctx, bl); err != nil {
			b.Fatal(err)
		}
		build, commit = build+mid.Sub(start), commit+time.Since(mid)
	}
	b.ReportMetric(build.Seconds()/float64(b.N), "s-build/op")
	b.ReportMetric(commit.Seconds()/float64(b.N), "s-commit/op")
}

// BenchmarkOpen1M times loading a store of a million rules into a new
// table, as a restart does.
func BenchmarkOpen1M(b *testing.B) {
	dir := b.TempDir()
	l, _ := openWith1M(b, dir)
	l.Close()
	for b.Loop() {
		l, err := Open(Options{Dir: dir, Table: hostmap.New(2)})
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}

// BenchmarkSet1M times one durable single-host change with a million
// rules loaded: a journal record, its fsync, the table changed.
func BenchmarkSet1M(b *testing.B) {
	l, keys := openWith1M(b, b.TempDir())
	defer l.Close()
	_, rules := benchRules(b, 10)
	i := 0
	for b.Loop() {
		if _, err := l.Set(ctx, keys[i*7919%len(keys)], rules[i%len(rules)], Cond{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOpenPhases1M splits a restart's load of a million rules into
// reading the snapshot into a builder and publishing it.
func BenchmarkOpenPhases1M(b *testing.B) {
	dir := b.TempDir()
	l, _ := openWith1M(b, dir)
	l.Close()
	var read, publish time.Duration
	for b.Loop() {
		t := hostmap.New(2)
		start := time.Now()
		bl := t.NewBuilder(0)
		if _, err := readSnapshotFile(dir+"/"+snapName, bl); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		t.Replace(bl)
		read, publish = read+mid.Sub(start), publish+time.Since(mid)
	}
	b.ReportMetric(read.Seconds()/float64(b.N), "s-read/op")
	b.ReportMetric(publish.Seconds()/float64(b.N), "s-publish/op")
}

// BenchmarkSaveStats1M times one save of the counters with a million rules
// loaded, ten of them with traffic: what the store's Maintain does every
// save_interval while traffic flows.
func BenchmarkSaveStats1M(b *testing.B) {
	l, keys := openWith1M(b, b.TempDir())
	defer l.Close()
	for i := range 10 {
		h, ok := l.table.Get(keys[i*99991])
		if !ok {
			b.Fatal("no rule for", keys[i*99991])
		}
		s := l.table.Counters().Slot(0, h.Stat)
		s.Begin(100)
		s.End(true)
	}
	for b.Loop() {
		if _, err := l.SaveStats(true); err != nil {
			b.Fatal(err)
		}
	}
}
