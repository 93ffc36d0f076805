package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSystemdUnits checks examples/mantrid.service and mantrid.socket with
// systemd-analyze verify (with ExecStart pointing at the binary under
// test): no error and no warning about either file.
func TestSystemdUnits(t *testing.T) {
	service, err := os.ReadFile("../../examples/mantrid.service")
	require.NoError(t, err)
	socket, err := os.ReadFile("../../examples/mantrid.socket")
	require.NoError(t, err)
	for _, want := range []string{"Type=notify", "ExecStart=/usr/local/bin/mantrid -c ", "ExecReload=/bin/kill -HUP $MAINPID", "SIGUSR2"} {
		assert.Contains(t, string(service), want)
	}
	assert.Contains(t, string(socket), "ListenStream=")

	tool := needTool(t, "systemd-analyze", "the units were not verified")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mantrid.service"),
		bytes.ReplaceAll(service, []byte("/usr/local/bin/mantrid"), []byte(binPath)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mantrid.socket"), socket, 0o644))
	out, err := exec.Command(tool, "verify", filepath.Join(dir, "mantrid.service"), filepath.Join(dir, "mantrid.socket")).CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify:\n%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		assert.NotContains(t, line, "mantrid.", "systemd-analyze verify says")
	}
}

// TestNotifySocket plays systemd's notification socket (sd_notify(3)):
// READY=1 once mantrid serves, RELOADING=1 and READY=1 around a reload,
// MAINPID= of the new process after an upgrade, STOPPING=1 at SIGTERM.
func TestNotifySocket(t *testing.T) {
	sockPath := filepath.Join(t.TempDir(), "notify")
	ns, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	require.NoError(t, err)
	defer ns.Close()
	next := func() string {
		t.Helper()
		require.NoError(t, ns.SetReadDeadline(time.Now().Add(30*time.Second)))
		b := make([]byte, 4096)
		n, err := ns.Read(b)
		require.NoError(t, err, "waiting for a notification")
		return string(b[:n])
	}
	dir := t.TempDir()
	p := startMantridWith(t, writeConf(t, dir, "bind = 127.0.0.1:0\n", upgradeState), startOptions{env: []string{"NOTIFY_SOCKET=" + sockPath}})
	assert.Equal(t, "READY=1", next())

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	assert.Regexp(t, `^RELOADING=1\nMONOTONIC_USEC=\d+$`, next())
	assert.Equal(t, "READY=1", next())

	pid := p.upgrade()
	assert.Equal(t, "MAINPID="+strconv.Itoa(pid), next(), "the old process names the new main process")
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	assert.Equal(t, "STOPPING=1", next())
}

// needTool returns the path of an outside tool a test drives. Without it
// the test skips with why — unless MANTRID_REQUIRE_TOOLS is set (.ci/run
// sets it, after `make test` installed the tools), where a missing tool
// fails the test instead of letting it pass untested.
func needTool(t *testing.T, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("MANTRID_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s is not installed and MANTRID_REQUIRE_TOOLS is set: %s", name, why)
	}
	t.Skipf("%s is not installed (Debian: apt-get install systemd): %s", name, why)
	return ""
}
