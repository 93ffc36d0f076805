package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runClient runs mantrid-client against p's API and returns its stdout,
// stderr and exit status.
func runClient(t *testing.T, p *proc, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(clientPath, append([]string{"--url", p.apiURL()}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), code
}

// TestClientDocsExample is the first Mantrid's documented example, against
// the real binaries.
func TestClientDocsExample(t *testing.T) {
	p := startMantrid(t, "", "")
	out, errOut, code := runClient(t, p, "set", "top-secret.com", "empty", "true", "code=403")
	require.Equal(t, 0, code, "set: %s%s", out, errOut)

	cl := newClient(t, p.addr())
	for _, host := range []string{"top-secret.com", "www.top-secret.com", "a.b.top-secret.com"} {
		resp, _ := cl.get(host, "/")
		assert.Equal(t, 403, resp.StatusCode, "Host %s", host)
	}

	out, _, code = runClient(t, p, "list")
	require.Equal(t, 0, code)
	assert.Regexp(t, regexp.MustCompile(`(?m)^HOST\s+ACTION\s+SUBDOMS`), out)
	assert.Regexp(t, regexp.MustCompile(`(?m)^top-secret\.com\s+empty<403>\s+True\s*$`), out)

	out, _, code = runClient(t, p, "stats")
	require.Equal(t, 0, code)
	assert.Regexp(t, regexp.MustCompile(`(?m)^HOST\s+OPEN\s+COMPLETED\s+BYTES IN\s+BYTES OUT`), out)
	m := regexp.MustCompile(`(?m)^top-secret\.com\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$`).FindStringSubmatch(out)
	require.NotNil(t, m, "stats row for top-secret.com in:\n%s", out)
	assert.Equal(t, "0", m[1], "open")
	assert.Equal(t, "3", m[2], "completed")
	assert.NotEqual(t, "0", m[3], "bytes in")
	assert.NotEqual(t, "0", m[4], "bytes out")

	_, _, code = runClient(t, p, "delete", "top-secret.com")
	require.Equal(t, 0, code)
	out, _, _ = runClient(t, p, "list")
	assert.NotContains(t, out, "top-secret.com")
	resp, _ := cl.get("top-secret.com", "/")
	assert.Equal(t, builtinStatus(t, "no-hosts"), resp.StatusCode, "no rules left")

	_, errOut, code = runClient(t, p, "set", "x.com", "empty", "true", "code=abc")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "host_option_invalid", "the server's error code is shown")
}

// apiPut sets one rule through the REST API.
func apiPut(base, host, rule string) error {
	req, err := http.NewRequest(http.MethodPut, base+"/hostname/"+host+"/", strings.NewReader(rule))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("PUT %s: %d %s", host, resp.StatusCode, body)
	}
	return nil
}

func apiGetJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func TestSIGTERMSavesStateAndExits0(t *testing.T) {
	p := startMantrid(t, "save_interval = 3600\n", "")
	require.NoError(t, apiPut(p.apiURL(), "kept.test", `["empty", {"code": 204}, false]`))
	cl := newClient(t, p.addr())
	for range 5 {
		resp, _ := cl.get("kept.test", "/")
		require.Equal(t, 204, resp.StatusCode)
	}
	addr := p.addr()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit within 15s of SIGTERM")
	}
	assert.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "exit status; log:\n%s", p.Log())
	_, err := net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "listener closed")

	again := startMantridConf(t, filepath.Join(p.dir, "mantrid.conf"))
	var rule json.RawMessage
	apiGetJSON(t, again.apiURL()+"/hostname/kept.test/", &rule)
	assert.JSONEq(t, `["empty",{"code":204},false]`, string(rule), "the rule after a restart")
	var stats map[string]int64
	apiGetJSON(t, again.apiURL()+"/stats/kept.test/", &stats)
	assert.Equal(t, int64(5), stats["completed_requests"], "counters saved at exit")
}

// TestSIGKILLLosesNoAcknowledgedChange kills mantrid at random moments
// while rules change and traffic flows, 30 times: every restart must
// succeed, serve every change the API acknowledged (or a later one that was
// under way at the kill), and show counters that never went back and no
// open request.
func TestSIGKILLLosesNoAcknowledgedChange(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "mantrid.conf")
	require.NoError(t, os.WriteFile(conf, []byte(testIdentity+"bind = 127.0.0.1:0\nbind_management = 127.0.0.1:0\n"+
		"state_file = "+filepath.Join(dir, "state.json")+"\nsave_interval = 0.05\n"), 0o644))
	rounds := 30
	if testing.Short() {
		rounds = 8
	}
	acked := map[string]int{}    // host → the code of its last acknowledged PUT
	underWay := map[string]int{} // host → the code of the PUT under way at the kill
	completed := map[string]int64{}
	for round := range rounds {
		p := startMantridConf(t, conf)
		checkAcknowledged(t, p, acked, underWay, completed, round)
		clear(underWay)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			cl := newClient(t, p.addr())
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				host, code := fmt.Sprintf("h%d.test", i%20), 200+(i+round)%50
				underWay[host] = code
				if apiPut(p.apiURL(), host, fmt.Sprintf(`["empty", {"code": %d}, true]`, code)) != nil {
					return
				}
				acked[host] = code
				delete(underWay, host)
				if _, err := io.WriteString(cl.c, "GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		require.NoError(t, p.cmd.Process.Kill())
		<-p.exited
		close(stop)
		<-done
	}
}

// checkAcknowledged compares what a freshly started mantrid serves with the
// changes acknowledged before the kill, and its counters with those of the
// previous start, which they may only exceed.
func checkAcknowledged(t *testing.T, p *proc, acked, underWay map[string]int, completed map[string]int64, round int) {
	t.Helper()
	var rules map[string][]any
	apiGetJSON(t, p.apiURL()+"/hostname/", &rules)
	for host, code := range acked {
		require.Contains(t, rules, host, "round %d: an acknowledged rule is gone", round)
		got := int(rules[host][1].(map[string]any)["code"].(float64))
		if got != code && got != underWay[host] {
			t.Fatalf("round %d: %s has code %d after the restart; acknowledged %d, under way %d", round, host, got, code, underWay[host])
		}
		acked[host] = got // a change under way at the kill that made it to disk is the one to keep from now on
	}
	var stats map[string]map[string]int64
	apiGetJSON(t, p.apiURL()+"/stats/", &stats)
	for host, c := range stats {
		assert.Equal(t, int64(0), c["open_requests"], "round %d: %s open after a restart", round, host)
		assert.GreaterOrEqual(t, c["completed_requests"], completed[host], "round %d: %s counters went back", round, host)
		completed[host] = c["completed_requests"]
	}
}

// TestSIGKILLRightAfterAcknowledgement puts a new host and kills mantrid
// the moment the 200 arrives, 20 times over a table of 2,000 rules: every
// acknowledged host is there after each restart, and the store always
// loads (the journal files of the restarts pile up until a snapshot
// folds them in, which the rounds also cover).
func TestSIGKILLRightAfterAcknowledgement(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"hosts": {`)
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"app%d.example": ["proxy", {"backends": [["127.0.%d.%d", 8000]]}, true]`, i, i>>8, i&255)
	}
	b.WriteString(`}}`)
	p := startMantrid(t, "", b.String())
	conf := filepath.Join(p.dir, "mantrid.conf")
	var hosts []string
	for round := range 20 {
		host := fmt.Sprintf("crash%d.example", round)
		require.NoError(t, apiPut(p.apiURL(), host, `["empty", {"code": 204}, false]`), "round %d", round)
		require.NoError(t, p.cmd.Process.Kill())
		<-p.exited
		hosts = append(hosts, host)
		p = startMantridConf(t, conf)
		var rules map[string]json.RawMessage
		apiGetJSON(t, p.apiURL()+"/hostname/", &rules)
		assert.Len(t, rules, 2000+len(hosts), "round %d: rules after the restart", round)
		for _, h := range hosts {
			assert.Contains(t, rules, h, "round %d: acknowledged host %s lost", round, h)
		}
	}
}

// runMantridFails starts mantrid expecting it to refuse to start; it
// returns the exit status and stderr.
func runMantridFails(t *testing.T, conf string) (int, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mantrid.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	cmd := exec.Command(binPath, "-c", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("mantrid did not refuse to start:\n%s", stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

func TestStartupRefusals(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	corruptBytes := []byte(`{"hosts": {"a.test": ["empty", {"code": 403}, tru`)
	require.NoError(t, os.WriteFile(corrupt, corruptBytes, 0o644))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blocked.store"), nil, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "damaged.store"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "damaged.store", "rules.snap"), []byte("MANTRIDS garbage"), 0o644))
	base := testIdentity + "bind_management = 127.0.0.1:0\n"
	dir = dir + "/" // the messages name paths as configured
	cases := []struct{ name, conf, want string }{
		{"bad config line", base + "bind = 127.0.0.1:0\nstate_file " + dir + "/s.json\n", "mantrid.conf:5: expected \"name = value\""},
		{"store folder blocked", base + "bind = 127.0.0.1:0\nstate_file = " + dir + "/blocked.json\n", "store folder " + dir + "/blocked.store cannot be used: "},
		{"damaged store", base + "bind = 127.0.0.1:0\nstate_file = " + dir + "/damaged.json\n", "store: " + filepath.Join(dir, "damaged.store", "rules.snap") + ": damaged: "},
		{"corrupt state file", base + "bind = 127.0.0.1:0\nstate_file = " + corrupt + "\n", "state file " + corrupt},
		{"port in use", base + "bind = " + busy.Addr().String() + "\nstate_file = " + dir + "/s.json\n", "cannot listen on " + busy.Addr().String() + ": the port is already in use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runMantridFails(t, tc.conf)
			assert.NotEqual(t, 0, code)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			assert.True(t, strings.HasPrefix(last, "mantrid: "), "the error is the last line: %q", stderr)
			assert.Contains(t, last, tc.want)
		})
	}
	after, err := os.ReadFile(corrupt)
	require.NoError(t, err)
	assert.Equal(t, corruptBytes, after, "a corrupt state file is left as it was")
	_, err = os.Stat(filepath.Join(dir, "corrupt.store", "rules.snap"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no store is made from a corrupt state file")
}

// TestRootDropsPrivileges runs only as root (as CI does here): mantrid must
// end up running as uid/gid from the config with the state folder its own.
func TestRootDropsPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: not running as root, so there are no privileges to drop")
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755)) // let uid 65534 reach it
	stateDir := filepath.Join(dir, "var")
	conf := filepath.Join(dir, "mantrid.conf")
	sock := filepath.Join(dir, "run", "api.sock")
	require.NoError(t, os.WriteFile(conf, []byte("bind = 127.0.0.1:0\nbind_management = 127.0.0.1:0\n"+
		"bind_management = unix:"+sock+"\nstate_file = "+stateDir+"/state.json\nuid = 65534\ngid = 65534\n"), 0o644))
	p := startMantridConf(t, conf)
	for _, path := range []string{sock, filepath.Dir(sock)} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		st := fi.Sys().(*syscall.Stat_t)
		assert.Equal(t, [2]uint32{65534, 65534}, [2]uint32{st.Uid, st.Gid}, "%s belongs to the unprivileged user", path)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`(?m)^Uid:\s+65534\s+65534\s+65534\s+65534`), string(status))
	assert.Regexp(t, regexp.MustCompile(`(?m)^Gid:\s+65534\s+65534\s+65534\s+65534`), string(status))
	require.NoError(t, apiPut(p.apiURL(), "saved.test", `["empty", {"code": 403}, false]`))
	ents, err := os.ReadDir(stateDir + "/state.store")
	require.NoError(t, err)
	require.NotEmpty(t, ents)
	for _, e := range ents {
		fi, err := os.Stat(filepath.Join(stateDir, "state.store", e.Name()))
		require.NoError(t, err)
		assert.Equal(t, uint32(65534), fi.Sys().(*syscall.Stat_t).Uid, "store file %s belongs to the unprivileged user", e.Name())
	}
	require.NoError(t, p.cmd.Process.Kill())
	<-p.exited
	again := startMantridConf(t, conf)
	var rule json.RawMessage
	apiGetJSON(t, again.apiURL()+"/hostname/saved.test/", &rule)
	assert.JSONEq(t, `["empty",{"code":403},false]`, string(rule), "the unprivileged process committed the rule")
}

// TestSIGTERMAnswersHeldRequests: a request held by spin gets the timeout
// page at SIGTERM (no rule change can release it any more), and mantrid
// exits 0 well before the grace period ends.
func TestSIGTERMAnswersHeldRequests(t *testing.T) {
	p := startMantrid(t, "grace_period = 20\n", `{"hosts": {"held.test": ["spin", {"timeout": 60}, false]}, "stats": {}}`)
	cl := newClient(t, p.addr())
	cl.send("GET / HTTP/1.1\r\nHost: held.test\r\n\r\n")
	require.Eventually(t, func() bool {
		var s map[string]int64
		apiGetJSON(t, p.apiURL()+"/stats/held.test/", &s)
		return s["open_requests"] == 1
	}, 5*time.Second, 20*time.Millisecond, "the request is held")
	start := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	resp, _ := cl.read("GET")
	assert.Equal(t, builtinStatus(t, "timeout"), resp.StatusCode)
	assert.True(t, resp.Close, "answers during shutdown close the connection")
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	assert.Equal(t, 0, p.cmd.ProcessState.ExitCode())
	assert.Less(t, time.Since(start), 10*time.Second, "did not wait out the grace period")
}

// TestSIGTERMDrainsProxiedRequests: a proxied request under way when
// SIGTERM arrives gets its whole answer, new connections are refused, and
// mantrid exits 0 once it is done.
func TestSIGTERMDrainsProxiedRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		time.Sleep(time.Second) // still answering when SIGTERM comes
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow!")
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	p := startMantrid(t, "grace_period = 10\n", fmt.Sprintf(`{"hosts": {"slow.test": ["proxy", {"backends": [["127.0.0.1", %d]]}, false]}, "stats": {}}`, port))
	cl := newClient(t, p.addr())
	cl.send("GET / HTTP/1.1\r\nHost: slow.test\r\n\r\n")
	time.Sleep(200 * time.Millisecond)
	addr := p.addr()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	resp, body := cl.read("GET")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "slow!", body, "the answer under way arrives whole")
	assert.True(t, resp.Close, "an answer during shutdown closes the connection")
	_, err = net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "no new connections during shutdown")
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	assert.Equal(t, 0, p.cmd.ProcessState.ExitCode())
}

// TestExportImportRoundTrip is the way back and forth between Mantrids:
// one started from the first Mantrid's state file (imported into its new
// store) is exported with mantrid-client, and the export imported into an
// empty Mantrid gives the same rules and counters.
func TestExportImportRoundTrip(t *testing.T) {
	legacy, err := os.ReadFile("../../mgmt/state/testdata/legacy.json")
	require.NoError(t, err)
	from := startMantrid(t, "", string(legacy))
	cl := newClient(t, from.addr())
	for range 3 {
		resp, _ := cl.get("localhost", "/")
		require.Equal(t, 402, resp.StatusCode)
	}
	exported, errOut, code := runClient(t, from, "export")
	require.Equal(t, 0, code, errOut)
	_, err = state.Decode([]byte(exported))
	require.NoError(t, err, "export writes a state file the first Mantrid's format reads")

	to := startMantrid(t, "", "")
	path := filepath.Join(t.TempDir(), "export.json")
	require.NoError(t, os.WriteFile(path, []byte(exported), 0o644))
	out, errOut, code := runClient(t, to, "import", path)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "with the counters")

	var rulesFrom, rulesTo map[string]json.RawMessage
	apiGetJSON(t, from.apiURL()+"/hostname/", &rulesFrom)
	apiGetJSON(t, to.apiURL()+"/hostname/", &rulesTo)
	assert.Equal(t, rulesFrom, rulesTo, "GET /hostname/ after export | import")
	var statsFrom, statsTo map[string]map[string]int64
	apiGetJSON(t, from.apiURL()+"/stats/", &statsFrom)
	apiGetJSON(t, to.apiURL()+"/stats/", &statsTo)
	assert.Equal(t, statsFrom, statsTo, "GET /stats/ after export | import")
	assert.Equal(t, int64(120+0), statsTo["ep.io"]["completed_requests"], "the legacy file's counters came through")
	assert.Equal(t, int64(5+3), statsTo["localhost"]["completed_requests"], "counters kept counting, then came through")

	require.NoError(t, to.cmd.Process.Signal(syscall.SIGTERM))
	<-to.exited
	again := startMantridConf(t, filepath.Join(to.dir, "mantrid.conf"))
	var statsAgain map[string]map[string]int64
	apiGetJSON(t, again.apiURL()+"/stats/", &statsAgain)
	assert.Equal(t, statsTo, statsAgain, "imported counters are saved")
}

// TestSIGTERMRightAfterStart stops mantrid the moment it says it started,
// while its event loops may still be starting: it must exit 0 at once, not
// after the grace period (closing the listeners under gnet as it started
// once left the loops unable to stop).
func TestSIGTERMRightAfterStart(t *testing.T) {
	for round := range 5 {
		p := startMantrid(t, "grace_period = 20\n", "")
		start := time.Now()
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: no exit within 5 s of SIGTERM:\n%s", round, p.Log())
		}
		assert.Equal(t, 0, p.cmd.ProcessState.ExitCode(), "round %d: exit status; log:\n%s", round, p.Log())
		t.Logf("round %d: exited %v after SIGTERM", round, time.Since(start).Round(time.Millisecond))
	}
}
