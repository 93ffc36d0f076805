package actions

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAppendEmpty(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		wantCode   int
		wantStatus string
		wantCL     bool
	}{
		{"200", 200, 200, "200 OK", true},
		{"402", 402, 402, "402 Payment Required", true},
		{"403", 403, 403, "403 Forbidden", true},
		{"404", 404, 404, "404 Not Found", true},
		{"413 RFC 9110 name", 413, 413, "413 Content Too Large", true},
		{"503", 503, 503, "503 Service Unavailable", true},
		{"599 unregistered", 599, 599, "599 ", true},
		{"418 unused", 418, 418, "418 ", true},
		{"205", 205, 205, "205 Reset Content", true},
		{"204 no Content-Length", 204, 204, "204 No Content", false},
		{"304 no Content-Length", 304, 304, "304 Not Modified", false},
		{"100", 100, 100, "100 Continue", false},
		{"103", 103, 103, "103 Early Hints", false},
		{"99 answered as 500", 99, 500, "500 Internal Server Error", true},
		{"600 answered as 500", 600, 500, "500 Internal Server Error", true},
		{"negative answered as 500", -1, 500, "500 Internal Server Error", true},
	}
	for _, tt := range tests {
		for _, keepAlive := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/keepAlive=%v", tt.name, keepAlive), func(t *testing.T) {
				raw := AppendEmpty(nil, tt.code, keepAlive)
				resp := readResponse(t, raw)
				assert.Equal(t, tt.wantCode, resp.StatusCode, "code %d: response %q", tt.code, raw)
				assert.Equal(t, tt.wantStatus, resp.Status, "code %d: response %q", tt.code, raw)
				wantClose := !keepAlive || tt.wantCode < 200
				assert.Equal(t, wantClose, resp.Close, "code %d keepAlive %v: response %q", tt.code, keepAlive, raw)
				assert.Equal(t, wantClose, bytes.Contains(raw, []byte("\r\nConnection: close\r\n")), "response %q", raw)
				assert.Equal(t, !wantClose, EmptyKeepsAlive(tt.code, keepAlive), "EmptyKeepsAlive(%d, %v)", tt.code, keepAlive)
				if tt.wantCL {
					assert.Equal(t, []string{"0"}, resp.Header.Values("Content-Length"), "response %q", raw)
					assert.Equal(t, int64(0), resp.ContentLength)
				} else {
					assert.Empty(t, resp.Header.Values("Content-Length"), "response %q", raw)
				}
			})
		}
	}
}

func TestAppendEmptyBytes(t *testing.T) {
	tests := []struct {
		code      int
		keepAlive bool
		want      string
	}{
		{403, false, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{402, true, "HTTP/1.1 402 Payment Required\r\nContent-Length: 0\r\n\r\n"},
		{204, true, "HTTP/1.1 204 No Content\r\n\r\n"},
		{304, false, "HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n"},
		{101, true, "HTTP/1.1 101 Switching Protocols\r\nConnection: close\r\n\r\n"},
		{599, true, "HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n"},
	}
	for _, tt := range tests {
		got := AppendEmpty([]byte("x"), tt.code, tt.keepAlive)
		assert.Equal(t, "x"+tt.want, string(got), "code %d keepAlive %v", tt.code, tt.keepAlive)
	}
}
