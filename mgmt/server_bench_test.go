package mgmt

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// storeWith returns a Server over a table holding the n rules of
// bulkBody, with a memory store.
func storeWith(b *testing.B, n int) (*Server, *testRules) {
	b.Helper()
	rules := newRules(4, nil)
	s := NewServer(rules.table, rules.store, ServerOptions{})
	bl, _, e := s.decodeRules(httptest.NewRecorder(), httptest.NewRequest("PUT", "http://localhost/hostname/", strings.NewReader(bulkBody(n))), nil)
	if e != nil {
		b.Fatal(e)
	}
	if _, err := rules.store.Replace(context.Background(), bl); err != nil {
		b.Fatal(err)
	}
	return s, rules
}

// BenchmarkSingleHostPutWith1M times PUT /hostname/HOST/ through the
// handler with a million rules loaded, alternating between replacing an
// existing rule and adding a new host.
func BenchmarkSingleHostPutWith1M(b *testing.B) {
	s, _ := storeWith(b, 1_000_000)
	h := s.Handler()
	const body = `["proxy",{"backends":[["10.9.9.9",8080]],"attempts":2},true]`
	paths := make([]string, 1024)
	for i := range paths {
		if i%2 == 0 {
			paths[i] = fmt.Sprintf("http://localhost/hostname/host-%d.example.com/", i*997)
		} else {
			paths[i] = fmt.Sprintf("http://localhost/hostname/new-%d.example.org/", i)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("PUT", paths[i%len(paths)], strings.NewReader(body)))
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		i++
	}
}

// BenchmarkBulkPut times PUT /hostname/ of n rules through the handler.
func BenchmarkBulkPut(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, _ := storeWith(b, 1000)
			body := bulkBody(n)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.Handler().ServeHTTP(w, httptest.NewRequest("PUT", "http://localhost/hostname/", strings.NewReader(body)))
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkGetAll1M times GET /hostname/ with a million rules.
func BenchmarkGetAll1M(b *testing.B) {
	s, _ := storeWith(b, 1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "http://localhost/hostname/", nil))
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		b.SetBytes(int64(w.Body.Len()))
	}
}

// BenchmarkCut1M times the cut of a million rules that GET /hostname/,
// GET /state/ and every snapshot take while holding the table's writer
// mutex: how long they hold up API writes (never the event loops).
func BenchmarkCut1M(b *testing.B) {
	_, rules := storeWith(b, 1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if rules.table.Cut().Len() != 1_000_000 {
			b.Fatal("wrong length")
		}
	}
}
