package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// row is one target's medians over the rounds of a scenario.
type row struct {
	name      string
	rounds    int
	rps, mbps float64
	lat       [4]time.Duration
	cpuUS     float64
	rssKB     int64
	errors    int64
	vsDirect  float64 // NaN: not applicable
	vsPeer    float64 // NaN: not applicable
	isDirect  bool
}

// scenarioResult is the table of one scenario.
type scenarioResult struct {
	sc       scenario
	rows     []row
	commands []string
}

// median returns the median of v (the mean of the middle two when even),
// or NaN when v is empty. v is not modified.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// aggregate reduces the samples of one target to medians; errors are summed.
func aggregate(t *target, ss []sample, rssKB int64) row {
	r := row{name: t.name, rounds: len(ss), rssKB: rssKB, vsDirect: math.NaN(), vsPeer: math.NaN()}
	pick := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		return median(v)
	}
	r.rps = pick(sample.rps)
	r.mbps = pick(sample.mbps)
	r.cpuUS = pick(func(s sample) float64 { return s.cpuUS })
	for i := range r.lat {
		r.lat[i] = time.Duration(pick(func(s sample) float64 { return float64(s.lat[i]) }))
	}
	for _, s := range ss {
		r.errors += s.errors
	}
	return r
}

// fillRatios sets each row's req/s (MB/s for a download) relative to the
// direct row and to the best non-Mantrid proxy of the scenario.
func (res *scenarioResult) fillRatios() {
	names := map[string]bool{}
	for _, p := range res.sc.peers {
		names[p.name] = true
	}
	thr := func(r *row) float64 { return r.rps }
	if res.sc.download {
		thr = func(r *row) float64 { return r.mbps }
	}
	direct, best := math.NaN(), math.NaN()
	for i := range res.rows {
		r := &res.rows[i]
		if strings.HasPrefix(r.name, "backend") {
			r.isDirect, direct = true, thr(r)
		}
		if names[r.name] && (math.IsNaN(best) || thr(r) > best) {
			best = thr(r)
		}
	}
	for i := range res.rows {
		r := &res.rows[i]
		if r.isDirect {
			continue
		}
		r.vsDirect = thr(r) / direct
		if len(names) > 0 {
			r.vsPeer = thr(r) / best
		}
	}
}

// markdown renders the scenario's table with its title and notes.
func (res scenarioResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s\n\n", res.sc.title)
	b.WriteString("| target | req/s | MB/s | p50 | p90 | p99 | p99.9 | CPU µs/req | peak RSS | errors | ratio to direct | ratio to best peer |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range res.rows {
		fmt.Fprintf(&b, "| %s | %s | %.1f | %s | %s | %s | %s | %.1f | %.1f MiB | %d | %s | %s |\n",
			r.name, formatRate(r.rps), r.mbps, formatLat(r.lat[0]), formatLat(r.lat[1]), formatLat(r.lat[2]), formatLat(r.lat[3]),
			r.cpuUS, float64(r.rssKB)/1024, r.errors, formatRatio(r.vsDirect), formatRatio(r.vsPeer))
	}
	fmt.Fprintf(&b, "\nMedians of %d round(s). Best peer: the fastest of nginx and HAProxy.", rounds(res))
	if res.sc.note != "" {
		b.WriteString(" " + res.sc.note)
	}
	b.WriteString("\n")
	return b.String()
}

// rounds returns how many rounds the first row had.
func rounds(res scenarioResult) int {
	if len(res.rows) == 0 {
		return 0
	}
	return res.rows[0].rounds
}

// formatRate prints req/s as 12.3k above 1000.
func formatRate(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1fk", v/1000)
	}
	return fmt.Sprintf("%.1f", v)
}

// formatLat prints a latency in ms with two decimals.
func formatLat(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// formatRatio prints a ratio, or — when it does not apply.
func formatRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

// commandLine runs a command for the report header and returns its first
// output line (stdout and stderr), or "not installed".
func commandLine(name string, args ...string) string {
	if _, err := exec.LookPath(name); err != nil {
		return name + ": not installed"
	}
	out, _ := exec.Command(name, args...).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// machine describes the host: nproc, CPU model and kernel.
func machine() string {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("nproc %d, %s, Linux %s", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)))
}

// report is what a run measured, in the order it is written.
type report struct {
	results []scenarioResult // the wrk scenarios, charted
	spin    *spinResult      // nil when spin did not run
	tables  []table          // the scale scenarios
	took    time.Duration    // the whole run
}

// reportBase is the report's file name without extension: the UTC date,
// then -quick for -quick and the scenarios of -only, so that a partial run
// does not overwrite the day's full report.
func reportBase(o options, now time.Time) string {
	base := now.Format("2006-01-02")
	if o.quick {
		base += "-quick"
	}
	if o.only != "" {
		base += "-" + strings.ReplaceAll(o.only, ",", "+")
	}
	return base
}

// writeReport writes bench/results/<reportBase>.md and, when a wrk
// scenario ran, the SVG chart beside it.
func writeReport(o options, e *env, rep report) error {
	now := time.Now().UTC()
	base := reportBase(o, now)
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	writeHeader(&b, o, rep, now, base)
	for _, r := range rep.results {
		b.WriteString(r.markdown())
	}
	if rep.spin != nil {
		b.WriteString(rep.spin.markdown())
	}
	for _, t := range rep.tables {
		b.WriteString(t.markdown())
	}
	writeCommands(&b, e, rep)
	md := filepath.Join(o.outDir, base+".md")
	if err := os.WriteFile(md, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if len(rep.results) > 0 {
		svg := filepath.Join(o.outDir, base+".svg")
		if err := os.WriteFile(svg, []byte(chartSVG(rep.results)), 0o644); err != nil {
			return err
		}
		md += " and " + svg
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s (run took %s)\n", md, rep.took.Round(time.Second))
	return nil
}

// writeHeader writes the report's title and the run's circumstances.
func writeHeader(b *strings.Builder, o options, rep report, now time.Time, base string) {
	fmt.Fprintf(b, "# Mantrid benchmark, %s\n\n", now.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(b, "- machine: %s\n", machine())
	fmt.Fprintf(b, "- mantrid: %s (%s; work tree: git %s)\n", o.mantrid, binaryRevision(o.mantrid), commandLine("git", "describe", "--always", "--dirty"))
	for _, v := range []string{commandLine("go", "version"), commandLine("nginx", "-v"), commandLine("haproxy", "-v"), commandLine("wrk", "-v")} {
		fmt.Fprintf(b, "- %s\n", v)
	}
	fmt.Fprintf(b, "- run: %d round(s) of %s per target, targets alternating; whole run %s\n", o.rounds, o.duration, rep.took.Round(time.Second))
	if len(rep.tables) > 0 {
		fmt.Fprintf(b, "- scale scenarios: %d standard hosts (bench/hostset) plus bench.test; crash rounds %d\n", o.hosts, o.crashN)
	}
	if len(rep.results) > 0 {
		b.WriteString("- CPU µs/req: utime+stime of the proxy's processes (/proc/PID/stat) during the run ÷ requests; peak RSS: VmHWM (/proc/PID/status), reset per scenario where the kernel allows\n")
		fmt.Fprintf(b, "- chart: [%s.svg](%s.svg)\n", base, base)
	}
}

// writeCommands writes the commands run and every configuration file.
func writeCommands(b *strings.Builder, e *env, rep report) {
	b.WriteString("\n## Commands run\n\n```sh\n")
	for _, c := range e.cmds {
		b.WriteString(c + "\n")
	}
	for _, r := range rep.results {
		fmt.Fprintf(b, "# %s (each round; report.lua prints p99.9 and counts)\n", r.sc.name)
		for _, c := range r.commands {
			b.WriteString(c + "\n")
		}
	}
	for _, t := range rep.tables {
		if len(t.commands) > 0 {
			fmt.Fprintf(b, "# %s\n%s\n", t.name, strings.Join(t.commands, "\n"))
		}
	}
	b.WriteString("```\n\n## Configurations\n")
	names := make([]string, 0, len(e.configs))
	for n := range e.configs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(b, "\n`%s`:\n\n```\n%s```\n", n, e.configs[n])
	}
	fmt.Fprintf(b, "\n`report.lua`:\n\n```lua\n%s```\n", wrkScript)
}

// binaryRevision returns the VCS revision a Go binary was built from,
// from its build information; without one (GOFLAGS=-buildvcs=false), the
// file's time and the start of its SHA-256, so that runs of one binary can
// be told apart.
func binaryRevision(path string) string {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "no build info: " + err.Error()
	}
	rev, modified := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "built without VCS information; " + fileIdentity(path)
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified {
		return "built from commit " + rev + " with uncommitted changes"
	}
	return "built from commit " + rev
}

// fileIdentity returns a file's modification time and the first 12 hex
// digits of its SHA-256.
func fileIdentity(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err.Error()
	}
	fi, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("modified %s, sha256 %x", fi.ModTime().UTC().Format("2006-01-02 15:04:05 UTC"), h.Sum(nil)[:6])
}
