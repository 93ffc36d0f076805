package main

// Scenario hosts1m: what a million hostnames cost to hold and to change.
//
//	go run ./bench -mantrid ./bin/mantrid -only hosts1m [-hosts 1000000]
//
// Mantrid, HAProxy and nginx are each loaded, one after the other, with
// the standard rule set of bench/hostset (-hosts hosts, plus bench.test
// proxied to the bench backend):
//   - Mantrid starts empty and gets the set by one bulk `PUT /hostname/`
//     (timed); then it is stopped (SIGTERM) and started again on the same
//     config, so that it loads the rules from its own store in the folder
//     of its state_file;
//   - HAProxy routes with `use_backend %[req.hdr(host),lower,map(FILE,be_default)]`
//     over a map file of the same hosts naming 16 backends;
//   - nginx routes with `map $host $upstream_name { include FILE; }` and
//     `proxy_pass http://$upstream_name` over 16 upstreams.
//
// Every backend of the peers is the bench nginx backend; the hosts' own
// 127.x.y.z:8000 backends do not exist and are never asked for.
//
// The first table gives, per process, the time from the exec until it
// serves (Mantrid: the REST API answering GET /process/, and the public
// port answering 200 for bench.test, on the restart with the whole set),
// its RSS (VmRSS of it and its descendants) and PSS 10 s after it first
// served bench.test, and how long SIGTERM took to end it.
//
// The second table gives the cost of one rule change: 20 changes of
// different hosts of the set, one every 500 ms — Mantrid: a single-host
// `PUT /hostname/HOST/` with a new backend pair; HAProxy: `set map` on its
// runtime API socket; nginx: the map file edited and a reload (SIGHUP to
// the master), one after the other, each lasting until /_map answers the
// new upstream for that host (at most 60 s in all). For each: latency
// p50/p99/max, bytes written to disk (write_bytes of /proc/PID/io) and
// CPU (utime+stime) within 10 s of the first change and until the process
// is idle again.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/mantrid/mantrid/bench/hostset"
)

// Rule changes of hosts1m: how many, how far apart, and the longest a
// series (nginx's reloads, one after the other) may take.
const (
	changeCount  = 20
	changeEvery  = 500 * time.Millisecond
	changeLimit  = 60 * time.Second
	changeWindow = 10 * time.Second
)

// runHosts1m runs the scenario; a proxy that fails gets a failed row and
// the others still run.
func (e *env) runHosts1m(ctx context.Context) ([]table, error) {
	label := countLabel(e.o.hosts)
	mem := table{name: "hosts1m", title: fmt.Sprintf("hosts1m: %s hosts, memory and time to serve", label),
		text: 2, head: []string{"target", "rules loaded by", "exec → API", "exec → public 200", "bulk PUT", "RSS 10 s after", "PSS 10 s after", "SIGTERM → exit"},
		note: "RSS: VmRSS of the process and its descendants, read 10 s after it first served bench.test (nginx's master and worker share the map's pages, so each counts them: PSS, which splits shared pages between their users, is the fairer sum). " +
			"exec → API: until `GET /process/` answers 200; exec → public 200: until `GET /` with Host: bench.test answers 200 through the proxy. " +
			"Mantrid is loaded by one bulk PUT of the standard set (bench/hostset), then stopped with SIGTERM and started again on the same config: it reloads the rules from its own store."}
	chg := table{name: "hosts1m", title: fmt.Sprintf("hosts1m: %s hosts, cost of one rule change", label),
		text: 2, head: []string{"target", "change", "changes", "p50", "p99", "max", "disk writes in 10 s", "disk writes until idle", "CPU in 10 s", "CPU until idle"},
		note: fmt.Sprintf("%d changes of different hosts of the set, one every %d ms (nginx: one after the other, each until served, at most %d s in all). ", changeCount, changeEvery.Milliseconds(), int(changeLimit.Seconds())) +
			"Latency: Mantrid, the PUT's HTTP round trip (its 200 means the rule is live); HAProxy, the runtime API command's round trip; nginx, from SIGHUP until `/_map` answers the new upstream for the host. " +
			"Disk writes: write_bytes of /proc/PID/io; CPU: utime+stime (nginx: with the workers it reaped); in the 10 s from the first change (or until 1 s after the last answer, when later) and until the process was idle again (< 3 % of a CPU over 1 s). " +
			"HAProxy's runtime changes are not written to its map file: a restart loses them unless the operator also edits the file."}
	chg.commands = []string{
		"curl -X PUT -H 'Content-Type: application/json' --data-binary @hosts-put-8000.json http://API/hostname/  # the bulk PUT (Go's net/http in the harness)",
		"curl -X PUT --data-binary '[\"proxy\",{\"backends\":[[\"127.A.B.C\",8001],[\"127.A.B.D\",8001]]},true]' http://API/hostname/HOST/  # a change",
		"echo 'set map MAPFILE HOST uNN' | socat stdio unix-connect:SOCKET  # HAProxy's change",
		"kill -HUP NGINX_MASTER_PID; curl -H 'Host: HOST' http://NGINX/_map  # nginx's change (after editing its map file), polled every 10 ms",
	}
	var errs []error
	if err := e.hosts1mMantrid(ctx, &mem, &chg); err != nil {
		errs = append(errs, fmt.Errorf("Mantrid: %w", err))
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		mem.addRow("HAProxy", "n/a (not installed)")
		chg.addRow("HAProxy", "n/a (not installed)")
	} else if err := e.hosts1mPeer(ctx, "HAProxy (nbthread 1)", "map file", e.startScaleHAProxy, &mem, &chg); err != nil {
		errs = append(errs, fmt.Errorf("HAProxy: %w", err))
	}
	if err := e.hosts1mPeer(ctx, "nginx (1 worker)", "map include file", e.startScaleNginx, &mem, &chg); err != nil {
		errs = append(errs, fmt.Errorf("nginx: %w", err))
	}
	return []table{mem, chg}, errors.Join(errs...)
}

// hosts1mMantrid measures Mantrid loaded by a bulk PUT, then restarted.
func (e *env) hosts1mMantrid(ctx context.Context, mem, chg *table) error {
	const name = "Mantrid event_loops=1"
	m, err := e.newScaleMantrid("mantrid-hosts1m")
	if err != nil {
		return err
	}
	took, err := m.load(ctx)
	if err != nil {
		m.t.proc.stopWithin(scaleTimeout)
		mem.addRow(name, "failed: "+err.Error())
		return err
	}
	sleepUntil(ctx, time.Now().Add(settleTime))
	rss, pss := m.t.proc.rssKB(), m.t.proc.pssKB()
	stopped, err := m.stop()
	mem.addRow(name, "one bulk PUT ("+fileSize(e.hostFile(hostset.Put, hostset.DefaultPort))+")", "", "", fmtSec(took), fmtMiB(rss), fmtMiB(pss), fmtSec(stopped))
	if err != nil {
		return err
	}
	api, pub, err := m.restart(ctx, publicBenchOK)
	if err != nil {
		m.t.proc.stopWithin(scaleTimeout)
		mem.addRow(name+", restarted", "failed: "+err.Error())
		return err
	}
	sleepUntil(ctx, m.t.proc.started.Add(pub+settleTime))
	rss, pss = m.t.proc.rssKB(), m.t.proc.pssKB()
	row, cerr := changeCost(ctx, m.loaded(pub))
	chg.addRow(row...)
	stopped, serr := m.stop()
	mem.addRow(name+", restarted", "its own store", fmtSec(api), fmtSec(pub), "", fmtMiB(rss), fmtMiB(pss), fmtSec(stopped))
	return errors.Join(cerr, serr)
}

// hosts1mPeer measures a peer that start loads with the set.
func (e *env) hosts1mPeer(ctx context.Context, name, loadedBy string, start func(context.Context, string) (*loaded, error), mem, chg *table) error {
	l, err := start(ctx, procName(name)+"-hosts1m")
	if err != nil {
		mem.addRow(name, "failed: "+err.Error())
		return err
	}
	sleepUntil(ctx, l.t.proc.started.Add(l.ready+settleTime))
	rss, pss := l.t.proc.rssKB(), l.t.proc.pssKB()
	row, cerr := changeCost(ctx, l)
	chg.addRow(row...)
	stopped, serr := l.stop()
	mem.addRow(name, loadedBy, "", fmtSec(l.ready), "", fmtMiB(rss), fmtMiB(pss), fmtSec(stopped))
	return errors.Join(cerr, serr)
}

// changeCost makes the series of rule changes on an idle proxy and
// returns its row of the change table.
func changeCost(ctx context.Context, l *loaded) ([]string, error) {
	waitIdle(ctx, l.t.proc)
	io0, cpu0 := l.t.proc.io(), l.t.proc.cpuTicksAll()
	r := runChanges(ctx, l, 0, changeCount, changeEvery, changeLimit)
	if !l.backToBack {
		sleepUntil(ctx, r.start.Add(changeWindow))
		sleepUntil(ctx, r.end.Add(time.Second))
	}
	io1, cpu1 := l.t.proc.io(), l.t.proc.cpuTicksAll()
	waitIdle(ctx, l.t.proc)
	io2, cpu2 := l.t.proc.io(), l.t.proc.cpuTicksAll()
	err := r.err
	if err == nil && len(r.lat) > 0 && l.check != nil {
		err = l.check(ctx, len(r.lat)-1)
	}
	count := fmt.Sprint(len(r.lat))
	if len(r.lat) < changeCount {
		count = fmt.Sprintf("%d of %d", len(r.lat), changeCount)
	}
	cpu := func(ticks int64) string { return fmt.Sprintf("%.2f s", float64(ticks)/clockTick) }
	row := []string{l.t.name, l.how, count, fmtMS(r.lat.p(0.5)), fmtMS(r.lat.p(0.99)), fmtMS(r.lat.p(1)),
		fmtBytes(io1.writeBytes - io0.writeBytes), fmtBytes(io2.writeBytes - io0.writeBytes), cpu(cpu1 - cpu0), cpu(cpu2 - cpu0)}
	if err != nil {
		row[2] += " (failed: " + err.Error() + ")"
	}
	return row, err
}

// sleepUntil sleeps until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// fileSize returns the size of the file at path as "N MB", or "?" when
// err is set or the file cannot be read.
func fileSize(path string, err error) string {
	if err != nil {
		return "?"
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(fi.Size())/1e6)
}

// procName turns a target's display name into a process name: its first
// word, lower-cased ("HAProxy (nbthread 1)" → "haproxy").
func procName(display string) string {
	b := []byte(display)
	for i, c := range b {
		if c == ' ' {
			b = b[:i]
			break
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
