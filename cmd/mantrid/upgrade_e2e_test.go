package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startOptions start mantrid otherwise than startMantridConf does.
type startOptions struct {
	bin   string     // the binary; binPath when ""
	wrap  []string   // a command that runs the binary (and its arguments)
	env   []string   // added to the environment
	files []*os.File // passed from fd 3 on
}

// startMantridWith starts mantrid on the config file at path like
// startMantridConf, with o. Its stderr is a pipe that a process it starts
// (an upgrade) inherits, so that p.Log holds the log of both.
func startMantridWith(t *testing.T, path string, o startOptions) *proc {
	t.Helper()
	if o.bin == "" {
		o.bin = binPath
	}
	args := append(append([]string{}, o.wrap...), o.bin, "-c", path)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.ExtraFiles = o.files
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stderr = w
	require.NoError(t, cmd.Start())
	w.Close()
	p := &proc{t: t, cmd: cmd, dir: filepath.Dir(path), exited: make(chan struct{})}
	started := make(chan struct{})
	go func() { p.readLog(r, started); r.Close() }()
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	select {
	case <-started:
	case <-p.exited:
		t.Fatalf("mantrid exited during start-up:\n%s", p.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("mantrid did not start in 30s:\n%s", p.Log())
	}
	return p
}

// writeConf writes a config listening on 127.0.0.1:0 (public, internal,
// management) plus extra, and state, to dir; it returns the config's path.
func writeConf(t *testing.T, dir, extra, stateJSON string) string {
	t.Helper()
	conf := testIdentity + "bind_internal = 127.0.0.1:0\nbind_management = 127.0.0.1:0\n" +
		"state_file = " + filepath.Join(dir, "state.json") + "\nstatic_dir = " + filepath.Join(dir, "static") + "\n" + extra
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), []byte(stateJSON), 0o644))
	path := filepath.Join(dir, "mantrid.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	return path
}

const upgradeState = `{"hosts": {"load.test": ["static", {"type": "test"}, false]}, "stats": {}}`

// load is a keep-alive load generator: conns connections, each sending a
// GET, reading the whole answer, and sending the next; a connection whose
// answer says Connection: close is closed and a new one opened (as wrk
// does). Any failure to connect, send or read a whole 200 is an error.
type load struct {
	ok, errs, resets, closes atomic.Int64
	stop                     atomic.Bool
	wg                       sync.WaitGroup
	mu                       sync.Mutex
	first                    []string // the first errors
}

func startLoad(addr, host string, conns int) *load {
	l := &load{}
	req := []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
	for range conns {
		l.wg.Go(func() { l.run(addr, req) })
	}
	return l
}

func (l *load) run(addr string, req []byte) {
	var c net.Conn
	var br *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for !l.stop.Load() {
		if c == nil {
			var err error
			if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err != nil {
				l.fail(err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			br = bufio.NewReader(c)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		resp, err := roundTrip(c, br, req)
		if err != nil {
			l.fail(err)
			c.Close()
			c = nil
			continue
		}
		l.ok.Add(1)
		if resp.Close {
			l.closes.Add(1)
			c.Close()
			c = nil
		}
	}
}

func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (*http.Response, error) {
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp, err
}

func (l *load) fail(err error) {
	l.errs.Add(1)
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		l.resets.Add(1)
	}
	l.mu.Lock()
	if len(l.first) < 10 {
		l.first = append(l.first, err.Error())
	}
	l.mu.Unlock()
}

// end stops the load and waits for it.
func (l *load) end() {
	l.stop.Store(true)
	l.wg.Wait()
}

// ruleWriter sets rules w0.test, w1.test, … one after another through the
// REST API at base, each on a new connection, until stopped; it keeps the
// keys that were acknowledged (200) and the errors.
type ruleWriter struct {
	stop  atomic.Bool
	wg    sync.WaitGroup
	acked []string
	errs  []string
}

func startRuleWriter(base string) *ruleWriter {
	w := &ruleWriter{}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}
	w.wg.Go(func() {
		for i := 0; !w.stop.Load(); i++ {
			key := fmt.Sprintf("w%d.test", i)
			req, _ := http.NewRequest(http.MethodPut, base+"/hostname/"+key+"/", strings.NewReader(`["empty", {"code": 204}, false]`))
			resp, err := client.Do(req)
			if err != nil {
				w.errs = append(w.errs, time.Now().Format("15:04:05.000000 ")+err.Error())
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				w.errs = append(w.errs, fmt.Sprintf("PUT %s: %d %s", key, resp.StatusCode, body))
				continue
			}
			w.acked = append(w.acked, key)
			time.Sleep(5 * time.Millisecond)
		}
	})
	return w
}

func (w *ruleWriter) end() {
	w.stop.Store(true)
	w.wg.Wait()
}

var newPidRE = regexp.MustCompile(`msg="upgrade: started the new binary" exe=\S+ pid=(\d+)`)

// upgrade sends SIGUSR2 to p under way and waits for p to hand over and
// exit; it returns the new process's pid, which the test stops at its end.
func (p *proc) upgrade() int {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGUSR2))
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("the old process did not exit within 60s of SIGUSR2:\n%s", p.Log())
	}
	m := newPidRE.FindStringSubmatch(p.Log())
	require.NotNil(p.t, m, "no new process in the log:\n%s", p.Log())
	pid, err := strconv.Atoi(m[1])
	require.NoError(p.t, err)
	p.t.Cleanup(func() { stopPID(p.t, pid) })
	p.waitLog("stopped; the store was handed over", 1, 5*time.Second) // the old process's last line
	require.Equal(p.t, 0, p.cmd.ProcessState.ExitCode(), "old process: %v", p.cmd.ProcessState)
	return pid
}

// stopPID sends SIGTERM to pid (a mantrid that a test's mantrid started)
// and waits up to 15 s for it to be gone, then kills it.
func stopPID(t *testing.T, pid int) {
	if gone(pid) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if gone(pid) {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("mantrid %d did not stop on SIGTERM within 15s", pid)
}

// gone reports whether pid has exited (it may be a zombie: the test is not
// its parent).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X")
}

// checkHandOver runs an upgrade of p (which serves load.test on addr)
// under keep-alive load and rule changes through the API, and checks
// Done-when point 3: no request error, no reset, every keep-alive
// connection of the old process closed with Connection: close, the new
// process serving afterwards, and every acknowledged rule change in the
// new process's store. It returns the new process's pid.
func checkHandOver(t *testing.T, p *proc, addr string, replace func()) int {
	l := startLoad(addr, "load.test", 32)
	w := startRuleWriter(p.apiURL())
	time.Sleep(300 * time.Millisecond)
	if replace != nil {
		replace()
	}
	beforeOK := l.ok.Load()
	pid := p.upgrade()
	atExit, closesAtExit := l.ok.Load(), l.closes.Load()
	time.Sleep(500 * time.Millisecond)
	w.end()
	l.end()
	t.Logf("requests: %d before SIGUSR2, %d more until the old process exited, %d after; %d closes; %d rule changes acknowledged",
		beforeOK, atExit-beforeOK, l.ok.Load()-atExit, l.closes.Load(), len(w.acked))
	assert.Zero(t, l.errs.Load(), "request errors: %v", l.first)
	assert.Zero(t, l.resets.Load(), "connection resets: %v", l.first)
	assert.Greater(t, beforeOK, int64(0), "the load ran before the upgrade")
	assert.Greater(t, l.ok.Load()-atExit, int64(100), "the new process serves the load")
	assert.GreaterOrEqual(t, closesAtExit, int64(1), "the old process's keep-alive connections ended with Connection: close")
	if !assert.Empty(t, w.errs, "rule changes through the API during the upgrade") {
		t.Log(p.Log())
	}
	require.NotEmpty(t, w.acked)

	var rules map[string]any
	apiGetJSON(t, p.apiURL()+"/hostname/", &rules) // the new process's API, on the same socket
	for _, key := range w.acked {
		assert.Contains(t, rules, key, "an acknowledged change is in the new process's store")
	}
	assert.Contains(t, rules, "load.test")
	return pid
}

// TestUpgradeUnderLoad is Done-when point 3: SIGUSR2 with the binary
// replaced on disk starts the new binary, which takes the sockets and the
// store, while 32 keep-alive clients and a rule writer run; nothing fails.
func TestUpgradeUnderLoad(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "mantrid")
	copyFile(t, binPath, bin)
	path := writeConf(t, dir, "bind = 127.0.0.1:0\ngrace_period = 20\n", upgradeState)
	p := startMantridWith(t, path, startOptions{bin: bin})
	var replaced os.FileInfo
	pid := checkHandOver(t, p, p.addr(), func() {
		copyFile(t, binPath, bin+".new")
		require.NoError(t, os.Rename(bin+".new", bin))
		var err error
		replaced, err = os.Stat(bin)
		require.NoError(t, err)
	})
	exe, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	require.NoError(t, err)
	assert.True(t, os.SameFile(replaced, exe), "the new process runs the binary that replaced the old one")
	log := p.Log()
	assert.Regexp(t, `msg=listening addr=\S+ internal=false source=upgrade`, log)
	assert.Regexp(t, `msg="management API listening" addr=\S+ source=upgrade`, log)
	assert.Contains(t, log, `msg="upgrade: REST API stopped, counters saved, store closed`)
}

// TestUpgradeFailureKeepsServing: a new binary that cannot start (here a
// broken static page, which only a start refuses) leaves the old process
// serving, its API included, and says why.
func TestUpgradeFailureKeepsServing(t *testing.T) {
	p := startMantrid(t, "", upgradeState)
	require.NoError(t, os.MkdirAll(filepath.Join(p.dir, "static"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "static", "bad.http"), []byte("garbage"), 0o644))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGUSR2))
	p.waitLog("upgrade failed", 1, 30*time.Second)
	log := p.Log()
	assert.Contains(t, log, "static/bad.http", "the new process's own error")
	assert.Contains(t, log, "this process goes on serving")
	assert.True(t, p.alive())
	resp, _ := newClient(t, p.addr()).get("load.test", "/")
	assert.Equal(t, 200, resp.StatusCode)
	require.NoError(t, apiPut(p.apiURL(), "after.test", `["empty", {"code": 204}, false]`), "the API serves")
}

// TestSocketActivation passes listening sockets as systemd does
// (LISTEN_FDS, LISTEN_PID set by a shell that then execs mantrid, as
// systemd's fork does, and LISTEN_FDNAMES): the one whose address a bind
// line names is served and logged as from systemd, one that no line names
// is reported; an upgrade under load hands it on, and after the last
// mantrid stops, the socket still listens (it is systemd's).
func TestSocketActivation(t *testing.T) {
	public, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer public.Close()
	extra, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer extra.Close()
	files := []*os.File{listenerFile(t, public), listenerFile(t, extra)}
	dir := t.TempDir()
	path := writeConf(t, dir, "bind = "+public.Addr().String()+"\n", upgradeState)
	p := startMantridWith(t, path, startOptions{
		wrap:  []string{"sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`},
		env:   []string{"LISTEN_FDS=2", "LISTEN_FDNAMES=bind:spare"},
		files: files,
	})
	log := p.Log()
	assert.Contains(t, log, "msg=listening addr="+public.Addr().String()+" internal=false source=systemd")
	assert.Regexp(t, `msg=listening addr=\S+ internal=true source=bound`, log)
	assert.Contains(t, log, "matches no bind, bind_internal or bind_management line; not used\" addr="+extra.Addr().String()+" source=systemd")

	pid := checkHandOver(t, p, public.Addr().String(), nil)
	assert.Contains(t, p.Log(), "msg=listening addr="+public.Addr().String()+" internal=false source=upgrade")
	stopPID(t, pid)
	assert.True(t, listening(t, public), "mantrid shut down systemd's socket")
	c, err := net.DialTimeout("tcp", public.Addr().String(), time.Second)
	require.NoError(t, err, "systemd's socket queues connections for the next mantrid")
	c.Close()
}

// TestUpgradeSystemdSocketActivate runs mantrid under systemd's own
// systemd-socket-activate, which binds the socket, starts mantrid at the
// first connection and passes it LISTEN_FDS, and upgrades it under load.
func TestUpgradeSystemdSocketActivate(t *testing.T) {
	tool := needTool(t, "systemd-socket-activate", "TestSocketActivation covers LISTEN_FDS without it")
	// The tool needs a port number: take a free one (another process
	// could take it before the tool binds it; then the start fails).
	free, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := free.Addr().String()
	free.Close()
	dir := t.TempDir()
	path := writeConf(t, dir, "bind = "+addr+"\n", upgradeState)
	first := make(chan error, 1)
	go func() {
		// The tool starts mantrid at the first connection: this one,
		// which mantrid then answers.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				_, err = roundTrip(c, bufio.NewReader(c), []byte("GET / HTTP/1.1\r\nHost: load.test\r\n\r\n"))
				first <- err
				return
			}
		}
		first <- errors.New("the tool never listened")
	}()
	p := startMantridWith(t, path, startOptions{wrap: []string{tool, "-l", addr, "--fdname=bind"}})
	require.NoError(t, <-first, "the connection that started mantrid is answered")
	assert.Contains(t, p.Log(), "msg=listening addr="+addr+" internal=false source=systemd")
	pid := checkHandOver(t, p, addr, nil)
	stopPID(t, pid)
}

// listenerFile returns a dup of ln's socket as a file to pass to a child.
func listenerFile(t *testing.T, ln net.Listener) *os.File {
	f, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// listening reports whether ln's socket is still listening.
func listening(t *testing.T, ln net.Listener) bool {
	rc, err := ln.(*net.TCPListener).SyscallConn()
	require.NoError(t, err)
	v := 0
	require.NoError(t, rc.Control(func(fd uintptr) {
		v, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	}))
	require.NoError(t, err)
	return v == 1
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o755))
}
