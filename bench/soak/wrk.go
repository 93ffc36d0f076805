package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkScript makes wrk print one machine-readable line after its run:
// requests, bytes, errors by kind (connect, read, write, timeout,
// status: answers other than 2xx/3xx) and the longest latency (µs).
const wrkScript = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SOAK %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n",
    summary.requests, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status, latency.max))
end
`

// wrkResult is what wrk reported.
type wrkResult struct {
	requests, bytes                         int64
	connect, read, write, timeout, statuses int64
	maxLat                                  time.Duration
}

// errors is the sum of wrk's error counts.
func (w wrkResult) errors() int64 { return w.connect + w.read + w.write + w.timeout + w.statuses }

// wrkRun is a wrk process the soak started, stopped by its PID.
type wrkRun struct {
	args    []string
	skipped string // why wrk did not run; "" when it ran
	cmd     *exec.Cmd
	out     bytes.Buffer
	done    chan struct{}
	waitErr error
	res     wrkResult
	parsed  bool
	killed  bool
}

// startWrk starts `wrk -t1 -c conns -d d` on url with host's Host header
// and the X-Soak-Load: wrk marker, or returns a wrkRun saying why it did
// not (wrk not installed).
func startWrk(dir, url, host string, conns int, d time.Duration) *wrkRun {
	path, err := exec.LookPath("wrk")
	if err != nil {
		return &wrkRun{skipped: "wrk is not installed (apt-get install wrk, or make bench-deps)"}
	}
	script := filepath.Join(dir, "soak.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return &wrkRun{skipped: "cannot write its script: " + err.Error()}
	}
	secs := int(math.Ceil(d.Seconds()))
	w := &wrkRun{args: []string{path, "-t1", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", secs),
		"--timeout", "60s", "-s", script, "-H", "Host: " + host, "-H", hdrLoad + ": wrk", url + "/wrk"},
		done: make(chan struct{})}
	w.cmd = exec.Command(w.args[0], w.args[1:]...)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		return &wrkRun{skipped: "cannot start it: " + err.Error()}
	}
	go func() {
		w.waitErr = w.cmd.Wait()
		close(w.done)
	}()
	return w
}

// wait waits up to limit for wrk to end (SIGTERM, then SIGKILL, to its
// PID after that) and parses its output.
func (w *wrkRun) wait(limit time.Duration) error {
	if w.skipped != "" {
		return nil
	}
	select {
	case <-w.done:
	case <-time.After(limit):
		w.killed = true
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	}
	if w.waitErr != nil {
		return fmt.Errorf("wrk: %v: %s", w.waitErr, strings.TrimSpace(w.out.String()))
	}
	res, ok := parseWrk(w.out.String())
	if !ok {
		return fmt.Errorf("wrk printed no SOAK line: %s", strings.TrimSpace(w.out.String()))
	}
	w.res, w.parsed = res, true
	return nil
}

// parseWrk finds the script's SOAK line in wrk's output.
func parseWrk(out string) (wrkResult, bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 9 || f[0] != "SOAK" {
			continue
		}
		var v [8]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return wrkResult{}, false
			}
			v[i] = n
		}
		return wrkResult{requests: v[0], bytes: v[1], connect: v[2], read: v[3], write: v[4],
			timeout: v[5], statuses: v[6], maxLat: time.Duration(v[7]) * time.Microsecond}, true
	}
	return wrkResult{}, false
}
