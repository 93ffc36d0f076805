package actions

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func redirectRule(to string) string {
	return `["redirect",{"redirect_to":` + jsonQuote(to) + `},false]`
}

func TestRedirectToValidation(t *testing.T) {
	long := "https://ep.io/" + strings.Repeat("a", MaxRedirectLen-len("https://ep.io/"))
	require.Len(t, long, MaxRedirectLen)
	runBoundCases(t, []boundCase{
		{"https", redirectRule("https://example.com"), true},
		{"http path query", redirectRule("http://example.com/a?b=c#d"), true},
		{"scheme upper case", redirectRule("HTTPS://example.com"), true},
		{"scheme port", redirectRule("http://example.com:8080/x"), true},
		{"scheme ipv6", redirectRule("http://[::1]:8080/x"), true},
		{"scheme query straight after host", redirectRule("https://ep.io?x=1"), true},
		{"schemeless host", redirectRule("ep.io"), true},
		{"schemeless host path", redirectRule("www.ep.io/landing"), true},
		{"schemeless host port", redirectRule("ep.io:8080"), true},
		{"schemeless host port path", redirectRule("ep.io:8080/x"), true},
		{"schemeless url in query", redirectRule("ep.io/go?to=http://x"), true},
		{"schemeless trailing slash", redirectRule("ep.io/"), true},
		{"2047 bytes", redirectRule(long[:MaxRedirectLen-1]), true},
		{"2048 bytes", redirectRule(long), true},
		{"2049 bytes", redirectRule(long + "a"), false},
		{"empty", redirectRule(""), false},
		{"ftp", redirectRule("ftp://example.com"), false},
		{"javascript", redirectRule("javascript:alert(1)"), false},
		{"mailto", redirectRule("mailto:a@b"), false},
		{"scheme no host", redirectRule("https://"), false},
		{"scheme no host path", redirectRule("https:///x"), false},
		{"scheme empty host port", redirectRule("https://:80/x"), false},
		{"scheme port 0", redirectRule("https://ep.io:0/"), false},
		{"scheme port 65536", redirectRule("https://ep.io:65536/"), false},
		{"scheme userinfo", redirectRule("https://user@evil.com"), false},
		{"scheme relative", redirectRule("//evil.com"), false},
		{"path only", redirectRule("/x"), false},
		{"schemeless query", redirectRule("ep.io?x=1"), false},
		{"schemeless underscore", redirectRule("a_b.io"), false},
		{"space", redirectRule("https://ep.io/a b"), false},
		{"CR", redirectRule("https://ep.io/\r"), false},
		{"LF", redirectRule("https://ep.io/\nSet-Cookie: a=b"), false},
		{"CRLF", redirectRule("https://ep.io\r\nX: y"), false},
		{"NUL", redirectRule("https://ep.io/\x00"), false},
		{"tab", redirectRule("https://ep.io/\t"), false},
		{"DEL", redirectRule("https://ep.io/\x7f"), false},
		{"non-ASCII", redirectRule("https://bücher.de"), false},
	})
}

// readResponse parses raw with net/http.ReadResponse and checks that it is
// exactly one response: nothing is left over.
func readResponse(t *testing.T, raw []byte) *http.Response {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err, "response %q", raw)
	require.NoError(t, resp.Body.Close())
	rest, _ := br.Peek(br.Buffered())
	assert.Empty(t, rest, "response %q: bytes after the response", raw)
	return resp
}

func TestAppendRedirect(t *testing.T) {
	tests := []struct {
		name, to, path string
		https          bool
		want           string
	}{
		{"scheme kept over http", "https://example.com", "/a", false, "https://example.com/a"},
		{"scheme kept over https", "http://example.com", "/a", true, "http://example.com/a"},
		{"schemeless over http", "ep.io", "/a", false, "http://ep.io/a"},
		{"schemeless over https", "ep.io", "/a", true, "https://ep.io/a"},
		{"schemeless path", "www.ep.io/landing", "/a", true, "https://www.ep.io/landing/a"},
		{"query kept", "https://ep.io", "/search?q=a&b=c%20d", false, "https://ep.io/search?q=a&b=c%20d"},
		{"root path", "https://ep.io", "/", false, "https://ep.io/"},
		{"empty path", "https://ep.io", "", false, "https://ep.io/"},
		{"trailing slashes trimmed", "https://ep.io///", "/x", false, "https://ep.io/x"},
		{"leading slashes trimmed", "https://ep.io/", "///evil.com/x", false, "https://ep.io/evil.com/x"},
		{"target trailing slash kept on path", "https://ep.io/base/", "/x/", false, "https://ep.io/base/x/"},
		{"upper-case scheme not doubled", "HTTP://ep.io", "/x", true, "HTTP://ep.io/x"},
		{"schemeless port", "ep.io:8080", "/x", false, "http://ep.io:8080/x"},
	}
	for _, tt := range tests {
		for _, keepAlive := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/keepAlive=%v", tt.name, keepAlive), func(t *testing.T) {
				r := requireRule(t, redirectRule(tt.to))
				raw := r.AppendRedirect(nil, []byte(tt.path), tt.https, keepAlive)
				resp := readResponse(t, raw)
				assert.Equal(t, 302, resp.StatusCode, "to %q path %q: response %q", tt.to, tt.path, raw)
				assert.Equal(t, "302 Found", resp.Status)
				assert.Equal(t, tt.want, resp.Header.Get("Location"), "to %q path %q https %v", tt.to, tt.path, tt.https)
				assert.Equal(t, int64(0), resp.ContentLength)
				assert.Equal(t, []string{"0"}, resp.Header.Values("Content-Length"))
				assert.Equal(t, !keepAlive, resp.Close, "keepAlive %v: response %q", keepAlive, raw)
				assert.Equal(t, !keepAlive, bytes.Contains(raw, []byte("\r\nConnection: close\r\n")), "keepAlive %v: response %q", keepAlive, raw)
				// ReadResponse takes "Connection: close" out of Header.
				assert.Len(t, resp.Header, 2, "headers %v", resp.Header)
			})
		}
	}
}

func TestAppendRedirectBytes(t *testing.T) {
	r := requireRule(t, redirectRule("ep.io/"))
	got := r.AppendRedirect([]byte("prefix|"), []byte("/a?b=c"), true, false)
	assert.Equal(t, "prefix|HTTP/1.1 302 Found\r\nLocation: https://ep.io/a?b=c\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", string(got))
	got = r.AppendRedirect(nil, []byte("/"), false, true)
	assert.Equal(t, "HTTP/1.1 302 Found\r\nLocation: http://ep.io/\r\nContent-Length: 0\r\n\r\n", string(got))
}

// TestAppendRedirectEncodesInvisible checks the second line of defence: a
// path or hand-built target with bytes the parser should have refused is
// percent-encoded rather than written raw.
func TestAppendRedirectEncodesInvisible(t *testing.T) {
	r := &Rule{Kind: Redirect, RedirectTo: "https://ep.io/\r\nX-A: b"}
	got := r.AppendRedirect(nil, []byte("/a b\r\nSet-Cookie: c=d\x00\xff"), false, true)
	want := "HTTP/1.1 302 Found\r\nLocation: https://ep.io/%0D%0AX-A:%20b/a%20b%0D%0ASet-Cookie:%20c=d%00%FF\r\nContent-Length: 0\r\n\r\n"
	assert.Equal(t, want, string(got))
	resp := readResponse(t, got)
	assert.Empty(t, resp.Header.Values("Set-Cookie"))
	assert.Empty(t, resp.Header.Values("X-A"))
}
