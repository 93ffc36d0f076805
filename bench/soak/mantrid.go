package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Addresses Mantrid logs once it has bound port 0.
var (
	publicRE = regexp.MustCompile(`msg=listening addr=(\S+)`)
	mgmtRE   = regexp.MustCompile(`msg="management API listening" addr=(\S+)`)
)

// mantrid is the Mantrid process the soak started, stopped by its PID.
type mantrid struct {
	cmd     *exec.Cmd
	logPath string
	public  string // host:port of the public listener
	api     *apiClient
	exited  chan struct{} // closed when the process has ended
	waitErr error         // set before exited closes

	mu       sync.Mutex
	errors   []string // ERROR lines, panics and data race reports (bounded)
	warnings []string // WARN lines (bounded)
	nErrors  int
	nWarn    int
	race     bool // the log holds a data race report
}

// startMantrid writes a config into dir (listeners on 127.0.0.1:0, state
// in dir; as root, uid and gid 0 so that it keeps access to dir), starts
// bin and waits until it logged its addresses and "mantrid started".
func startMantrid(ctx context.Context, bin, dir string) (*mantrid, error) {
	var conf strings.Builder
	fmt.Fprintf(&conf, "bind = 127.0.0.1:0\nbind_management = 127.0.0.1:0\n")
	fmt.Fprintf(&conf, "state_file = %s\nstatic_dir = %s\n", filepath.Join(dir, "state.json"), filepath.Join(dir, "static"))
	conf.WriteString("grace_period = 5\n")
	if os.Geteuid() == 0 {
		conf.WriteString("uid = 0\ngid = 0\n")
	}
	confPath := filepath.Join(dir, "mantrid.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "mantrid.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", confPath)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's Ctrl-C is for the soak, which stops it
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m := &mantrid{cmd: cmd, logPath: logf.Name(), exited: make(chan struct{})}
	started := make(chan [2]string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		m.readLog(stderr, logf, started)
	}()
	go func() {
		<-logDone // Wait closes the pipe: read it to its end first
		m.waitErr = cmd.Wait()
		logf.Close()
		close(m.exited)
	}()
	select {
	case addrs := <-started:
		m.public = addrs[0]
		m.api = &apiClient{base: "http://" + addrs[1], http: &http.Client{Timeout: 30 * time.Second}}
		return m, nil
	case <-m.exited:
		return nil, fmt.Errorf("%s exited during start-up (%v):\n%s", bin, m.waitErr, m.tail())
	case <-time.After(60 * time.Second):
	case <-ctx.Done():
	}
	m.stop(5 * time.Second)
	return nil, fmt.Errorf("%s did not start within 60 s:\n%s", bin, m.tail())
}

// readLog copies Mantrid's stderr to logf, sends the public and management
// addresses on started once "mantrid started" is logged, and keeps the
// lines that must fail the soak.
func (m *mantrid) readLog(r io.Reader, logf io.Writer, started chan<- [2]string) {
	var public, mgmt string
	sent := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(logf, line)
		if mm := publicRE.FindStringSubmatch(line); mm != nil && public == "" {
			public = mm[1]
		}
		if mm := mgmtRE.FindStringSubmatch(line); mm != nil && mgmt == "" {
			mgmt = mm[1]
		}
		if !sent && strings.Contains(line, `msg="mantrid started"`) && public != "" && mgmt != "" {
			started <- [2]string{public, mgmt}
			sent = true
		}
		m.classify(line)
	}
}

// classify keeps ERROR and WARN lines, panics and data race reports.
func (m *mantrid) classify(line string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case strings.Contains(line, "WARNING: DATA RACE"):
		m.race = true
		m.nErrors++
		m.errors = appendBounded(m.errors, line)
	case strings.Contains(line, "level=ERROR"), strings.Contains(strings.ToLower(line), "panic"):
		m.nErrors++
		m.errors = appendBounded(m.errors, line)
	case strings.Contains(line, "level=WARN"):
		m.nWarn++
		m.warnings = appendBounded(m.warnings, line)
	}
}

func appendBounded(list []string, s string) []string {
	if len(list) < maxNotes {
		list = append(list, s)
	}
	return list
}

// tail returns the end of Mantrid's log, for error messages.
func (m *mantrid) tail() string {
	b, _ := os.ReadFile(m.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// stop sends SIGTERM to Mantrid's PID and waits up to limit for it to
// exit, then SIGKILL. It returns whether it had to kill, and the exit
// error (nil for status 0).
func (m *mantrid) stop(limit time.Duration) (killed bool, err error) {
	select {
	case <-m.exited:
		return false, m.waitErr
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
		return false, m.waitErr
	case <-time.After(limit):
		_ = m.cmd.Process.Kill()
		<-m.exited
		return true, m.waitErr
	}
}

// apiClient talks to Mantrid's REST API.
type apiClient struct {
	base string // http://host:port
	http *http.Client
}

// do sends method path with body and decodes a 200 answer into out (when
// not nil); any other status is an error quoting the answer.
func (a *apiClient) do(ctx context.Context, method, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w in %q", method, path, err, b)
	}
	return nil
}

// putRule sets host's rule (the JSON triple) and checks the {"ok": true}.
func (a *apiClient) putRule(ctx context.Context, host, rule string) error {
	var ok struct {
		OK bool `json:"ok"`
	}
	if err := a.do(ctx, http.MethodPut, "/hostname/"+host+"/", rule, &ok); err != nil {
		return err
	}
	if !ok.OK {
		return errors.New("PUT /hostname/" + host + "/: answer without ok: true")
	}
	return nil
}

// hostStats is GET /stats/HOST/.
type hostStats struct {
	OpenRequests      int64 `json:"open_requests"`
	CompletedRequests int64 `json:"completed_requests"`
	BytesSent         int64 `json:"bytes_sent"`
	BytesReceived     int64 `json:"bytes_received"`
}

func (a *apiClient) stats(ctx context.Context, host string) (hostStats, error) {
	var s hostStats
	err := a.do(ctx, http.MethodGet, "/stats/"+host+"/", "", &s)
	return s, err
}

// processInfo is GET /process/.
type processInfo struct {
	Goroutines int64 `json:"goroutines"`
	OpenFDs    int64 `json:"open_fds"`
	RSSBytes   int64 `json:"rss_bytes"`
	Threads    int64 `json:"threads"`
}

func (a *apiClient) process(ctx context.Context) (processInfo, error) {
	var p processInfo
	err := a.do(ctx, http.MethodGet, "/process/", "", &p)
	return p, err
}

// proxyRule and spinRule are the two rules the flipper alternates.
// attempts is 1: the backend is listening whenever the rule is proxy, so
// a failed connection is a finding, not something to retry away.
func proxyRule(backend string) string {
	return fmt.Sprintf(`["proxy", {"backends": [%q], "attempts": 1}, false]`, backend)
}

const spinRule = `["spin", {"timeout": 60, "check_interval": 1}, false]`
