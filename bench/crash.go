package main

// Scenario crash: is an acknowledged change still there after a crash?
//
//	go run ./bench -mantrid ./bin/mantrid -only crash [-hosts 1000000] [-crash-rounds 200]
//
// Mantrid (one event loop, Mantrid's defaults) is loaded with the standard
// rule set of bench/hostset plus bench.test by one bulk PUT. Then, for
// -crash-rounds rounds: PUT a new host crashN.example.com
// (["empty", {"code": 204}, false]); the moment its 200 arrives, SIGKILL
// the mantrid PID; start it again on the same config (it loads its rules
// from its own store in the folder of state_file) and wait until it
// serves (REST API and bench.test on the public port, 120 s at most);
// then GET /hostname/crashK.example.com/ for every host acknowledged so
// far, and check three hosts of the set and bench.test (its rule, and a
// 200 through it). A start that
// fails is a failure (it is tried once more; a second failure ends the
// rounds). When the hosts of the set are gone (the bulk PUT was lost),
// that is counted, and the set is loaded again by a bulk PUT followed by a
// clean restart (SIGTERM), outside the timings, so that the next rounds
// still run at full size. Last, 200 single-host PUTs in a row without
// kills. The table gives the rounds, the failures (acknowledged hosts
// missing after a restart, failed starts), the restart time (exec until
// both ports answer) p50/p99/max, and the single-host PUT latency across
// the rounds and in a row, p50/p99.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mantrid/mantrid/bench/hostset"
)

// crashRule is the rule of the hosts the crash scenario adds.
const crashRule = `["empty", {"code": 204}, false]`

// putsInARow is how many single-host PUTs crash times without kills.
const putsInARow = 200

// crashRun is what the crash scenario found.
type crashRun struct {
	rounds       int
	acked        []string        // hosts whose PUT was answered 200, in order
	lost         map[string]bool // acknowledged hosts found missing
	lossRounds   int             // rounds after which a host was missing
	setLost      int             // restarts that came up without the set
	failedStarts int
	failedPuts   int
	errs         []string // the first few failure messages
	restart      latencies
	put          latencies // single-host PUTs before the kills
	inARow       latencies
	load         time.Duration
}

// fail records a failure message (the first five are kept).
func (c *crashRun) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	logf("crash: %s", msg)
	if len(c.errs) < 5 {
		c.errs = append(c.errs, msg)
	}
}

// runCrash runs the scenario.
func (e *env) runCrash(ctx context.Context) ([]table, error) {
	m, err := e.newScaleMantrid("mantrid-crash")
	if err != nil {
		return nil, err
	}
	c := &crashRun{lost: map[string]bool{}}
	if c.load, err = m.load(ctx); err != nil {
		m.t.proc.stopWithin(scaleTimeout)
		return nil, err
	}
	for r := 0; r < e.o.crashN && ctx.Err() == nil; r++ {
		if r%10 == 0 {
			logf("crash, round %d/%d", r+1, e.o.crashN)
		}
		if !e.crashRound(ctx, m, c, r) {
			break
		}
		c.rounds++
	}
	for i := 0; i < putsInARow && ctx.Err() == nil && !m.t.proc.exited(); i++ {
		d, err := timedPut(ctx, m.t.api, fmt.Sprintf("row%d.example.com", i), crashRule)
		if err != nil {
			c.fail("PUT %d in a row: %v", i, err)
			break
		}
		c.inARow = append(c.inARow, d)
	}
	if m.t.proc.exited() {
		return []table{c.table(e)}, ctx.Err()
	}
	if _, err := m.stop(); err != nil {
		c.fail("final stop: %v", err)
	}
	return []table{c.table(e)}, ctx.Err()
}

// crashRound is one PUT, SIGKILL, restart and check; it returns false
// when Mantrid cannot be started any more.
func (e *env) crashRound(ctx context.Context, m *scaleMantrid, c *crashRun, r int) bool {
	host := fmt.Sprintf("crash%d.example.com", r)
	d, err := timedPut(ctx, m.t.api, host, crashRule)
	m.t.proc.kill()
	if err != nil {
		c.failedPuts++
		c.fail("round %d: PUT %s: %v", r, host, err)
	} else {
		c.acked = append(c.acked, host)
		c.put = append(c.put, d)
	}
	took, ok := e.crashRestart(ctx, m, c, r)
	if !ok {
		return false
	}
	if e.crashCheck(ctx, m, c, r) {
		c.restart = append(c.restart, took)
	}
	return true
}

// crashRestart starts Mantrid again after a kill, twice at most, and
// returns the time from the exec until both ports answered.
func (e *env) crashRestart(ctx context.Context, m *scaleMantrid, c *crashRun, r int) (time.Duration, bool) {
	for try := range 2 {
		_, pub, err := m.restart(ctx, publicAnswer)
		if err == nil {
			return pub, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		c.failedStarts++
		c.fail("round %d: start %d after SIGKILL failed: %v", r, try+1, err)
		m.t.proc.kill()
	}
	return 0, false
}

// crashCheck looks for every acknowledged host and for the set, and says
// whether the set was there (when not, it loads the set again).
func (e *env) crashCheck(ctx context.Context, m *scaleMantrid, c *crashRun, r int) bool {
	missing := 0
	for _, h := range c.acked {
		if c.lost[h] {
			continue
		}
		got, err := getRule(ctx, m.t.api, h)
		if err != nil {
			c.fail("round %d: %v", r, err)
			continue
		}
		if got == "null" {
			c.lost[h] = true
			missing++
		}
	}
	if missing > 0 {
		c.lossRounds++
		c.fail("round %d: %d acknowledged host(s) missing after the restart", r, missing)
	}
	if e.setPresent(ctx, m) {
		return true
	}
	c.setLost++
	c.fail("round %d: the hosts of the set are missing after the restart; loading them again", r)
	body, err := e.hostFile(hostset.Put, hostset.DefaultPort)
	if err == nil {
		_, err = bulkPut(ctx, m.t.api, body)
	}
	if err == nil {
		_, err = m.stop()
	}
	if err == nil {
		_, _, err = m.restart(ctx, publicBenchOK)
	}
	if err != nil {
		c.fail("round %d: reloading the set: %v", r, err)
	}
	return false
}

// setPresent checks that the first, middle and last host of the set and
// bench.test have rules (naming the hosts' first backend address), and
// that bench.test is served.
func (e *env) setPresent(ctx context.Context, m *scaleMantrid) bool {
	n := e.o.hosts
	for _, i := range []int{0, n / 2, n - 1} {
		got, err := getRule(ctx, m.t.api, hostset.Host(i))
		if err != nil || !strings.Contains(got, `"`+hostset.Addr(i)+`"`) {
			return false
		}
	}
	got, err := getRule(ctx, m.t.api, hostset.BenchHost)
	if err != nil || got == "null" {
		return false
	}
	return probe(ctx, m.t.url) == nil
}

// table renders the findings as measure | value rows.
func (c *crashRun) table(e *env) table {
	t := table{name: "crash", title: fmt.Sprintf("crash: SIGKILL the moment a PUT is acknowledged, Mantrid with %s hosts", countLabel(e.o.hosts)),
		text: 2, head: []string{"measure", "value"}}
	lost := make([]string, 0, len(c.lost))
	for _, h := range c.acked {
		if c.lost[h] {
			lost = append(lost, h)
		}
	}
	lostCell := fmt.Sprintf("%d of %d", len(lost), len(c.acked))
	if len(lost) > 0 {
		lostCell += " (" + strings.Join(lost[:min(len(lost), 3)], ", ") + ifMore(len(lost) > 3) + ")"
	}
	t.addRow("rounds (PUT, SIGKILL, start, check)", fmt.Sprintf("%d of %d", c.rounds, e.o.crashN))
	t.addRow("**failures: acknowledged hosts missing after a restart**", lostCell)
	t.addRow("rounds after which an acknowledged host was missing", fmt.Sprint(c.lossRounds))
	t.addRow("restarts without the set (bulk PUT lost)", fmt.Sprint(c.setLost))
	t.addRow("**failures: starts that failed**", fmt.Sprint(c.failedStarts))
	t.addRow("single-host PUTs not answered 200", fmt.Sprint(c.failedPuts))
	t.addRow("restart, exec → both ports answer: p50 / p99 / max", c.restart.summary(fmtSec, 0.5, 0.99, 1))
	t.addRow("single-host PUT before a kill, HTTP round trip: p50 / p99", c.put.summary(fmtMS, 0.5, 0.99))
	t.addRow(fmt.Sprintf("%d single-host PUTs in a row, no kills: p50 / p99", putsInARow), c.inARow.summary(fmtMS, 0.5, 0.99))
	t.addRow("first load, one bulk PUT", fmtSec(c.load))
	t.note = "A round: PUT crashN.example.com, SIGKILL as soon as its 200 is read, start on the same config, wait until both ports answer (`GET /process/` 200, any answer for bench.test), GET every host acknowledged so far. " +
		"A restart that comes up without the set is counted, left out of the restart times, and followed by loading the set again (bulk PUT, SIGTERM, start), outside the timings. " +
		"The PUTs before a kill are the first after a restart (the rule checks opened the connection); the PUTs in a row follow one another on one keep-alive connection."
	if len(c.errs) > 0 {
		t.note += " First failures: " + strings.Join(c.errs, "; ") + "."
	}
	return t
}

// ifMore returns ", …" when more was left out.
func ifMore(more bool) string {
	if more {
		return ", …"
	}
	return ""
}
