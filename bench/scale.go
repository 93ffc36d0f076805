package main

// What the scale scenarios (hosts1m, churn, bulk1m, crash) share: the
// rule-set files, a Mantrid on fixed ports that can be stopped, killed and
// started again on the same config, HAProxy and nginx loaded with the same
// hosts as map files, waiting until a process serves or has gone idle,
// and the REST API calls.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mantrid/mantrid/bench/hostset"
)

// scaleTimeout bounds a start, a bulk PUT, a stop and a reload at scale:
// today's Mantrid takes seconds for each at 10⁶ rules, so it is generous.
const scaleTimeout = 120 * time.Second

// settleTime is how long after a process first serves its RSS is read.
const settleTime = 10 * time.Second

// changedPort is the backend port of the rules a change or a bulk replace
// puts in place of the standard ones (port hostset.DefaultPort).
const changedPort = 8001

// hostFile returns the path of the rule set (o.hosts standard hosts and
// bench.test) in format f with backends on port, generating it on first
// use. The scenarios of a run share these files; nginx, whose changes
// edit its map file, writes its own copy with writeHostFile.
func (e *env) hostFile(f hostset.Format, port int) (string, error) {
	name := fmt.Sprintf("hosts-%s-%d.json", f, port)
	if f == hostset.HAProxy || f == hostset.Nginx {
		name = fmt.Sprintf("hosts-%s.map", f)
	}
	p := filepath.Join(e.dir, name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return p, e.writeHostFile(p, f, port)
}

// writeHostFile writes the rule set (o.hosts standard hosts and
// bench.test) in format f with backends on port to path; the equivalent
// hostgen command goes into the report.
func (e *env) writeHostFile(path string, f hostset.Format, port int) error {
	bench := fmt.Sprintf("127.0.0.1:%d", e.bport)
	set := hostset.Set{N: e.o.hosts, Port: port, Extra: []hostset.Extra{hostset.BenchExtra(bench)}}
	start := time.Now()
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := set.Write(file, f); err != nil {
		file.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		return err
	}
	e.cmds = append(e.cmds, fmt.Sprintf("go run ./bench/hostgen -n %d -format %s -port %d -bench %s -o %s", e.o.hosts, f, port, bench, path))
	fmt.Fprintf(os.Stderr, "bench: generated %s in %s\n", path, time.Since(start).Round(time.Millisecond))
	return nil
}

// scaleMantrid is a Mantrid on fixed loopback ports, so that it can be
// stopped, killed and started again on the same config file. Its state
// lives in a folder of its own.
type scaleMantrid struct {
	e    *env
	name string
	conf string
	t    target // t.proc is the current process
}

// newScaleMantrid writes name.conf: one event loop, fixed free ports, the
// state file in dir/name/, and otherwise Mantrid's defaults.
func (e *env) newScaleMantrid(name string) (*scaleMantrid, error) {
	pub, err := freePort()
	if err != nil {
		return nil, err
	}
	mgmt, err := freePort()
	if err != nil {
		return nil, err
	}
	stateDir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bind = 127.0.0.1:%d\nbind_management = 127.0.0.1:%d\n", pub, mgmt)
	fmt.Fprintf(&b, "state_file = %s/state.json\nstatic_dir = %s/static\n", stateDir, stateDir)
	b.WriteString("event_loops = 1\ngrace_period = 1\n")
	if os.Geteuid() == 0 {
		b.WriteString("uid = 0\ngid = 0\n")
	}
	conf, err := e.write(name+".conf", b.String())
	if err != nil {
		return nil, err
	}
	m := &scaleMantrid{e: e, name: name, conf: conf}
	m.t = target{name: "Mantrid event_loops=1", url: fmt.Sprintf("http://127.0.0.1:%d", pub), api: fmt.Sprintf("http://127.0.0.1:%d", mgmt)}
	return m, nil
}

// start execs Mantrid on its config; it does not wait.
func (m *scaleMantrid) start() error {
	p, err := m.e.start(m.name, m.e.o.mantrid, "-c", m.conf)
	if err != nil {
		return err
	}
	m.t.proc = p
	return nil
}

// publicWant is what the public port must answer before a Mantrid counts
// as serving.
type publicWant int

const (
	publicNone    publicWant = iota // the REST API alone
	publicAnswer                    // any HTTP answer for bench.test
	publicBenchOK                   // 200 for bench.test (its rule is loaded)
)

// waitServing waits until the REST API answers GET /process/ with 200 and
// the public port answers as want says, polling both. It returns the time
// from the exec to each (public: -1 for publicNone).
func (m *scaleMantrid) waitServing(ctx context.Context, want publicWant) (api, pub time.Duration, err error) {
	checks := []check{{"GET /process/", func(ctx context.Context) error { return apiGet(ctx, m.t.api+"/process/") }}}
	switch want {
	case publicAnswer:
		checks = append(checks, check{"the public port", func(ctx context.Context) error { return probeAny(ctx, m.t.url) }})
	case publicBenchOK:
		checks = append(checks, check{"Host: bench.test on the public port", func(ctx context.Context) error { return probe(ctx, m.t.url) }})
	}
	took, err := waitAll(ctx, m.t.proc, checks)
	if len(took) < 2 {
		return took[0], -1, err
	}
	return took[0], took[1], err
}

// check is one thing waitAll polls: what names it in errors, ok is nil
// once it holds.
type check struct {
	what string
	ok   func(context.Context) error
}

// waitAll polls the checks that do not hold yet every 10 ms until all
// hold, p exits, ctx ends or scaleTimeout passes since p's exec. It
// returns the time from the exec to each check's first success (-1 for
// those that never held).
func waitAll(ctx context.Context, p *process, checks []check) ([]time.Duration, error) {
	took := make([]time.Duration, len(checks))
	names := make([]string, len(checks))
	for i, c := range checks {
		took[i], names[i] = -1, c.what
	}
	_, err := pollUntil(ctx, p, strings.Join(names, " and "), p.started, func(ctx context.Context) error {
		var first error
		for i, c := range checks {
			if took[i] >= 0 {
				continue
			}
			if err := c.ok(ctx); err != nil {
				first = cmpOr(first, fmt.Errorf("%s: %w", c.what, err))
				continue
			}
			took[i] = time.Since(p.started)
		}
		return first
	})
	return took, err
}

// restart execs Mantrid again on the same config and waits until it
// serves as want says.
func (m *scaleMantrid) restart(ctx context.Context, want publicWant) (api, pub time.Duration, err error) {
	if err := m.start(); err != nil {
		return -1, -1, err
	}
	return m.waitServing(ctx, want)
}

// stop sends SIGTERM and waits up to scaleTimeout; a Mantrid that has to
// be killed, had already exited, or exits with an error, is an error.
func (m *scaleMantrid) stop() (time.Duration, error) {
	if m.t.proc.exited() {
		return 0, fmt.Errorf("%s had already exited (%s)", m.name, m.t.proc.exitStatus())
	}
	d, clean := m.t.proc.stopWithin(scaleTimeout)
	if !clean {
		return d, fmt.Errorf("%s did not exit within %s of SIGTERM (killed)", m.name, scaleTimeout)
	}
	if !m.t.proc.cmd.ProcessState.Success() {
		b, _ := os.ReadFile(m.t.proc.log.Name())
		return d, fmt.Errorf("%s exited with %s after SIGTERM: %s", m.name, m.t.proc.exitStatus(), lastLines(b))
	}
	return d, nil
}

// load starts an empty Mantrid, replaces its rules with the standard set
// by one bulk PUT and waits until bench.test is served. It returns the
// bulk PUT's duration.
func (m *scaleMantrid) load(ctx context.Context) (time.Duration, error) {
	if err := m.start(); err != nil {
		return 0, err
	}
	if _, _, err := m.waitServing(ctx, publicNone); err != nil {
		return 0, err
	}
	body, err := m.e.hostFile(hostset.Put, hostset.DefaultPort)
	if err != nil {
		return 0, err
	}
	took, err := bulkPut(ctx, m.t.api, body)
	if err != nil {
		return took, err
	}
	if _, err := waitUp(ctx, m.t.proc, "Host: bench.test on the public port", func(ctx context.Context) error { return probe(ctx, m.t.url) }); err != nil {
		return took, err
	}
	return took, nil
}

// waitUp calls check every 10 ms until it succeeds, p exits, ctx ends or
// scaleTimeout passes since p's exec. It returns the time from the exec
// to the first success; what names the check in errors.
func waitUp(ctx context.Context, p *process, what string, check func(context.Context) error) (time.Duration, error) {
	return pollUntil(ctx, p, what, p.started, check)
}

// pollUntil calls check every 10 ms until it succeeds, p exits, ctx ends
// or scaleTimeout passes since since. It returns the time from since to
// the first success; what names the check in errors.
func pollUntil(ctx context.Context, p *process, what string, since time.Time, check func(context.Context) error) (time.Duration, error) {
	deadline := since.Add(scaleTimeout)
	var last error
	for ctx.Err() == nil {
		if last = check(ctx); last == nil {
			return time.Since(since), nil
		}
		if p.exited() {
			b, _ := os.ReadFile(p.log.Name())
			return -1, fmt.Errorf("%s exited (%s) before %s answered: %s", p.name, p.exitStatus(), what, lastLines(b))
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("%s: %s did not answer within %s: %w", p.name, what, scaleTimeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return -1, ctx.Err()
}

// waitIdle waits until p and its descendants use less than 3 % of a CPU
// over a second (a save or a reload has ended), at most scaleTimeout; it
// says on stderr when p never settled.
func waitIdle(ctx context.Context, p *process) {
	deadline := time.Now().Add(scaleTimeout)
	for ctx.Err() == nil && time.Now().Before(deadline) && !p.exited() {
		before := p.cpuTicksAll()
		time.Sleep(time.Second)
		if p.cpuTicksAll()-before < 3 {
			return
		}
	}
	fmt.Fprintf(os.Stderr, "bench: %s still busy after %s; going on\n", p.name, scaleTimeout)
}

// bulkPut PUTs the file at path to api/hostname/ and wants 200; it returns
// the time from sending the request to reading the answer.
func bulkPut(ctx context.Context, api, path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, scaleTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, api+"/hostname/", f)
	if err != nil {
		return 0, err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	err = doWant200(req)
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("bulk PUT of %s (%.0f MB) after %s: %w", filepath.Base(path), float64(fi.Size())/1e6, took.Round(time.Millisecond), err)
	}
	return took, nil
}

// probeAny sends one request with the bench Host header on a new
// connection and takes any HTTP answer.
func probeAny(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	if err != nil {
		return err
	}
	req.Host, req.Close = benchHost, true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// apiGet GETs url on a new connection and wants 200.
func apiGet(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Close = true
	return doWant200(req)
}

// doWant200 sends req and wants a 200; the error carries the start of any
// other answer's body.
func doWant200(req *http.Request) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// getRule GETs api/hostname/host/ and returns the body (the rule's JSON,
// or null).
func getRule(ctx context.Context, api, host string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/hostname/"+host+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s %s", host, resp.Status, lastLines(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// timedPut PUTs one host's rule and returns the round trip.
func timedPut(ctx context.Context, api, host, rule string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, scaleTimeout)
	defer cancel()
	start := time.Now()
	err := putRule(ctx, api, host, rule)
	return time.Since(start), err
}
