package httpparse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type validRequestCase struct {
	name string
	in   string
	n    int // head length; 0 means len(in)
	want reqView
}

// get11 is the view of a plain HTTP/1.1 GET / for host h with the given
// field lines.
func get11(target, host string, headers ...string) reqView {
	return reqView{
		Method: "GET", Target: target, Path: target, Host: host, Minor: 1,
		Headers: headers, ContentLength: -1, KeepAlive: true,
	}
}

func with(v reqView, f func(*reqView)) reqView {
	f(&v)
	return v
}

var validRequests = []validRequestCase{
	{name: "origin-form GET", in: "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: get11("/a/b?c=d", "example.com", "Host: example.com")},
	{name: "body bytes after the head are not consumed", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", n: 47,
		want: with(get11("/", "a", "Host: a", "Content-Length: 3"), func(v *reqView) { v.Method, v.ContentLength = "POST", 3 })},
	{name: "pipelined request after the head", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n", n: 27,
		want: get11("/", "a", "Host: a")},
	{name: "HTTP/1.0 without Host", in: "GET / HTTP/1.0\r\n\r\n",
		want: reqView{Method: "GET", Target: "/", Path: "/", Headers: []string{}, ContentLength: -1}},
	{name: "HTTP/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		want: reqView{Method: "GET", Target: "/", Path: "/", Headers: []string{"Connection: Keep-Alive"}, ContentLength: -1, KeepAlive: true}},
	{name: "HTTP/1.1 Connection close", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Connection: keep-alive, CLOSE"), func(v *reqView) { v.KeepAlive = false })},
	{name: "Connection with empty elements", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: ,, close ,\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Connection: ,, close ,"), func(v *reqView) { v.KeepAlive = false })},
	{name: "one leading empty line", in: "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		want: get11("/", "a", "Host: a")},
	{name: "four leading empty lines", in: "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		want: get11("/", "a", "Host: a")},
	{name: "absolute-form with path", in: "GET http://Example.com:8080/p?q HTTP/1.1\r\nHost: example.COM:8080\r\n\r\n",
		want: with(get11("http://Example.com:8080/p?q", "Example.com:8080", "Host: example.COM:8080"), func(v *reqView) {
			v.Path, v.AbsoluteForm = "/p?q", true
		})},
	{name: "absolute-form https without path", in: "GET HTTPS://a.b HTTP/1.1\r\nHost: a.b\r\n\r\n",
		want: with(get11("HTTPS://a.b", "a.b", "Host: a.b"), func(v *reqView) { v.Path, v.AbsoluteForm = "/", true })},
	{name: "absolute-form HTTP/1.0 without Host", in: "GET http://a.b/x HTTP/1.0\r\n\r\n",
		want: reqView{Method: "GET", Target: "http://a.b/x", Path: "/x", Host: "a.b", Headers: []string{}, ContentLength: -1, AbsoluteForm: true}},
	{name: "OPTIONS asterisk-form", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		want: with(get11("*", "a", "Host: a"), func(v *reqView) { v.Method = "OPTIONS" })},
	{name: "extension method", in: "M-SEARCH /x HTTP/1.1\r\nHost: a\r\n\r\n",
		want: with(get11("/x", "a", "Host: a"), func(v *reqView) { v.Method = "M-SEARCH" })},
	{name: "chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Transfer-Encoding: CHUNKED"), func(v *reqView) { v.Method, v.Chunked = "POST", true })},
	{name: "Content-Length 18 digits", in: "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Content-Length: 999999999999999999"), func(v *reqView) {
			v.Method, v.ContentLength = "PUT", 999999999999999999
		})},
	{name: "Content-Length leading zeros", in: "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Content-Length: 007"), func(v *reqView) { v.Method, v.ContentLength = "PUT", 7 })},
	{name: "websocket upgrade", in: "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		want: with(get11("/ws", "a", "Host: a", "Connection: Upgrade", "Upgrade: websocket"), func(v *reqView) { v.Upgrade = true })},
	{name: "Upgrade without Connection upgrade", in: "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
		want: get11("/", "a", "Host: a", "Upgrade: websocket")},
	{name: "Expect 100-continue", in: "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Expect: 100-Continue", "Content-Length: 1"), func(v *reqView) {
			v.Method, v.Expect100, v.ContentLength = "PUT", true, 1
		})},
	{name: "Expect ignored in HTTP/1.0", in: "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
		want: reqView{Method: "GET", Target: "/", Path: "/", Headers: []string{"Expect: 100-continue"}, ContentLength: -1}},
	{name: "OWS trimmed, empty value, obs-text, inner HTAB", in: "GET / HTTP/1.1\r\nHost:a\r\nX-Empty:\r\nX-Pad: \t v \t \r\nX-Text: caf\xc3\xa9 \tend\r\n\r\n",
		want: get11("/", "a", "Host: a", "X-Empty: ", "X-Pad: v", "X-Text: caf\xc3\xa9 \tend")},
	{name: "IPv6 host with port", in: "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n",
		want: get11("/", "[2001:db8::1]:8080", "Host: [2001:db8::1]:8080")},
	{name: "absolute-form IPv6", in: "GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		want: with(get11("http://[::1]:8080/x", "[::1]:8080", "Host: [::1]:8080"), func(v *reqView) { v.Path, v.AbsoluteForm = "/x", true })},
	{name: "IPv4 host", in: "GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n",
		want: get11("/", "192.0.2.1", "Host: 192.0.2.1")},
	{name: "HEAD with Content-Length 0", in: "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Content-Length: 00"), func(v *reqView) { v.Method, v.ContentLength = "HEAD", 0 })},
	{name: "GET keeps its body", in: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", n: 46,
		want: with(get11("/", "a", "Host: a", "Content-Length: 5"), func(v *reqView) { v.ContentLength = 5 })},
	{name: "chunked OPTIONS", in: "OPTIONS / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		want: with(get11("/", "a", "Host: a", "Transfer-Encoding: chunked"), func(v *reqView) { v.Method, v.Chunked = "OPTIONS", true })},
	{name: "percent-encoded path and raw percent in query", in: "GET /a%20b?q=100% HTTP/1.1\r\nHost: a\r\n\r\n",
		want: get11("/a%20b?q=100%", "a", "Host: a")},
}

func TestParseRequestValid(t *testing.T) {
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.n
			if want == 0 {
				want = len(tc.in)
			}
			got := wholeRequest([]byte(tc.in), Limits{})
			require.NoError(t, got.Err, "input %q", tc.in)
			assert.Equal(t, want, got.N, "head length of %q", tc.in)
			assert.Equal(t, &tc.want, got.Req, "input %q", tc.in)
		})
	}
}

type invalidCase struct {
	name string
	in   string
	want *Error
}

var invalidRequests = []invalidCase{
	// Line endings (RFC 9112 §2.2).
	{"bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", ErrBareLF},
	{"bare LF ending a field line", "GET / HTTP/1.1\r\nHost: a\n\r\n", ErrBareLF},
	{"bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", ErrBareLF},
	{"bare LF as a leading line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBareLF},
	{"bare LF in a field name", "GET / HTTP/1.1\r\nHo\nst: a\r\n\r\n", ErrBareLF},
	{"bare LF in the method", "GE\nT / HTTP/1.1\r\n\r\n", ErrBareLF},
	{"bare CR in the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", ErrBareCR},
	{"bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", ErrBareCR},
	{"bare CR before CR LF", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\r\n\r\n", ErrBareCR},
	{"bare CR in a field name", "GET / HTTP/1.1\r\nX\r: a\r\n\r\n", ErrBareCR},
	{"bare CR at the end of the head", "GET / HTTP/1.1\r\nHost: a\r\n\rX", ErrBareCR},
	{"fifth leading empty line", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	// Field lines (RFC 9112 §5, RFC 9110 §5).
	{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", ErrObsFold},
	{"obs-fold with HTAB", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", ErrObsFold},
	{"whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", ErrObsFold},
	{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrSpaceBeforeColon},
	{"HTAB before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ErrSpaceBeforeColon},
	{"empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", ErrBadHeaderName},
	{"non-tchar in field name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n", ErrBadHeaderName},
	{"obs-text in field name", "GET / HTTP/1.1\r\nHost: a\r\nX\xe9: z\r\n\r\n", ErrBadHeaderName},
	{"field line without colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", ErrMissingColon},
	{"NUL in field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", ErrBadHeaderValue},
	{"DEL in field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", ErrBadHeaderValue},
	{"control byte in field value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n", ErrBadHeaderValue},
	{"LF in field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", ErrBareLF},
	{"CR in field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", ErrBareCR},
	// Request line (RFC 9112 §3).
	{"two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"two spaces after the target", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"HTTP/0.9 request line", "GET /\r\n\r\n", ErrBadRequestLine},
	{"method only", "GET\r\n\r\n", ErrBadRequestLine},
	{"leading space", " GET / HTTP/1.1\r\n\r\n", ErrBadRequestLine},
	{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"short version", "GET / HTTP/1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"long version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"two-digit major", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", ErrVersionNotSupported},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", ErrVersionNotSupported},
	{"HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", ErrVersionNotSupported},
	{"non-tchar in method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadMethod},
	{"NUL in method", "GE\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadMethod},
	{"fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"obs-text in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"HTAB in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"bad percent-encoding", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"truncated percent-encoding", "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"percent-encoding cut by query", "GET /a%4?b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"asterisk-form with GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"other scheme", "GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"absolute-form with query and no path", "GET http://a?b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"absolute-form with userinfo", "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadHost},
	{"absolute-form without host", "GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadHost},
	{"absolute-form bad percent-encoding", "GET http://a/%g0 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", ErrConnectNotSupported},
	{"authority-form with GET", "GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", ErrConnectNotSupported},
	// Host (RFC 9112 §3.2, RFC 9110 §7.2).
	{"missing Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", ErrMissingHost},
	{"missing Host with absolute-form", "GET http://a/ HTTP/1.1\r\n\r\n", ErrMissingHost},
	{"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", ErrDuplicateHost},
	{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", ErrBadHost},
	{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", ErrBadHost},
	{"Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", ErrBadHost},
	{"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ErrBadHost},
	{"Host with empty port", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", ErrBadHost},
	{"Host with port out of range", "GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", ErrBadHost},
	{"Host with two ports", "GET / HTTP/1.1\r\nHost: a:80:80\r\n\r\n", ErrBadHost},
	{"Host with port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", ErrBadHost},
	{"Host with pct-encoding", "GET / HTTP/1.1\r\nHost: %61\r\n\r\n", ErrBadHost},
	{"Host IPv6 unterminated", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", ErrBadHost},
	{"Host IPv4 in brackets", "GET / HTTP/1.1\r\nHost: [192.0.2.1]\r\n\r\n", ErrBadHost},
	{"Host IPv6 zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", ErrBadHost},
	{"Host differs from absolute-form", "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", ErrHostMismatch},
	{"Host differs in port from absolute-form", "GET http://a:81/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrHostMismatch},
	// Content-Length (RFC 9110 §8.6, RFC 9112 §6.3).
	{"Content-Length not a number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", ErrBadContentLength},
	{"Content-Length negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", ErrBadContentLength},
	{"Content-Length with plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", ErrBadContentLength},
	{"Content-Length with inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", ErrBadContentLength},
	{"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n", ErrBadContentLength},
	{"Content-Length empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", ErrBadContentLength},
	{"Content-Length 19 digits", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000000000000\r\n\r\n", ErrBadContentLength},
	{"Content-Length hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", ErrBadContentLength},
	{"identical Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", ErrDuplicateContentLength},
	{"differing Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n", ErrDuplicateContentLength},
	// Transfer-Encoding (RFC 9112 §6.1, §6.3).
	{"Content-Length then Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", ErrCLAndTE},
	{"Transfer-Encoding then Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", ErrCLAndTE},
	{"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTEInHTTP10},
	{"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", ErrBadTransferEncoding},
	{"chunked twice in two fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBadTransferEncoding},
	{"chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrBadTransferEncoding},
	{"empty Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", ErrBadTransferEncoding},
	{"empty list element", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n", ErrBadTransferEncoding},
	{"transfer parameter", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", ErrBadTransferEncoding},
	{"quoted coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", ErrBadTransferEncoding},
	{"gzip then chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"gzip alone", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"x-foo in a second field", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-foo\r\nTransfer-Encoding: chunked\r\n\r\n", ErrUnsupportedTransferEncoding},
	// HEAD with a body (RFC 9110 §9.3.2, RFC 9112 §11.2).
	{"HEAD with Content-Length", "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", ErrHeadWithBody},
	{"HEAD with Content-Length 1", "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", ErrHeadWithBody},
	{"HEAD chunked", "HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrHeadWithBody},
	{"HEAD with an unsupported coding", "HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", ErrHeadWithBody},
	{"lower-case head with Content-Length", "head / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", ErrHeadWithBody},
	{"HEAD HTTP/1.0 with Content-Length", "HEAD / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", ErrHeadWithBody},
	// Connection and Expect (RFC 9110 §7.6.1, §10.1.1).
	{"Connection element not a token", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep alive\r\n\r\n", ErrBadConnection},
	{"Connection element with separator", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, a/b\r\n\r\n", ErrBadConnection},
	{"unsupported expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-please\r\n\r\n", ErrExpectationFailed},
	{"empty expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n", ErrExpectationFailed},
}

func TestParseRequestInvalid(t *testing.T) {
	for _, tc := range invalidRequests {
		t.Run(tc.name, func(t *testing.T) {
			got := wholeRequest([]byte(tc.in), Limits{})
			assert.Equal(t, tc.want, got.Err, "input %q: got %v, want %v", tc.in, got.Err, tc.want)
			assert.Zero(t, got.N, "input %q", tc.in)
		})
	}
}

func TestParseRequestSplitAnywhere(t *testing.T) {
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) { checkRequestSplits(t, []byte(tc.in), Limits{}) })
	}
	for _, tc := range invalidRequests {
		t.Run(tc.name, func(t *testing.T) { checkRequestSplits(t, []byte(tc.in), Limits{}) })
	}
}

func TestParseRequestIncomplete(t *testing.T) {
	for _, in := range []string{
		"", "\r", "\r\n", "G", "GET", "GET ", "GET /", "GET / ", "GET / HTTP/1.", "GET / HTTP/1.1",
		"GET / HTTP/1.1\r", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost", "GET / HTTP/1.1\r\nHost:",
		"GET / HTTP/1.1\r\nHost: a", "GET / HTTP/1.1\r\nHost: a\r", "GET / HTTP/1.1\r\nHost: a\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r",
	} {
		var p Parser
		n, err := p.ParseRequest([]byte(in), new(Request))
		assert.Equal(t, ErrNeedMore, err, "input %q", in)
		assert.Zero(t, n, "input %q", in)
	}
}

func TestErrorsCarryStatus(t *testing.T) {
	statuses := map[*Error]int{
		ErrBareLF: 400, ErrBadTransferEncoding: 400, ErrUnsupportedTransferEncoding: 501,
		ErrConnectNotSupported: 501, ErrURITooLong: 414, ErrHeadTooLarge: 431, ErrTooManyHeaders: 431,
		ErrVersionNotSupported: 505, ErrExpectationFailed: 417, ErrBadChunk: 400, ErrBadStatusLine: 502,
		ErrHeadWithBody: 400,
	}
	for e, status := range statuses {
		assert.Equal(t, status, e.Status, "status of %v", e)
		assert.True(t, strings.HasPrefix(e.Error(), "httpparse: "), "message %q", e.Error())
	}
}

func TestParserReuse(t *testing.T) {
	var p Parser
	var req Request
	first := "POST /one HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nContent-Length: 5\r\n\r\n"
	second := "GET /two HTTP/1.1\r\nHost: b\r\n\r\n"
	_, err := p.ParseRequest([]byte(first[:20]), &req)
	require.Equal(t, ErrNeedMore, err)
	p.Reset()
	n, err := p.ParseRequest([]byte(second), &req)
	require.NoError(t, err)
	assert.Equal(t, len(second), n)
	assert.Equal(t, get11("/two", "b", "Host: b"), *viewRequest(&req))
	n, err = p.ParseRequest([]byte(first), &req)
	require.NoError(t, err)
	assert.Equal(t, len(first), n)
	assert.Equal(t, int64(5), req.ContentLength)
	_, err = p.ParseRequest([]byte("GET / HTTP/1.1\nHost: a\r\n\r\n"), &req)
	require.Equal(t, ErrBareLF, err)
	n, err = p.ParseRequest([]byte(second), &req)
	require.NoError(t, err, "a Parser is ready again after an error")
	assert.Equal(t, len(second), n)
}

func TestRequestConnectionLists(t *testing.T) {
	var p Parser
	var req Request
	_, err := p.ParseRequest([]byte("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Hop\r\nconnection: , Other ,\r\nX-Hop: 1\r\n\r\n"), &req)
	require.NoError(t, err)
	for name, want := range map[string]bool{
		"x-hop": true, "X-HOP": true, "other": true, "close": true, "Host": false, "X-Ho": false, "": false,
	} {
		assert.Equal(t, want, req.ConnectionLists([]byte(name)), "ConnectionLists(%q)", name)
	}
}

func TestRequestBodyKind(t *testing.T) {
	cases := []struct {
		in   string
		want BodyKind
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", BodyNone},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", BodyNone},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n", BodyContentLength},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", BodyChunked},
	}
	for _, tc := range cases {
		var p Parser
		var req Request
		_, err := p.ParseRequest([]byte(tc.in), &req)
		require.NoError(t, err, "input %q", tc.in)
		assert.Equal(t, tc.want, req.BodyKind(), "input %q: got %v want %v", tc.in, req.BodyKind(), tc.want)
	}
}

func TestRequestReset(t *testing.T) {
	req := Request{Method: []byte("GET"), Headers: make([]Header, 3, 8), Chunked: true}
	req.Reset()
	assert.Equal(t, int64(-1), req.ContentLength)
	assert.Nil(t, req.Method)
	assert.False(t, req.Chunked)
	assert.Empty(t, req.Headers)
	assert.Equal(t, 8, cap(req.Headers), "Reset keeps the capacity of Headers")
}
