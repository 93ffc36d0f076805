package static

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
)

func FuzzPage(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\nContent-Type: text/plain\n\nhello",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nlonger",
		"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 503 Busy\nConnection: close, X-A\nX-A: 1\nKeep-Alive: 5\n",
		"HTTP/1.1 204 No Content\n\n",
		"HTTP/1.1 304\r\nETag: \"x\"\r\n\r\n",
		"HTTP/1.1 200 OK\nX : y\n\n",
		"HTTP/1.1 100 Continue\n\n",
		"\n\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := parse(data)
		if err != nil {
			return
		}
		for _, keepAlive := range []bool{true, false} {
			for _, head := range []bool{true, false} {
				raw := page.AppendTo(nil, keepAlive, head)
				if len(raw) != page.Size(keepAlive, head) {
					t.Fatalf("Size(%v, %v) = %d, AppendTo wrote %d", keepAlive, head, page.Size(keepAlive, head), len(raw))
				}
				checkRendered(t, data, raw, page, keepAlive, head)
			}
		}
	})
}

// checkRendered checks that net/http reads raw as exactly one response
// with the page's status, body and connection handling.
func checkRendered(t *testing.T, file, raw []byte, page *Page, keepAlive, head bool) {
	method := http.MethodGet
	if head {
		method = http.MethodHead
	}
	r := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(r, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("file %q renders to %q, which net/http rejects: %v", file, raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	rest, _ := io.ReadAll(r)
	switch {
	case err != nil:
		t.Fatalf("file %q renders to %q: reading the body: %v", file, raw, err)
	case resp.StatusCode != page.Status:
		t.Fatalf("file %q renders to %q: status %d, want %d", file, raw, resp.StatusCode, page.Status)
	case !head && !bytes.Equal(body, page.body):
		t.Fatalf("file %q renders to %q: body %q, want %q", file, raw, body, page.body)
	case head && len(body) != 0:
		t.Fatalf("file %q renders to %q: body in a HEAD answer", file, raw)
	case len(rest) != 0:
		t.Fatalf("file %q renders to %q: %q left after the response", file, raw, rest)
	case resp.Close == keepAlive:
		t.Fatalf("file %q renders to %q: Close=%v with keepAlive=%v", file, raw, resp.Close, keepAlive)
	}
}
