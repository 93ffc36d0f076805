package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// result is everything a soak run measured, and what it violated.
type result struct {
	o           options
	race        bool // the mantrid binary was built with -race
	be          *backend
	m           *mantrid
	clients     []*client
	fl          *flipper
	smp         *sampler
	wrk         *wrkRun // nil without -wrk
	wrkErr      error
	loadTime    time.Duration
	interrupted bool

	idle, after        processInfo // before the load; after it, once open_requests was 0
	afterErr, statsErr error
	stats              hostStats
	openZeroAfter      time.Duration
	killed             bool
	exitErr            error

	totals     totals
	flat       []flatness
	violations []string
}

// totals sums the clients' records against the backend's.
type totals struct {
	sent, ok, status, mismatch, noAnswer int64
	lost                                 int64 // 200 with its own id, but the backend never saw the id
	duplicated                           int64 // ids the backend received more than once
	unanswered                           int64 // ids the backend received whose client got no 200
	phantom                              int64 // receipts of ids no client sent
	dialErrs                             int64
	stray                                int64 // connections with bytes after their last answer
	conns                                int64
	bytesOut                             int64
	bytesIn                              int64
	maxLat                               time.Duration
	kinds                                [numKinds]int64
	statuses                             map[int]int64
	problems                             map[string]int64
	examples                             []string
	windows                              [][2]time.Duration // of the examples: request start and problem
}

// sum compares every client's outcomes with the backend's receipts.
func (r *result) sum() totals {
	t := totals{statuses: map[int]int64{}, problems: map[string]int64{}}
	for _, c := range r.clients {
		for seq, out := range c.outcomes {
			n := r.be.receipts(c.n, seq)
			switch out {
			case outOK:
				t.ok++
				if n == 0 {
					t.lost++
				}
			case outStatus:
				t.status++
			case outMismatch:
				t.mismatch++
			default:
				t.noAnswer++
			}
			if n > 1 {
				t.duplicated++
			}
			if n > 0 && out != outOK {
				t.unanswered++
			}
		}
		t.sent += int64(len(c.outcomes))
		t.phantom += int64(r.be.beyond(c.n, len(c.outcomes)))
		t.dialErrs += c.dialErrs
		t.stray += c.stray
		t.conns += c.conns
		out, in := c.bytes()
		t.bytesOut += out
		t.bytesIn += in
		t.maxLat = max(t.maxLat, c.maxLat)
		for k := range t.kinds {
			t.kinds[k] += c.kinds[k]
		}
		for s, n := range c.statuses {
			t.statuses[s] += n
		}
		for p, n := range c.problems {
			t.problems[p] += n
		}
		for i, e := range c.examples {
			if len(t.examples) < maxNotes {
				t.examples = append(t.examples, e)
				t.windows = append(t.windows, c.windows[i])
			}
		}
	}
	return t
}

// flatness is one resource's verdict: the largest of the last samples
// must not pass the largest of the first plateau by more than ratio plus
// slack.
type flatness struct {
	name                string
	first, last, lo, hi int64
	plateauMax, tailMax int64
	plateauMed, tailMed int64 // medians, for the report
	limit               int64
	plateauN, tailN     int
	ok                  bool
}

// metric is a resource of /process/ and its tolerance.
type metric struct {
	name  string
	get   func(processInfo) int64
	ratio float64
	slack int64
}

// metrics are judged flat when tail max ≤ plateau max × (1 + ratio) +
// slack. RSS moves with the Go heap's goal, so it gets a quarter and
// 8 MiB; fds and goroutines follow the connections open, so they get a
// tenth and 16; threads only grow in Go (never shrink), a quarter and 4.
var metrics = []metric{
	{"rss_bytes", func(p processInfo) int64 { return p.RSSBytes }, 0.25, 8 << 20},
	{"open_fds", func(p processInfo) int64 { return p.OpenFDs }, 0.10, 16},
	{"goroutines", func(p processInfo) int64 { return p.Goroutines }, 0.10, 16},
	{"threads", func(p processInfo) int64 { return p.Threads }, 0.25, 4},
}

// minSamples is the fewest samples flatness can be judged on.
const minSamples = 6

// judgeFlat compares the first plateau (samples within o.plateau of the
// start, and within the first third of the run) with the tail (the last
// tenth of the samples, at least 3).
func judgeFlat(samples []sample, plateau time.Duration) []flatness {
	n := len(samples)
	if n < minSamples {
		return nil
	}
	end := samples[n-1].at
	window := min(plateau, end/3)
	pn := 0
	for pn < n && samples[pn].at <= window {
		pn++
	}
	pn = max(pn, 2)
	tn := max(3, n/10)
	var out []flatness
	for _, m := range metrics {
		f := flatness{name: m.name, first: m.get(samples[0].p), last: m.get(samples[n-1].p),
			lo: m.get(samples[0].p), hi: m.get(samples[0].p), plateauN: pn, tailN: tn}
		var head, tail []int64
		for i, s := range samples {
			v := m.get(s.p)
			f.lo, f.hi = min(f.lo, v), max(f.hi, v)
			if i < pn {
				f.plateauMax = max(f.plateauMax, v)
				head = append(head, v)
			}
			if i >= n-tn {
				f.tailMax = max(f.tailMax, v)
				tail = append(tail, v)
			}
		}
		f.plateauMed, f.tailMed = median(head), median(tail)
		f.limit = int64(float64(f.plateauMax)*(1+m.ratio)) + m.slack
		f.ok = f.tailMax <= f.limit && f.lo >= 0
		out = append(out, f)
	}
	return out
}

// median returns the middle of v (the upper one of an even count).
func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

// judge fills totals, flat and violations.
func (r *result) judge() {
	t := r.sum()
	r.totals = t
	v := func(format string, args ...any) { r.violations = append(r.violations, fmt.Sprintf(format, args...)) }
	if t.sent == 0 {
		v("no request was sent")
	}
	if u := t.sent - t.ok; u > 0 {
		v("%d unexpected answers (%d other statuses, %d mismatched 200s, %d without answer)", u, t.status, t.mismatch, t.noAnswer)
	}
	if t.lost > 0 {
		v("%d lost: answered 200 with their id, never received by the backend", t.lost)
	}
	if t.duplicated > 0 {
		v("%d duplicated: received by the backend more than once", t.duplicated)
	}
	if t.phantom > 0 {
		v("%d receipts at the backend of ids no client sent", t.phantom)
	}
	if t.dialErrs > 0 {
		v("%d failed connection attempts to Mantrid", t.dialErrs)
	}
	if t.stray > 0 {
		v("%d connections got bytes after their last answer", t.stray)
	}
	if n := r.be.badCount.Load(); n > 0 {
		v("%d requests at the backend without a valid id or with an unreadable body", n)
	}
	if n := r.be.afterSpin.Load(); n > 0 {
		v("%d requests sent after spin went live reached the backend (spin must hold them)", n)
	}
	r.judgeFlipper(v)
	r.judgeWrk(v)
	r.judgeStats(v, t)
	r.judgeResources(v)
	r.judgeMantrid(v)
}

func (r *result) judgeFlipper(v func(string, ...any)) {
	if r.fl.cycles == 0 {
		v("no spin cycle ran: run longer than -flip (%s)", r.o.flip)
	}
	for _, e := range r.fl.errs {
		v("flipper: %s", e)
	}
}

func (r *result) judgeWrk(v func(string, ...any)) {
	if r.wrk == nil || r.wrk.skipped != "" {
		return
	}
	switch {
	case r.wrkErr != nil:
		v("wrk: %v", r.wrkErr)
	case r.wrk.killed:
		v("wrk did not end on time and was stopped")
	case r.wrk.res.errors() > 0:
		w := r.wrk.res
		v("wrk: %d errors (connect %d, read %d, write %d, timeout %d, status not 2xx/3xx %d)",
			w.errors(), w.connect, w.read, w.write, w.timeout, w.statuses)
	}
}

// judgeStats checks Mantrid's counters for the host: open_requests back to
// 0, and, when the Go clients were the only load and all went well,
// completed requests and bytes equal to what the clients sent and read.
// With wrk, whose last requests may be cut, they must be at least that.
func (r *result) judgeStats(v func(string, ...any), t totals) {
	if r.statsErr != nil {
		v("GET /stats/%s/: %v", soakHost, r.statsErr)
		return
	}
	s := r.stats
	if s.OpenRequests != 0 {
		v("open_requests of %s is %d, not 0, %s after the load stopped", soakHost, s.OpenRequests, r.openZeroAfter.Round(time.Millisecond))
	}
	wrkRan := r.wrk != nil && r.wrk.skipped == ""
	if wrkRan || t.sent != t.ok || t.dialErrs > 0 {
		var wrkReq int64
		if wrkRan {
			wrkReq = r.wrk.res.requests
		}
		if s.CompletedRequests < t.ok+wrkReq {
			v("completed_requests %d < %d answered to the clients + %d to wrk", s.CompletedRequests, t.ok, wrkReq)
		}
		return
	}
	if s.CompletedRequests != t.sent {
		v("completed_requests %d, clients sent %d", s.CompletedRequests, t.sent)
	}
	if s.BytesReceived != t.bytesOut {
		v("bytes_received %d, clients wrote %d", s.BytesReceived, t.bytesOut)
	}
	if s.BytesSent != t.bytesIn {
		v("bytes_sent %d, clients read %d", s.BytesSent, t.bytesIn)
	}
}

func (r *result) judgeResources(v func(string, ...any)) {
	for _, e := range r.smp.errs {
		v("GET /process/ at %s", e)
	}
	if r.afterErr != nil {
		v("GET /process/ after the load: %v", r.afterErr)
	}
	r.flat = judgeFlat(r.smp.samples, r.o.plateau)
	if r.flat == nil {
		v("only %d resource samples: too few to judge flatness (need %d; lower -sample or raise -d)", len(r.smp.samples), minSamples)
	}
	for _, f := range r.flat {
		if !f.ok {
			v("%s not flat: last %d samples up to %d, first plateau (%d samples) up to %d, limit %d", f.name, f.tailN, f.tailMax, f.plateauN, f.plateauMax, f.limit)
		}
	}
}

func (r *result) judgeMantrid(v func(string, ...any)) {
	switch {
	case r.killed:
		v("Mantrid did not exit within 30 s of SIGTERM and was killed")
	case r.exitErr != nil:
		v("Mantrid exited with %v", r.exitErr)
	}
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if r.m.race {
		v("Mantrid reported a data race")
	}
	if r.m.nErrors > 0 {
		v("Mantrid logged %d errors or panics", r.m.nErrors)
	}
}

// print writes the summary.
func (r *result) print(w io.Writer) {
	t, o := r.totals, r.o
	fmt.Fprintf(w, "\n== soak summary ==\n")
	fmt.Fprintf(w, "mantrid %s (race: %v); load %s of %s", o.mantrid, r.race, r.loadTime.Round(time.Second), o.duration)
	if r.interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintf(w, "; %d clients; seed %d\n", o.clients, o.seed)
	r.printFlips(w)
	fmt.Fprintf(w, "client requests: %d sent (%.0f/s), %d answered 200 with their own id and intact bodies\n",
		t.sent, float64(t.sent)/max(r.loadTime.Seconds(), 1e-3), t.ok)
	fmt.Fprintf(w, "  mix: %s; %d connections; longest request %s\n", mix(t), t.conns, t.maxLat.Round(time.Millisecond))
	fmt.Fprintf(w, "  statuses: %s\n", statuses(t.statuses))
	fmt.Fprintf(w, "  lost: %d   duplicated: %d   unexpected: %d (other status %d, mismatched 200 %d, no answer %d)\n",
		t.lost, t.duplicated, t.sent-t.ok, t.status, t.mismatch, t.noAnswer)
	fmt.Fprintf(w, "  received by the backend without a 200 to the client: %d; receipts of unsent ids: %d; dial errors: %d\n",
		t.unanswered, t.phantom, t.dialErrs)
	for _, p := range slices.Sorted(maps.Keys(t.problems)) {
		fmt.Fprintf(w, "  problem %q: %d\n", p, t.problems[p])
	}
	for _, e := range t.examples {
		fmt.Fprintf(w, "    e.g. %s\n", e)
	}
	r.printTimeline(w, t.windows)
	fmt.Fprintf(w, "backend: %d requests (%d from wrk), %d restarts (%d listen retries), %d duplicated, %d bad; %d connections closed without a request\n",
		r.be.requests.Load(), r.be.wrk.Load(), r.be.restarts.Load(), r.be.listenRetries.Load(), r.be.dupCount.Load(), r.be.badCount.Load(),
		r.be.conns.closedNewCount())
	fmt.Fprintf(w, "  arrived while spin was live: %d sent after it went live (must be 0), %d sent before (routed just before the change), %d from wrk\n",
		r.be.afterSpin.Load(), r.be.inFlight.Load(), r.be.wrkInSpin.Load())
	r.be.mu.Lock()
	for _, l := range [][]string{r.be.dupes, r.be.bad, r.be.spinIDs} {
		for _, e := range l {
			fmt.Fprintf(w, "    e.g. %s\n", e)
		}
	}
	r.be.mu.Unlock()
	r.printWrk(w)
	s := r.stats
	fmt.Fprintf(w, "mantrid /stats/%s/: open_requests %d (%s after the load), completed_requests %d, bytes_received %d (clients wrote %d), bytes_sent %d (clients read %d)\n",
		soakHost, s.OpenRequests, r.openZeroAfter.Round(time.Millisecond), s.CompletedRequests, s.BytesReceived, t.bytesOut, s.BytesSent, t.bytesIn)
	r.printResources(w)
	r.printMantridLog(w)
	if len(r.violations) == 0 {
		fmt.Fprintln(w, "RESULT: PASS — 0 lost, 0 duplicated, 0 unexpected, resources flat")
		return
	}
	fmt.Fprintf(w, "RESULT: FAIL — %d violations:\n", len(r.violations))
	for _, v := range r.violations {
		fmt.Fprintf(w, "  - %s\n", v)
	}
}

func (r *result) printFlips(w io.Writer) {
	f := r.fl
	fmt.Fprintf(w, "flips: %d cycles spin → backend stop/start → proxy (%d spin PUTs, %d proxy PUTs, each %s)\n",
		f.cycles, f.spinPUTs, f.proxyPUTs, spread(f.puts))
	fmt.Fprintf(w, "  spin held %s; wait for the backend to fall quiet %s (%d gave up after %s); backend down %s; graceful stop %s\n",
		spread(f.holds), spread(f.quiets), f.notQuiet, quietLimit, spread(f.downs), spread(f.stops))
}

// printTimeline prints the flipper's steps from 1 s before each window's
// start to 1 s after its end.
func (r *result) printTimeline(w io.Writer, windows [][2]time.Duration) {
	if len(windows) == 0 {
		return
	}
	fmt.Fprintln(w, "  flips around those requests:")
	for _, e := range r.fl.events {
		for _, win := range windows {
			if e.at >= win[0]-time.Second && e.at <= win[1]+time.Second {
				fmt.Fprintf(w, "    at %s %s\n", e.at.Round(time.Millisecond), e.what)
				break
			}
		}
	}
}

func (r *result) printWrk(w io.Writer) {
	switch {
	case r.wrk == nil:
		fmt.Fprintln(w, "wrk: not requested (-wrk=false)")
	case r.wrk.skipped != "":
		fmt.Fprintf(w, "wrk: skipped: %s\n", r.wrk.skipped)
	case !r.wrk.parsed:
		fmt.Fprintf(w, "wrk: no result: %v\n", r.wrkErr)
	default:
		x := r.wrk.res
		fmt.Fprintf(w, "wrk (%d connections): %d requests, %.1f MB; errors: connect %d, read %d, write %d, timeout %d, status not 2xx/3xx %d; longest %s\n",
			r.o.wrkConns, x.requests, float64(x.bytes)/1e6, x.connect, x.read, x.write, x.timeout, x.statuses, x.maxLat.Round(time.Millisecond))
	}
}

func (r *result) printResources(w io.Writer) {
	fmt.Fprintf(w, "resources (GET /process/ every %s): idle before the load: %s; after it: %s\n", r.o.sample, proc(r.idle), proc(r.after))
	fmt.Fprintf(w, "  %8s %9s %8s %11s %8s\n", "t", "rss_MiB", "fds", "goroutines", "threads")
	for _, s := range r.smp.samples {
		fmt.Fprintf(w, "  %8s %9.1f %8d %11d %8d\n", s.at.Round(time.Second), mib(s.p.RSSBytes), s.p.OpenFDs, s.p.Goroutines, s.p.Threads)
	}
	for _, f := range r.flat {
		verdict := "flat"
		if !f.ok {
			verdict = "NOT FLAT"
		}
		show := func(x int64) string {
			if f.name == "rss_bytes" {
				return fmt.Sprintf("%.1fMiB", mib(x))
			}
			return fmt.Sprint(x)
		}
		fmt.Fprintf(w, "  %-10s first %s last %s min %s max %s; first %d samples median %s max %s; last %d median %s max %s; limit %s: %s\n",
			f.name, show(f.first), show(f.last), show(f.lo), show(f.hi), f.plateauN, show(f.plateauMed), show(f.plateauMax),
			f.tailN, show(f.tailMed), show(f.tailMax), show(f.limit), verdict)
	}
}

func (r *result) printMantridLog(w io.Writer) {
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	exit := "0"
	if r.exitErr != nil {
		exit = r.exitErr.Error()
	}
	fmt.Fprintf(w, "mantrid exit: %s (killed: %v); log: %d errors/panics/races, %d warnings\n", exit, r.killed, m.nErrors, m.nWarn)
	for _, l := range append(append([]string{}, m.errors...), m.warnings...) {
		fmt.Fprintf(w, "    %s\n", l)
	}
}

// mix formats the request kinds as shares.
func mix(t totals) string {
	var parts []string
	for k, n := range t.kinds {
		share := 0.0
		if t.sent > 0 {
			share = 100 * float64(n) / float64(t.sent)
		}
		parts = append(parts, fmt.Sprintf("%s %d (%.0f%%)", kindNames[k], n, share))
	}
	return strings.Join(parts, ", ")
}

// statuses formats a status count map, sorted by status.
func statuses(m map[int]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d: %d", s, m[s]))
	}
	return strings.Join(parts, ", ")
}

// spread formats durations as min–max (median).
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Sorted(slices.Values(d))
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	return fmt.Sprintf("%s–%s (median %s)", r(s[0]), r(s[len(s)-1]), r(s[len(s)/2]))
}

func proc(p processInfo) string {
	return fmt.Sprintf("rss %.1f MiB, %d fds, %d goroutines, %d threads", mib(p.RSSBytes), p.OpenFDs, p.Goroutines, p.Threads)
}
