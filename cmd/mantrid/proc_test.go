package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binPath and clientPath are the binaries built once by TestMain.
var binPath, clientPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mantrid-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "mantrid")
	clientPath = filepath.Join(dir, "mantrid-client")
	args := []string{"build", "-o", dir + "/"}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".", "../mantrid-client")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building mantrid and mantrid-client: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testIdentity keeps a mantrid started as root (as in CI here) running as
// root, so that it can use the test's private temporary folders; only
// TestRootDropsPrivileges tests dropping them.
const testIdentity = "uid = 0\ngid = 0\n"

// proc is a running mantrid started by a test.
type proc struct {
	t        *testing.T
	cmd      *exec.Cmd
	dir      string
	public   []string // bind addresses, in log order
	internal []string // bind_internal addresses
	mgmt     []string // bind_management addresses
	mu       sync.Mutex
	log      strings.Builder
	exited   chan struct{}
}

var (
	listeningRE = regexp.MustCompile(`msg=listening addr=(\S+) internal=(true|false)`)
	mgmtRE      = regexp.MustCompile(`msg="management API listening" addr=(\S+)`)
)

// startMantrid writes conf (extra lines appended to a base config listening
// on 127.0.0.1:0, public and internal) and state to a temporary folder and
// starts the binary, optionally through wrap (e.g. a shell that lowers the
// fd limit). It returns once the process logged "mantrid started".
func startMantrid(t *testing.T, extraConf, stateJSON string, wrap ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	conf := testIdentity + "bind = 127.0.0.1:0\nbind_internal = 127.0.0.1:0\nbind_management = 127.0.0.1:0\n" +
		"state_file = " + filepath.Join(dir, "state.json") + "\n" +
		"static_dir = " + filepath.Join(dir, "static") + "\n" + extraConf
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mantrid.conf"), []byte(conf), 0o644))
	if stateJSON != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), []byte(stateJSON), 0o644))
	}
	return startMantridConf(t, filepath.Join(dir, "mantrid.conf"), wrap...)
}

// startMantridConf starts the binary on the config file at path (in path's
// folder), optionally through wrap, and waits for "mantrid started".
func startMantridConf(t *testing.T, path string, wrap ...string) *proc {
	t.Helper()
	return startMantridWith(t, path, startOptions{wrap: wrap})
}

func (p *proc) readLog(r io.Reader, started chan struct{}) {
	sc := bufio.NewScanner(r)
	once := sync.Once{}
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.log.WriteString(line + "\n")
		if m := mgmtRE.FindStringSubmatch(line); m != nil {
			p.mgmt = append(p.mgmt, m[1])
		}
		if m := listeningRE.FindStringSubmatch(line); m != nil {
			if m[2] == "true" {
				p.internal = append(p.internal, m[1])
			} else {
				p.public = append(p.public, m[1])
			}
		}
		p.mu.Unlock()
		if strings.Contains(line, "msg=\"mantrid started\"") {
			once.Do(func() { close(started) })
		}
	}
}

// Log returns what the process wrote to stderr so far.
func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// addr returns the first public listener's address.
func (p *proc) addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(p.t, p.public, "no public listener logged")
	return p.public[0]
}

// apiURL returns the REST API's base URL.
func (p *proc) apiURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(p.t, p.mgmt, "no management listener logged")
	return "http://" + p.mgmt[0]
}

// internalAddr returns the first bind_internal listener's address.
func (p *proc) internalAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(p.t, p.internal, "no internal listener logged")
	return p.internal[0]
}

// stop sends SIGTERM to the process it started (by PID) and waits; after 10 s
// it kills it.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("mantrid did not stop on SIGTERM within 10s:\n%s", p.Log())
	}
}

// alive reports whether the process is still running.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// dial opens a raw connection to addr.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	return c
}
