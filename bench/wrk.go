package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkScript makes wrk print, after the run, one machine-readable line:
// requests, duration (µs), bytes, errors (socket + non-2xx/3xx) and the
// p50/p90/p99/p99.9 latencies (µs). --latency does not print p99.9.
const wrkScript = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
`

// sample is the outcome of one wrk run against one target.
type sample struct {
	requests int64
	duration time.Duration
	bytes    int64
	errors   int64
	lat      [4]time.Duration // p50, p90, p99, p99.9
	cpuUS    float64          // proxy CPU µs per request
}

// rps is requests per second.
func (s sample) rps() float64 { return float64(s.requests) / s.duration.Seconds() }

// mbps is response bytes per second in MB (10⁶ bytes).
func (s sample) mbps() float64 { return float64(s.bytes) / 1e6 / s.duration.Seconds() }

// wrkArgs is the wrk command line for one run.
func wrkArgs(sc scenario, d time.Duration, script, url string) []string {
	args := []string{"wrk", "-t1", fmt.Sprintf("-c%d", sc.conns), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency",
		"--timeout", "30s", "-s", script, "-H", "Host: " + benchHost}
	if sc.close {
		args = append(args, "-H", "Connection: close")
	}
	return append(args, url+sc.path)
}

// runWrk runs wrk and parses its output.
func runWrk(ctx context.Context, args []string) (sample, error) {
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, lastLines(out))
	}
	return parseWrk(string(out))
}

// parseWrk reads the --latency distribution (p50, p90, p99) and the
// script's BENCH line (counts and p99.9) from wrk's output.
func parseWrk(out string) (sample, error) {
	var s sample
	var found bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && (f[0] == "50%" || f[0] == "90%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return s, err
			}
			s.lat[map[string]int{"50%": 0, "90%": 1, "99%": 2}[f[0]]] = d
		case len(f) == 9 && f[0] == "BENCH":
			var v [8]int64
			for i := range v {
				n, err := strconv.ParseInt(f[i+1], 10, 64)
				if err != nil {
					return s, fmt.Errorf("wrk BENCH line %q: %w", sc.Text(), err)
				}
				v[i] = n
			}
			s.requests, s.duration, s.bytes, s.errors = v[0], time.Duration(v[1])*time.Microsecond, v[2], v[3]
			s.lat[3] = time.Duration(v[7]) * time.Microsecond
			found = true
		}
	}
	if !found || s.duration <= 0 {
		return s, errors.New("wrk printed no summary: " + lastLines([]byte(out)))
	}
	return s, nil
}

// parseWrkDuration parses wrk's latency format: 656.00us, 1.23ms, 2.00s, 1.00m.
func parseWrkDuration(v string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("wrk latency %q: %w", v, err)
			}
			return time.Duration(f * float64(u.d)), nil
		}
	}
	return 0, fmt.Errorf("wrk latency %q: unknown unit", v)
}
