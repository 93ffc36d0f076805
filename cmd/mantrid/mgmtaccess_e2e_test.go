package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiAnswer is one answer of the REST API.
type apiAnswer struct {
	status int
	header http.Header
	body   string
}

// code returns the API error code of a, or "".
func (a apiAnswer) code() string {
	var e api.Error
	_ = json.Unmarshal([]byte(a.body), &e)
	return e.Code
}

// apiCall sends one request to the REST API at base with the given Host
// ("" keeps the URL's) and Authorization ("" sends none), on a connection
// of its own.
func apiCall(t *testing.T, method, url, host, auth, body string) apiAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Minute}
	resp, err := cl.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return apiAnswer{resp.StatusCode, resp.Header, string(b)}
}

// runClientWith runs the mantrid-client binary with args and the
// environment variables env (and none of the test's own MANTRID_*), and
// returns its stdout, stderr and exit status.
func runClientWith(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(clientPath, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MANTRID_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return stdout.String(), stderr.String(), 0
}

// writeToken writes a token file of mode perm and returns its path.
func writeToken(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.token")
	require.NoError(t, os.WriteFile(path, []byte(content), perm))
	require.NoError(t, os.Chmod(path, perm))
	return path
}

// TestManagementToken: with management_token_file, a request without the
// token or with a wrong one gets 401, the right one 200; mantrid-client
// sends it from $MANTRID_TOKEN or --token-file.
func TestManagementToken(t *testing.T) {
	const token = "s3cret-e2e-token"
	file := writeToken(t, "  "+token+"\n", 0o600)
	p := startMantrid(t, "management_token_file = "+file+"\n", "")
	url := p.apiURL() + "/hostname/"
	for _, tt := range []struct {
		name, auth string
		status     int
		challenge  string
	}{
		{"no token", "", 401, `Bearer realm="mantrid"`},
		{"wrong token", "Bearer not-" + token, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"token as Basic", "Basic " + token, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"right token", "Bearer " + token, 200, ""},
	} {
		for _, method := range []string{"GET", "PUT"} {
			a := apiCall(t, method, url, "", tt.auth, `{"t.test": ["empty", {"code": 204}, false]}`)
			assert.Equal(t, tt.status, a.status, "%s, %s: %s", tt.name, method, a.body)
			assert.Equal(t, tt.challenge, a.header.Get("WWW-Authenticate"), "%s, %s", tt.name, method)
			if tt.status == 401 {
				assert.Equal(t, api.CodeUnauthorized, a.code(), "%s, %s: %s", tt.name, method, a.body)
			}
		}
	}

	_, errOut, code := runClientWith(t, nil, "--url", p.apiURL(), "list")
	assert.Equal(t, 1, code, "no token: %s", errOut)
	assert.Contains(t, errOut, "unauthorized")
	_, errOut, code = runClientWith(t, []string{api.EnvToken + "=" + token}, "--url", p.apiURL(), "set", "c.test", "empty", "true", "code=403")
	require.Equal(t, 0, code, "$MANTRID_TOKEN: %s", errOut)
	out, errOut, code := runClientWith(t, []string{api.EnvToken + "=wrong"}, "--url", p.apiURL(), "--token-file", file, "list")
	require.Equal(t, 0, code, "--token-file beats $MANTRID_TOKEN: %s", errOut)
	assert.Contains(t, out, "c.test")
	assert.NotContains(t, p.Log(), token, "the token is never logged")

	// A token file others may read starts, with a warning.
	open := writeToken(t, token, 0o644)
	q := startMantrid(t, "management_token_file = "+open+"\n", "")
	assert.Contains(t, q.Log(), "management_token_file is open to other users")
	assert.Equal(t, 200, apiCall(t, "GET", q.apiURL()+"/stats/", "", "Bearer "+token, "").status)
}

// TestManagementForeignHost: a request whose Host is not a loopback name
// or address, nor one of management_hosts, gets 403 (DNS rebinding).
func TestManagementForeignHost(t *testing.T) {
	p := startMantrid(t, "management_hosts = mantrid.internal, 10.9.8.7\n", "")
	_, port, err := net.SplitHostPort(strings.TrimPrefix(p.apiURL(), "http://"))
	require.NoError(t, err)
	for _, tt := range []struct {
		host   string
		status int
	}{
		{"evil.example", 403},
		{"evil.example:" + port, 403},
		{"localhost.evil.example:" + port, 403},
		{"10.9.8.6:" + port, 403},
		{"localhost:" + port, 200},
		{"127.0.0.1", 200},
		{"[::1]:" + port, 200},
		{"mantrid.internal:" + port, 200},
		{"MANTRID.internal", 200},
		{"10.9.8.7:" + port, 200},
	} {
		a := apiCall(t, "GET", p.apiURL()+"/stats/", tt.host, "", "")
		assert.Equal(t, tt.status, a.status, "Host %q: %s", tt.host, a.body)
		if tt.status == 403 {
			assert.Equal(t, api.CodeHostNotAllowed, a.code(), "Host %q", tt.host)
		}
	}
}

// TestManagementStartRefusals: an API open to other machines without a
// token, a token file that gives no token, and a Unix socket path in use
// stop the start with one line; management_insecure allows the first.
func TestManagementStartRefusals(t *testing.T) {
	dir := t.TempDir()
	empty := writeToken(t, " \n", 0o600)
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o600))
	base := testIdentity + "bind = 127.0.0.1:0\nstate_file = " + dir + "/s.json\n"
	for _, tc := range []struct{ name, conf, want string }{
		{"open without a token", "bind_management = 0.0.0.0:0\n",
			"bind_management 0.0.0.0:0 is not a loopback address and no management_token_file is set"},
		{"empty token file", "management_token_file = " + empty + "\n", "management_token_file " + empty + ": the token is empty"},
		{"missing token file", "management_token_file = " + dir + "/none\n", "management_token_file " + dir + "/none cannot be read: no such file or directory"},
		{"socket in use", "bind_management = unix:" + live + "\n", "cannot listen on unix:" + live + ": another process is listening on it"},
		{"not a socket", "bind_management = unix:" + plain + "\n", "cannot listen on unix:" + plain + ": the path exists and is not a socket"},
		{"relative socket path", "bind_management = unix:api.sock\n", "a Unix socket needs an absolute path"},
		{"bad management_hosts", "management_hosts = a.example, b.example:8042\n", "management_hosts: entry b.example:8042 is not a hostname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runMantridFails(t, base+tc.conf)
			assert.Equal(t, 1, code)
			var errLines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if strings.HasPrefix(l, "mantrid: ") {
					errLines = append(errLines, l)
				}
			}
			require.Len(t, errLines, 1, "one error line: %q", stderr)
			assert.Contains(t, errLines[0], tc.want)
		})
	}
	_, err = os.Stat(plain)
	assert.NoError(t, err, "a file that is not a socket is left alone")

	p := startMantrid(t, "bind_management = 0.0.0.0:0\nmanagement_insecure = true\n", "")
	assert.Regexp(t, `level=WARN msg="the REST API is open to other machines without a token \(management_insecure = true\)" addr=0\.0\.0\.0:\d+`, p.Log())
	q := startMantrid(t, "bind_management = 0.0.0.0:0\nmanagement_token_file = "+writeToken(t, "tok", 0o600)+"\n", "")
	assert.NotContains(t, q.Log(), "open to other machines", "a token makes an open address fine")
}

// TestManagementUnixSocket: bind_management = unix:PATH serves the API on a
// socket of mode 0660 that mantrid-client reaches with --url unix:PATH; a
// socket left by a killed Mantrid is replaced at the next start.
func TestManagementUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "run", "api.sock") // the folder is created
	p := startMantrid(t, "bind_management = unix:"+sock+"\n", "")
	fi, err := os.Lstat(sock)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSocket, fi.Mode().Type())
	assert.Equal(t, fs.FileMode(0o660), fi.Mode().Perm(), "socket mode")
	assert.Contains(t, p.Log(), `msg="management API listening" addr=`+sock)

	url := "--url=unix:" + sock
	_, errOut, code := runClientWith(t, nil, url, "set", "u.test", "empty", "true", "code=410")
	require.Equal(t, 0, code, errOut)
	out, errOut, code := runClientWith(t, nil, url, "list")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `(?m)^u\.test\s+empty<410>\s+True\s*$`, out)
	resp, _ := newClient(t, p.addr()).get("u.test", "/")
	assert.Equal(t, 410, resp.StatusCode, "the rule set over the socket serves")

	// Any Host is taken over the socket: no browser can reach it.
	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "GET /hostname/u.test/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	hr, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	assert.Equal(t, 200, hr.StatusCode)

	require.NoError(t, p.cmd.Process.Kill())
	<-p.exited
	_, err = os.Lstat(sock)
	require.NoError(t, err, "a killed Mantrid leaves its socket behind")
	again := startMantridConf(t, filepath.Join(p.dir, "mantrid.conf"))
	assert.Contains(t, again.Log(), "removed a stale socket")
	out, errOut, code = runClientWith(t, nil, url, "get", "u.test")
	require.Equal(t, 0, code, errOut)
	assert.JSONEq(t, `["empty",{"code":410},true]`, out)
}

// TestManagementStalledBody: a request whose body stops arriving is cut
// off within 10 s; a body of 100 MB over loopback still goes through.
func TestManagementStalledBody(t *testing.T) {
	p := startMantrid(t, "", "")
	addr := strings.TrimPrefix(p.apiURL(), "http://")
	c := dial(t, addr)
	require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	start := time.Now()
	_, err := io.WriteString(c, "PUT /hostname/x.test/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, 400, resp.StatusCode, string(body))
	assert.Contains(t, string(body), api.CodeBodyUnreadable)
	_, err = br.ReadByte()
	assert.Equal(t, io.EOF, err, "the connection is closed")
	took := time.Since(start)
	assert.Less(t, took, 10*time.Second, "a stalled body is cut off within 10 s")
	t.Logf("stalled body cut off after %v", took.Round(time.Millisecond))

	// An import (PUT /state/) reads its whole body before parsing it; the
	// white space keeps the parsing short.
	var big bytes.Buffer
	big.WriteString(`{"hosts": {"big.test": ["empty", {"code": 204}, false], "big2.test": ["empty", {"code": 205}, false]},`)
	big.Write(bytes.Repeat([]byte(" "), 100<<20))
	big.WriteString(`"stats": {}}`)
	start = time.Now()
	a := apiCall(t, "PUT", p.apiURL()+"/state/", "", "", big.String())
	require.Equal(t, 200, a.status, a.body)
	t.Logf("100 MB PUT /state/ answered in %v", time.Since(start).Round(time.Millisecond))
	cl := newClient(t, p.addr())
	r, _ := cl.get("big2.test", "/")
	assert.Equal(t, 205, r.StatusCode)
}
