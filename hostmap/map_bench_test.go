package hostmap

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mantrid/mantrid/actions"
)

// benchHosts is how many distinct request hosts a Match benchmark cycles
// through, so that lookups at 10^6 rules pay for cache misses as a real
// load balancer would instead of hitting one hot slot.
const benchHosts = 1 << 14

// BenchmarkMatch measures Match at 10^3 and 10^6 rules: an exact hit, a
// hit two labels up the subdomain walk, a protocol-qualified hit and a miss
// that walks every suffix of a four-label host.
func BenchmarkMatch(b *testing.B) {
	for _, size := range []int{1_000, 1_000_000} {
		m := New(1)
		es := testEntries(size)
		for i := range es {
			es[i].Subdomains = true
		}
		replaceInts(m, es)
		rng := rand.New(rand.NewPCG(5, 6))
		hosts := map[string][][]byte{}
		for range benchHosts {
			i := rng.IntN(size)
			hosts["hit-exact"] = append(hosts["hit-exact"], []byte(testKey(i)))
			hosts["hit-subdomain"] = append(hosts["hit-subdomain"], []byte("www.api."+testKey(i)))
			hosts["miss"] = append(hosts["miss"], []byte("www.app"+strconv.Itoa(i)+".nowhere.example"))
		}
		for _, name := range []string{"hit-exact", "hit-subdomain", "miss"} {
			b.Run("rules="+strconv.Itoa(size)+"/"+name, func(b *testing.B) {
				hs := hosts[name]
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					m.Match(hs[i&(benchHosts-1)], false)
					i++
				}
			})
		}
	}
}

// BenchmarkMatchParallel measures Match from every CPU at 10^6 rules.
func BenchmarkMatchParallel(b *testing.B) {
	m := New(1)
	replaceInts(m, testEntries(1_000_000))
	hosts := make([][]byte, benchHosts)
	for i := range hosts {
		hosts[i] = []byte("www." + testKey(i*61))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Match(hosts[i&(benchHosts-1)], false)
			i++
		}
	})
}

// BenchmarkSet measures one Set into a map of 10^6 keys: overwriting an
// existing key, and inserting a new key then deleting it (one op is the
// pair), which keeps the size at 10^6 and exercises tombstone reuse and
// shard rebuilds.
func BenchmarkSet(b *testing.B) {
	m := New(1)
	replaceInts(m, testEntries(1_000_000))
	rule := intRule(1, false)
	existing := make([]string, benchHosts)
	fresh := make([]string, benchHosts)
	for i := range existing {
		existing[i] = testKey(i * 61)
		fresh[i] = "new" + strconv.Itoa(i) + ".example"
	}
	b.Run("into=1000000/overwrite", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Set(existing[i&(benchHosts-1)], rule)
			i++
		}
	})
	b.Run("into=1000000/insert+delete", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := fresh[i&(benchHosts-1)]
			m.Set(k, rule)
			m.Delete(k)
			i++
		}
	})
}

// BenchmarkSetGrow inserts 10^6 new keys one by one into an empty map and
// reports the mean, the 99.99th percentile and the worst single Set. A Set
// rebuilds at most one shard's table (never the whole map); the worst case
// also includes GC assists and page faults.
func BenchmarkSetGrow(b *testing.B) {
	const n = 1_000_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = testKey(i)
	}
	lat := make([]time.Duration, n)
	rule := intRule(1, false)
	b.ReportAllocs()
	for b.Loop() {
		m := New(1)
		for i, k := range keys {
			start := time.Now()
			m.Set(k, rule)
			lat[i] = time.Since(start)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/set")
	b.ReportMetric(float64(lat[n-n/10000].Microseconds()), "p99.99-µs/set")
	b.ReportMetric(float64(lat[n-1].Microseconds()), "worst-µs/set")
}

// BenchmarkReplace measures building and publishing a content of 10^6
// rules, replacing one of the same keys (so every stat id is kept).
func BenchmarkReplace(b *testing.B) {
	es := testEntries(1_000_000)
	rules := make([]*actions.Rule, len(es))
	for i, e := range es {
		rules[i] = intRule(e.Value, e.Subdomains)
	}
	m := New(1)
	replaceInts(m, es)
	b.ReportAllocs()
	for b.Loop() {
		bl := m.NewBuilder(len(es))
		for i, e := range es {
			bl.Add(e.Key, rules[i])
		}
		m.Replace(bl)
	}
}

// BenchmarkBytesPerKey reports the heap a Table of 10^6 keys takes, per
// key, with its keys and rules (the rules of the bench's standard set: a
// proxy to two backends that each host shares with its neighbour), built by
// a Builder and by one Set per key, and the Go objects the collector finds
// in it.
func BenchmarkBytesPerKey(b *testing.B) {
	const n = 1_000_000
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
	for _, how := range []string{"replace", "set"} {
		b.Run(how+"/keys=1000000", func(b *testing.B) {
			var perKey, objects float64
			for b.Loop() {
				before, beforeObjs := heapInUse()
				m := New(1)
				if how == "replace" {
					bl := m.NewBuilder(n)
					for i := range n {
						bl.Add(keys[i], rules[i])
					}
					m.Replace(bl)
				} else {
					for i := range n {
						m.Set(keys[i], rules[i])
					}
				}
				after, afterObjs := heapInUse()
				perKey, objects = float64(after-before)/n, float64(afterObjs-beforeObjs)
				runtime.KeepAlive(m)
			}
			b.ReportMetric(perKey, "B/key")
			b.ReportMetric(objects, "objects")
		})
	}
}

// heapInUse returns the live heap in bytes and in objects after a full
// collection.
func heapInUse() (int64, int64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.HeapObjects)
}

// BenchmarkNormalize measures Normalize of a typical Host header.
func BenchmarkNormalize(b *testing.B) {
	host := []byte("WWW.Customer-App.ep.io:8080")
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Normalize(buf[:0], host)
	}
}
