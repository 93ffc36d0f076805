package mgmt

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostAllowed(t *testing.T) {
	a := newAccess("", []string{"api.example", "10.0.0.5", "fd00::1", "[FD00::2]", "Upper.Example."})
	for _, tt := range []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST:8042", true},
		{"localhost.", true},
		{"127.0.0.1", true},
		{"127.0.0.1:8042", true},
		{"127.5.6.7:1", true},
		{"[::1]", true},
		{"[::1]:8042", true},
		{"::1", true},
		{"[::ffff:127.0.0.1]:8042", true},
		{"api.example", true},
		{"API.example.:8042", true},
		{"upper.example", true},
		{"10.0.0.5:8042", true},
		{"[fd00::1]:8042", true},
		{"[fd00:0::2]", true},
		{"", false},
		{"evil.example", false},
		{"evil.example:8042", false},
		{"localhost.evil.example", false},
		{"127.0.0.1.evil.example", false},
		{"app.localhost", false},
		{"0.0.0.0", false},
		{"10.0.0.6:8042", false},
		{"[::2]:8042", false},
		{"2130706433", false},
		{"[::1", false},
		{"[::1]x", false},
		{"[::1]:", false},
		{"[::1]:80a", false},
		{"localhost:", false},
		{"localhost:abc", false},
		{"localhost:123456", false},
		{"127.0.0.1:80:80", false},
		{"api.example.evil", false},
	} {
		assert.Equal(t, tt.want, a.hostAllowed(tt.host), "Host %q", tt.host)
	}
}

func TestCheckHosts(t *testing.T) {
	for _, ok := range [][]string{nil, {"api.example"}, {"10.0.0.1", "[fd00::1]", "fd00::2", "a-b_c.example."}} {
		assert.NoError(t, CheckHosts(ok), "%q", ok)
	}
	for _, bad := range [][]string{{""}, {"api.example:8042"}, {"http://api.example"}, {"a b"}, {"api.example/x"}, {"ok.example", "é.example"}} {
		assert.Error(t, CheckHosts(bad), "%q", bad)
	}
}

// apiError decodes an API error body.
func apiError(t *testing.T, body []byte) api.Error {
	t.Helper()
	var e api.Error
	require.NoError(t, json.Unmarshal(body, &e), "body %q", body)
	return e
}

func TestAdmitToken(t *testing.T) {
	const token = "s3cret-token"
	withToken, _ := newTestServer(t, ServerOptions{Token: token})
	without, _ := newTestServer(t, ServerOptions{})
	for _, tt := range []struct {
		name      string
		s         *Server
		auth      []string
		status    int
		challenge string
	}{
		{"no token needed", without, nil, 200, ""},
		{"no token needed, one sent", without, []string{"Bearer whatever"}, 200, ""},
		{"none sent", withToken, nil, 401, `Bearer realm="mantrid"`},
		{"right", withToken, []string{"Bearer " + token}, 200, ""},
		{"scheme in any case, spaces", withToken, []string{"bEARER   " + token}, 200, ""},
		{"wrong", withToken, []string{"Bearer wrong"}, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"prefix of it", withToken, []string{"Bearer " + token[:len(token)-1]}, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"longer", withToken, []string{"Bearer " + token + "x"}, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"other scheme", withToken, []string{"Basic " + token}, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"scheme alone", withToken, []string{"Bearer"}, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"empty", withToken, []string{""}, 401, `Bearer realm="mantrid", error="invalid_token"`},
		{"twice", withToken, []string{"Bearer " + token, "Bearer " + token}, 401, `Bearer realm="mantrid", error="invalid_token"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{"GET", "PUT"} {
				req, err := http.NewRequest(method, "http://localhost:8042/hostname/ep.io/", nil)
				require.NoError(t, err)
				if method == "PUT" {
					req.Body, req.ContentLength = io.NopCloser(strings.NewReader(proxyRule)), int64(len(proxyRule))
				}
				for _, v := range tt.auth {
					req.Header.Add("Authorization", v)
				}
				w := httptest.NewRecorder()
				tt.s.Handler().ServeHTTP(w, req)
				assert.Equal(t, tt.status, w.Code, "%s with %q: %s", method, tt.auth, w.Body)
				assert.Equal(t, tt.challenge, w.Header().Get("WWW-Authenticate"), "%s with %q", method, tt.auth)
				if tt.status == 401 {
					assert.Equal(t, api.CodeUnauthorized, apiError(t, w.Body.Bytes()).Code)
					assert.Equal(t, "close", w.Header().Get("Connection"), "a refused request's connection closes")
				}
			}
		})
	}
}

func TestAdmitHost(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{Token: "tok", Hosts: []string{"api.example"}})
	for _, tt := range []struct {
		host   string
		status int
	}{
		{"localhost:8042", 200},
		{"127.0.0.1:8042", 200},
		{"[::1]:8042", 200},
		{"api.example:8042", 200},
		{"evil.example:8042", 403},
		{"", 403},
	} {
		req, err := http.NewRequest("GET", "http://localhost:8042/hostname/", nil)
		require.NoError(t, err)
		req.Host = tt.host
		req.Header.Set("Authorization", "Bearer tok")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		require.Equal(t, tt.status, w.Code, "Host %q: %s", tt.host, w.Body)
		if tt.status == 403 {
			assert.Equal(t, api.CodeHostNotAllowed, apiError(t, w.Body.Bytes()).Code, "Host %q", tt.host)
		}
	}
	req, err := http.NewRequest("GET", "http://evil.example:8042/hostname/", nil)
	require.NoError(t, err)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	assert.Equal(t, 403, w.Code, "a foreign Host is refused before the token is asked for")
}

// serveOn serves s on a new listener of network at addr until the test
// ends, and returns the listener's address.
func serveOn(t *testing.T, s *Server, network, addr string) string {
	t.Helper()
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// exchange sends raw on a new connection to addr and reads one answer.
func exchange(t *testing.T, network, addr, raw string) (*http.Response, api.Error) {
	t.Helper()
	c, err := net.Dial(network, addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var e api.Error
	if resp.StatusCode != 200 {
		e = apiError(t, body)
	}
	return resp, e
}

// TestUnixSocketTakesAnyHost: over a Unix socket, which a browser cannot
// reach, any Host is taken; the token is still needed.
func TestUnixSocketTakesAnyHost(t *testing.T) {
	for _, token := range []string{"", "tok"} {
		s, _ := newTestServer(t, ServerOptions{Token: token})
		sock := serveOn(t, s, "unix", filepath.Join(t.TempDir(), "api.sock"))
		tcp := serveOn(t, s, "tcp", "127.0.0.1:0")
		auth := ""
		if token != "" {
			auth = "Authorization: Bearer " + token + "\r\n"
			resp, e := exchange(t, "unix", sock, "GET /stats/ HTTP/1.1\r\nHost: evil.example\r\n\r\n")
			assert.Equal(t, 401, resp.StatusCode, "no token over the Unix socket")
			assert.Equal(t, api.CodeUnauthorized, e.Code)
		}
		resp, _ := exchange(t, "unix", sock, "GET /stats/ HTTP/1.1\r\nHost: evil.example\r\n"+auth+"\r\n")
		assert.Equal(t, 200, resp.StatusCode, "token %q: any Host over the Unix socket", token)
		resp, e := exchange(t, "tcp", tcp, "GET /stats/ HTTP/1.1\r\nHost: evil.example\r\n"+auth+"\r\n")
		assert.Equal(t, 403, resp.StatusCode, "token %q: a foreign Host over TCP", token)
		assert.Equal(t, api.CodeHostNotAllowed, e.Code)
		assert.True(t, resp.Close, "a refused request's connection closes")
	}
}
