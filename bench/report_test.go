package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	cases := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"odd", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := median(c.in); got != c.want {
				t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
			}
		})
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

const wrkOutput = `Running 2s test @ http://127.0.0.1:1234/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20ms  300.00us   9.00ms   90.00%
    Req/Sec    50.00k     1.00k   52.00k    80.00%
  Latency Distribution
     50%  656.00us
     75%    1.10ms
     90%    1.50ms
     99%    2.00s
  100000 requests in 2.00s, 12.00MB read
Requests/sec:  50000.00
Transfer/sec:      6.00MB
BENCH 100000 2000000 12000000 3 656 1500 2000000 2500000
`

func TestParseWrkAndTable(t *testing.T) {
	s, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := [4]time.Duration{656 * time.Microsecond, 1500 * time.Microsecond, 2 * time.Second, 2500 * time.Millisecond}
	if s.lat != want || s.requests != 100000 || s.errors != 3 || s.rps() != 50000 {
		t.Errorf("parseWrk = %+v, want lat %v, 100000 requests, 3 errors, 50000 req/s", s, want)
	}
	direct := &target{name: "backend directly"}
	m := &target{name: "Mantrid"}
	ng := &target{name: "nginx"}
	half := s
	half.duration *= 2
	res := scenarioResult{sc: scenario{title: "t", targets: []*target{direct, m, ng}, peers: []*target{ng}}}
	res.rows = []row{aggregate(direct, []sample{s}, 1024), aggregate(m, []sample{half, half, s}, 2048), aggregate(ng, []sample{half}, 0)}
	res.fillRatios()
	if got := res.rows[1].vsDirect; got != 0.5 {
		t.Errorf("Mantrid ratio to direct = %v, want 0.5", got)
	}
	if got := res.rows[1].vsPeer; got != 1 {
		t.Errorf("Mantrid ratio to best peer = %v, want 1", got)
	}
	md := res.markdown()
	for _, w := range []string{"| backend directly | 50.0k |", "| Mantrid | 25.0k |", "| 0.50 | 1.00 |", "1.0 MiB"} {
		if !strings.Contains(md, w) {
			t.Errorf("table lacks %q:\n%s", w, md)
		}
	}
	if svg := chartSVG([]scenarioResult{res}); !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "Mantrid") {
		t.Errorf("chart = %s", svg)
	}
}
