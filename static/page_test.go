package static

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readBack parses what AppendTo sent with net/http, as a client would.
func readBack(t *testing.T, raw []byte, head bool) (*http.Response, []byte) {
	t.Helper()
	req := &http.Request{Method: http.MethodGet}
	if head {
		req.Method = http.MethodHead
	}
	r := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(r, req)
	require.NoError(t, err, "net/http reads %q", raw)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "net/http reads the body of %q", raw)
	rest, _ := io.ReadAll(r)
	assert.Empty(t, rest, "bytes after the response in %q", raw)
	return resp, body
}

func TestParsePage(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		status  int
		fields  string // rendered status line and fields
		body    string
		wantErr string
	}{
		{name: "CRLF file", file: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
			status: 200, fields: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n", body: "hello\r\n"},
		{name: "LF file", file: "HTTP/1.1 404 Not Found\nContent-Type: text/plain\n\nmissing\n",
			status: 404, fields: "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n", body: "missing\n"},
		{name: "mixed line endings, LF kept in body", file: "HTTP/1.0 200 OK\r\nA: 1\nB:  2 \r\n\nx\r\ny\n",
			status: 200, fields: "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 5\r\n", body: "x\r\ny\n"},
		{name: "Content-Length lies", file: "HTTP/1.1 200 OK\nContent-Length: 2\n\nlonger body",
			status: 200, fields: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n", body: "longer body"},
		{name: "chunked is re-framed", file: "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX: y\n\nraw",
			status: 200, fields: "HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 3\r\n", body: "raw"},
		{name: "hop-by-hop fields dropped", file: "HTTP/1.1 200 OK\nConnection: close, X-Hop\nKeep-Alive: timeout=5\nX-Hop: 1\nX-End: 2\n\n",
			status: 200, fields: "HTTP/1.1 200 OK\r\nX-End: 2\r\nContent-Length: 0\r\n"},
		{name: "no empty line", file: "HTTP/1.1 503 Busy\nRetry-After: 1",
			status: 503, fields: "HTTP/1.1 503 Busy\r\nRetry-After: 1\r\nContent-Length: 0\r\n"},
		{name: "empty reason", file: "HTTP/1.1 500\n\nx", status: 500, fields: "HTTP/1.1 500 \r\nContent-Length: 1\r\n", body: "x"},
		{name: "204 without body", file: "HTTP/1.1 204 No Content\nContent-Length: 0\n\n", status: 204, fields: "HTTP/1.1 204 No Content\r\n"},
		{name: "204 with body", file: "HTTP/1.1 204 No Content\n\nx", wantErr: "must not have a body"},
		{name: "1xx", file: "HTTP/1.1 100 Continue\n\n", wantErr: "not a final response"},
		{name: "empty file", file: "", wantErr: "invalid head"},
		{name: "not HTTP", file: "<html></html>\n", wantErr: "malformed status line"},
		{name: "leading empty line", file: "\nHTTP/1.1 200 OK\n\n", wantErr: "invalid head"},
		{name: "space before colon", file: "HTTP/1.1 200 OK\nX : y\n\n", wantErr: "whitespace before colon"},
		{name: "obs-fold", file: "HTTP/1.1 200 OK\nX: y\n z\n\n", wantErr: "obsolete line folding"},
		{name: "bare CR", file: "HTTP/1.1 200 OK\nX: a\rb\n\n", wantErr: "bare CR"},
		{name: "NUL", file: "HTTP/1.1 200 OK\nX: \x00\n\n", wantErr: "invalid byte"},
		{name: "gzip", file: "HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\n", wantErr: "unsupported transfer coding"},
		{name: "too large", file: "HTTP/1.1 200 OK\n\n" + strings.Repeat("x", MaxPageSize), wantErr: "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := parse([]byte(tc.file))
			if tc.wantErr != "" {
				require.Error(t, err, "file %q", tc.file)
				assert.Contains(t, err.Error(), tc.wantErr, "file %q", tc.file)
				return
			}
			require.NoError(t, err, "file %q", tc.file)
			assert.Equal(t, tc.status, page.Status)
			got := string(page.AppendTo(nil, true, false))
			want := tc.fields + "\r\n" + tc.body
			assert.Equal(t, want, got, "file %q", tc.file)
			resp, body := readBack(t, []byte(got), false)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.body, string(body))
		})
	}
}

func TestAppendToVariants(t *testing.T) {
	page, err := parse([]byte("HTTP/1.1 200 OK\nContent-Type: text/plain\n\nhello"))
	require.NoError(t, err)
	for _, tc := range []struct {
		keepAlive, head bool
		want            string
	}{
		{true, false, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"},
		{false, false, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"},
		{true, true, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"},
		{false, true, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"},
	} {
		got := page.AppendTo([]byte("prefix"), tc.keepAlive, tc.head)
		assert.Equal(t, "prefix"+tc.want, string(got), "keepAlive=%v head=%v", tc.keepAlive, tc.head)
		assert.Equal(t, len(tc.want), page.Size(tc.keepAlive, tc.head), "Size(%v, %v)", tc.keepAlive, tc.head)
		resp, body := readBack(t, got[len("prefix"):], tc.head)
		assert.Equal(t, !tc.keepAlive, resp.Close, "keepAlive=%v head=%v", tc.keepAlive, tc.head)
		assert.Equal(t, int64(5), resp.ContentLength)
		if tc.head {
			assert.Empty(t, body)
		} else {
			assert.Equal(t, "hello", string(body))
		}
	}
}
