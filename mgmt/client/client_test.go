package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, in, wantURL, wantErr string
	}{
		{name: "default", in: api.DefaultURL, wantURL: "http://localhost:8042"},
		{name: "trailing slash", in: "http://localhost:8042/", wantURL: "http://localhost:8042"},
		{name: "https with prefix", in: "https://lb.example:8443/mantrid/", wantURL: "https://lb.example:8443/mantrid"},
		{name: "upper-case scheme", in: "HTTP://localhost:8042", wantURL: "http://localhost:8042"},
		{name: "password redacted", in: "http://op:secret@localhost:8042", wantURL: "http://op:xxxxx@localhost:8042"},
		{name: "no scheme", in: "localhost:8042", wantErr: "must start with http:// or https://"},
		{name: "ftp", in: "ftp://localhost:8042", wantErr: "must start with http:// or https://"},
		{name: "no host", in: "http:///hostname", wantErr: "has no host"},
		{name: "query", in: "http://localhost:8042/?x=1", wantErr: "must not have a query or fragment"},
		{name: "fragment", in: "http://localhost:8042/#top", wantErr: "must not have a query or fragment"},
		{name: "unparsable", in: "http://[::1", wantErr: `invalid URL "http://[::1"`},
		{name: "control byte", in: "http://local\nhost", wantErr: `invalid URL "http://local?host"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err, "New(%q) = nil error, want %q", tt.in, tt.wantErr)
				assert.Contains(t, err.Error(), tt.wantErr, "New(%q)", tt.in)
				return
			}
			require.NoError(t, err, "New(%q)", tt.in)
			assert.Equal(t, tt.wantURL, c.URL(), "New(%q).URL()", tt.in)
		})
	}
}

func TestPathPrefix(t *testing.T) {
	f := newFakeAPI(t, answer{Status: 200, Body: `{}`})
	c, err := New(f.URL + "/mantrid/")
	require.NoError(t, err)
	_, err = c.Rules(t.Context())
	require.NoError(t, err)
	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, "/mantrid/hostname/", got[0].URI, "request target with base path /mantrid/")
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		answer  answer
		check   func(t *testing.T, err error)
		wantMsg string
	}{
		{
			name:    "api error",
			answer:  answer{Status: 400, Body: `{"error":"host_action_invalid","detail":"action must be one of ...","host":"ep.io"}`},
			wantMsg: `host_action_invalid: action must be one of ... (host "ep.io")`,
			check: func(t *testing.T, err error) {
				var se *ServerError
				require.ErrorAs(t, err, &se)
				assert.Equal(t, 400, se.Status, "status")
				assert.Equal(t, "host_action_invalid", se.API.Code, "code")
				var ae *api.Error
				require.ErrorAs(t, err, &ae, "a ServerError unwraps to *api.Error")
				assert.Equal(t, "ep.io", ae.Host)
			},
		},
		{
			name:    "api error without detail",
			answer:  answer{Status: 404, Body: `{"error":"not_found"}`},
			wantMsg: "not_found",
		},
		{
			name:    "not the api",
			answer:  answer{Status: 502, Body: `<html>Bad Gateway</html>`},
			wantMsg: "answered 502 Bad Gateway: the body is not an API error (is the URL right?)",
			check: func(t *testing.T, err error) {
				var pe *ProtocolError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, 502, pe.Status)
			},
		},
		{
			name:    "error body without code",
			answer:  answer{Status: 500, Body: `{"detail":"x"}`},
			wantMsg: "answered 500 Internal Server Error: the body is not an API error",
		},
		{
			name:    "200 but not JSON",
			answer:  answer{Status: 200, Body: `<html>hello</html>`},
			wantMsg: "answered 200 OK: the answer is not the JSON the API sends",
		},
		{
			name:    "200 but null",
			answer:  answer{Status: 200, Body: `null`},
			wantMsg: "answered 200 OK: the rules are not a JSON object",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, tt.answer)
			c, err := New(f.URL)
			require.NoError(t, err)
			_, err = c.Rules(t.Context())
			require.Error(t, err, "answer %+v", tt.answer)
			assert.Contains(t, err.Error(), tt.wantMsg, "answer %+v", tt.answer)
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestUnreachable(t *testing.T) {
	base := "http://" + closedAddr(t)
	c, err := New(base)
	require.NoError(t, err)
	err = c.Delete(t.Context(), "ep.io")
	var ne *NetError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "cannot reach Mantrid at "+base+": connection refused", err.Error())
}

func TestTimeout(t *testing.T) {
	hang := make(chan struct{})
	f := newFakeAPI(t)
	f.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang })
	defer close(hang)
	c, err := New(f.URL)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Stats(ctx)
	var ne *NetError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "cannot reach Mantrid at "+f.URL+": timed out", err.Error())
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "errors.Is(%v, DeadlineExceeded)", err)
}

func TestNoHost(t *testing.T) {
	f := newFakeAPI(t)
	c, err := New(f.URL)
	require.NoError(t, err)
	ctx := t.Context()
	for _, host := range []string{"", ".", ".."} {
		_, err := c.Get(ctx, host)
		assert.ErrorIs(t, err, ErrNoHost, "Get(%q)", host)
		assert.ErrorIs(t, c.Set(ctx, host, json.RawMessage(`["spin",{},false]`)), ErrNoHost, "Set(%q)", host)
		assert.ErrorIs(t, c.Delete(ctx, host), ErrNoHost, "Delete(%q)", host)
		_, _, err = c.HostStats(ctx, host)
		assert.ErrorIs(t, err, ErrNoHost, "HostStats(%q)", host)
	}
	assert.Empty(t, f.requests(), "nothing is sent for an invalid host")
}

func TestNewUnixAndToken(t *testing.T) {
	c, err := New("unix:/run/mantrid/api.sock")
	require.NoError(t, err)
	assert.Equal(t, "unix:/run/mantrid/api.sock", c.URL())
	_, err = New("unix:")
	assert.ErrorContains(t, err, "the socket's path is missing")
	for _, bad := range []string{"two words", "line\nbreak", "é"} {
		_, err = New(api.DefaultURL, WithToken(bad))
		assert.Error(t, err, "token %q", bad)
	}
}

// TestUnixSocket talks to an API on a Unix socket, with a token: every
// request carries "Host: localhost" and the token.
func TestUnixSocket(t *testing.T) {
	type seen struct{ uri, host, auth string }
	got := make(chan seen, 10)
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.RequestURI, r.Host, r.Header.Get("Authorization")}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c, err := New("unix:"+sock, WithToken("s3cret"))
	require.NoError(t, err)
	_, err = c.Rules(t.Context())
	require.NoError(t, err)
	_, err = c.Stats(t.Context())
	require.NoError(t, err)
	for _, uri := range []string{"/hostname/", "/stats/"} {
		assert.Equal(t, seen{uri, "localhost", "Bearer s3cret"}, <-got)
	}

	require.NoError(t, srv.Close())
	_, err = os.Stat(sock)
	require.ErrorIs(t, err, os.ErrNotExist, "closing the listener removed the socket")
	_, err = c.Rules(t.Context())
	var ne *NetError
	require.ErrorAs(t, err, &ne)
	assert.Contains(t, err.Error(), "cannot reach Mantrid at unix:"+sock+": ")
}
