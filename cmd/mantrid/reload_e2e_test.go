package main

import (
	"bytes"
	"errors"
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

// waitLog waits until p's log holds n lines containing s, and fails the
// test after timeout.
func (p *proc) waitLog(s string, n int, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(p.Log(), s) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("no %d× %q in the log within %v:\n%s", n, s, timeout, p.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// editConfig replaces old by new in p's config file (old must be there).
func (p *proc) editConfig(old, new string) {
	p.t.Helper()
	path := filepath.Join(p.dir, "mantrid.conf")
	b, err := os.ReadFile(path)
	require.NoError(p.t, err)
	require.Contains(p.t, string(b), old)
	require.NoError(p.t, os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644))
}

// idleClose sends one request on a new keep-alive connection and returns
// how long the server then kept the idle connection open (up to limit).
func idleClose(t *testing.T, addr, host string, limit time.Duration) time.Duration {
	t.Helper()
	cl := newClient(t, addr)
	resp, _ := cl.get(host, "/")
	require.False(t, resp.Close, "the answer keeps the connection")
	start := time.Now()
	require.NoError(t, cl.c.SetReadDeadline(start.Add(limit)))
	var b [1]byte
	_, err := cl.br.Read(b[:])
	if isTimeout(err) {
		return limit
	}
	return time.Since(start)
}

// TestReloadSIGHUP is Done-when point 2: SIGHUP with a new page in
// static_dir and a changed idle_timeout serves the page and applies the
// timeout, to new and to waiting connections, without a restart; a change
// that needs a restart, a broken page and a broken config file are each
// logged, and Mantrid keeps running on what it had.
func TestReloadSIGHUP(t *testing.T) {
	p := startMantrid(t, "idle_timeout = 30\nevent_loops = 2\n",
		`{"hosts": {"page.test": ["static", {"type": "hello"}, false], "other.test": ["static", {"type": "other"}, false]}, "stats": {}}`)
	static := filepath.Join(p.dir, "static")
	require.NoError(t, os.MkdirAll(static, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(static, "other.http"), []byte("HTTP/1.1 200 OK\n\nother v1"), 0o644))
	cl := newClient(t, p.addr())
	resp, _ := cl.get("page.test", "/")
	require.Equal(t, 500, resp.StatusCode, "no page hello yet")
	waiting := newClient(t, p.addr()) // idle across the reload
	resp, _ = waiting.get("other.test", "/")
	require.Equal(t, 500, resp.StatusCode, "static_dir was empty at the start")

	require.NoError(t, os.WriteFile(filepath.Join(static, "hello.http"), []byte("HTTP/1.1 200 OK\nContent-Type: text/plain\n\nhello, reloaded"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(static, "broken.http"), []byte("not a response"), 0o644))
	p.editConfig("idle_timeout = 30\nevent_loops = 2\n", "idle_timeout = 1\nevent_loops = 3\n")
	reloaded := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.waitLog("msg=reloaded", 1, 10*time.Second)

	resp, body := cl.get("page.test", "/")
	assert.Equal(t, 200, resp.StatusCode, "the new page is served on a connection opened before the reload")
	assert.Equal(t, "hello, reloaded", body)
	resp, body = newClient(t, p.addr()).get("other.test", "/")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "other v1", body)
	require.NoError(t, waiting.c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err := waiting.br.ReadByte()
	assert.False(t, isTimeout(err), "a connection idle since before the reload is closed by the new idle_timeout: %v", err)
	assert.Less(t, time.Since(reloaded), 3*time.Second)
	idle := idleClose(t, p.addr(), "page.test", 10*time.Second)
	assert.Greater(t, idle, 500*time.Millisecond, "idle_timeout = 1")
	assert.Less(t, idle, 3*time.Second, "idle_timeout = 1, not 30")

	log := p.Log()
	assert.Contains(t, log, `msg="reload: event_loops changed from 2 to 3: needs a restart"`)
	assert.Contains(t, log, "broken.http")
	assert.Regexp(t, `msg=reloaded config=changed applied=idle_timeout needs_restart=event_loops .* page_errors=1`, log)
	assert.True(t, p.alive(), "SIGHUP stopped mantrid:\n%s", log)

	t.Run("a broken page keeps the page in force", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(static, "other.http"), []byte("HTTP/1.1 204 No Content\n\nbody"), 0o644))
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		p.waitLog("msg=reloaded", 2, 10*time.Second)
		resp, body := newClient(t, p.addr()).get("other.test", "/")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "other v1", body)
		assert.Contains(t, p.Log(), "other.http: a 204 or 304 response must not have a body")
	})

	t.Run("a broken config file keeps the running config", func(t *testing.T) {
		p.editConfig("idle_timeout = 1\n", "idle_timeout = 1\nidle_timeout = 40\n")
		text := string(must(os.ReadFile(filepath.Join(p.dir, "mantrid.conf"))))
		line := strings.Count(text[:strings.Index(text, "idle_timeout = 40")], "\n") + 1
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		p.waitLog("msg=reloaded", 3, 10*time.Second)
		log := p.Log()
		assert.Contains(t, log, "mantrid.conf:"+strconv.Itoa(line)+": idle_timeout is given twice", "the line is named")
		assert.Contains(t, log, "msg=reloaded config=error")
		assert.True(t, p.alive())
		idle := idleClose(t, p.addr(), "page.test", 10*time.Second)
		assert.Less(t, idle, 3*time.Second, "idle_timeout stays 1")
	})

	t.Run("SIGHUP in a burst", func(t *testing.T) {
		for range 20 {
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
		}
		time.Sleep(200 * time.Millisecond)
		resp, _ := newClient(t, p.addr()).get("page.test", "/")
		assert.Equal(t, 200, resp.StatusCode)
		assert.True(t, p.alive())
	})
}

// TestCheck runs mantrid --check (and -t) on good and bad configs: exit 0
// with what it would serve, or 1 with the problem, the line of the config
// named; it also reads the store of a running mantrid without disturbing it.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	require.NoError(t, os.WriteFile(state, []byte(`{"hosts": {"a.test": ["empty", {"code": 204}, false], "b.test": ["empty", {"code": 204}, true]}, "stats": {}}`), 0o644))
	base := "bind = 127.0.0.1:0\nbind_internal = 127.0.0.1:0\nbind_management = 127.0.0.1:0\nstate_file = " + state +
		"\nstatic_dir = " + filepath.Join(dir, "static") + "\n"
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	cases := []struct {
		name, conf      string
		flag            string
		code            int
		stdout, stderr  []string
		setup, tearDown func()
	}{
		{name: "good", conf: base, flag: "--check", code: 0,
			stdout: []string{"syntax ok", "listen public: 127.0.0.1:0", "listen internal: 127.0.0.1:0",
				"listen management API: 127.0.0.1:0", "would be created from state file " + state + ": 2 rules", "check passed"}},
		{name: "short flag", conf: base, flag: "-t", code: 0, stdout: []string{"check passed"}},
		{name: "bad line", conf: base + "# fine\nidle_timeout = soon\n", flag: "-t", code: 1,
			stderr: []string{"bad-line.conf:7: idle_timeout: want seconds"}},
		{name: "unknown name", conf: "\n" + base + "frobnicate = 1\n", flag: "--check", code: 1,
			stderr: []string{"unknown-name.conf:7: unknown name \"frobnicate\""}},
		{name: "bad state file", conf: base, flag: "--check", code: 1, stderr: []string{"state file " + state},
			setup: func() {
				require.NoError(t, os.WriteFile(state+".good", must(os.ReadFile(state)), 0o644))
				write("state.json", "{not json")
			},
			tearDown: func() { require.NoError(t, os.Rename(state+".good", state)) }},
		{name: "bad page", conf: base, flag: "--check", code: 1, stderr: []string{"static/bad.http"},
			setup: func() {
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "static"), 0o755))
				write("static/bad.http", "garbage")
			},
			tearDown: func() { require.NoError(t, os.Remove(filepath.Join(dir, "static/bad.http"))) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			if tc.tearDown != nil {
				defer tc.tearDown()
			}
			path := write(strings.ReplaceAll(tc.name, " ", "-")+".conf", tc.conf)
			stdout, stderr, code := runCheck(t, tc.flag, path)
			assert.Equal(t, tc.code, code, "exit status; stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout, s)
			}
			for _, s := range tc.stderr {
				assert.Contains(t, stderr, s)
			}
		})
	}

	t.Run("the store of a running mantrid", func(t *testing.T) {
		p := startMantrid(t, "", `{"hosts": {"a.test": ["empty", {"code": 204}, false]}, "stats": {}}`)
		require.NoError(t, apiPut(p.apiURL(), "b.test", `["empty", {"code": 205}, false]`))
		path := filepath.Join(p.dir, "mantrid.conf")
		stdout, stderr, code := runCheck(t, "--check", path)
		assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, filepath.Join(p.dir, "state.store")+": 2 rules at revision 2", "the seed is change 1, the PUT change 2")
		require.NoError(t, apiPut(p.apiURL(), "c.test", `["empty", {"code": 205}, false]`), "the store is still writable")
		assert.True(t, p.alive())
	})
}

// runCheck runs mantrid with flag (--check or -t) on the config at path.
func runCheck(t *testing.T, flag, path string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, flag, "-c", path)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errOut.String(), code
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
