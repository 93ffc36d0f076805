package httpparse

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type validResponseCase struct {
	name string
	in   string
	n    int // head length; 0 means len(in)
	want respView
}

var validResponses = []validResponseCase{
	{name: "200 with Content-Length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", n: 38,
		want: respView{Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Content-Length: 5"}, ContentLength: 5, KeepAlive: true}},
	{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		want: respView{Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Transfer-Encoding: chunked"}, ContentLength: -1, Chunked: true, KeepAlive: true}},
	{name: "HTTP/1.0 until close", in: "HTTP/1.0 200 OK\r\n\r\n",
		want: respView{Status: 200, Reason: "OK", Headers: []string{}, ContentLength: -1}},
	{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
		want: respView{Status: 200, Reason: "OK", Headers: []string{"Connection: keep-alive", "Content-Length: 0"}, ContentLength: 0, KeepAlive: true}},
	{name: "Connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
		want: respView{Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Connection: close"}, ContentLength: -1}},
	{name: "missing reason with SP", in: "HTTP/1.1 204 \r\n\r\n",
		want: respView{Minor: 1, Status: 204, Headers: []string{}, ContentLength: -1, KeepAlive: true}},
	{name: "missing reason without SP", in: "HTTP/1.1 304\r\nETag: \"x\"\r\n\r\n",
		want: respView{Minor: 1, Status: 304, Headers: []string{"ETag: \"x\""}, ContentLength: -1, KeepAlive: true}},
	{name: "reason with spaces, HTAB and obs-text", in: "HTTP/1.1 404 Not \tFound \xe9\r\n\r\n",
		want: respView{Minor: 1, Status: 404, Reason: "Not \tFound \xe9", Headers: []string{}, ContentLength: -1, KeepAlive: true}},
	{name: "identical Content-Lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
		want: respView{Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Content-Length: 3", "Content-Length: 3"}, ContentLength: 3, KeepAlive: true}},
	{name: "100 Continue", in: "HTTP/1.1 100 Continue\r\n\r\n",
		want: respView{Minor: 1, Status: 100, Reason: "Continue", Headers: []string{}, ContentLength: -1, KeepAlive: true}},
	{name: "599", in: "HTTP/1.1 599 X\r\n\r\n",
		want: respView{Minor: 1, Status: 599, Reason: "X", Headers: []string{}, ContentLength: -1, KeepAlive: true}},
}

func TestParseResponseValid(t *testing.T) {
	for _, tc := range validResponses {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.n
			if want == 0 {
				want = len(tc.in)
			}
			got := wholeResponse([]byte(tc.in), Limits{})
			require.NoError(t, got.Err, "input %q", tc.in)
			assert.Equal(t, want, got.N, "head length of %q", tc.in)
			assert.Equal(t, &tc.want, got.Resp, "input %q", tc.in)
		})
	}
}

var invalidResponses = []invalidCase{
	{"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", ErrBadStatusLine},
	{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", ErrBadStatusLine},
	{"lower-case version", "http/1.1 200 OK\r\n\r\n", ErrBadStatusLine},
	{"leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n", ErrBadStatusLine},
	{"two spaces", "HTTP/1.1  200 OK\r\n\r\n", ErrBadStatusLine},
	{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", ErrBadStatusLine},
	{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", ErrBadStatusLine},
	{"status 099", "HTTP/1.1 099 X\r\n\r\n", ErrBadStatusLine},
	{"status 600", "HTTP/1.1 600 X\r\n\r\n", ErrBadStatusLine},
	{"NUL in reason", "HTTP/1.1 200 O\x00K\r\n\r\n", ErrBadStatusLine},
	{"no status", "HTTP/1.1\r\n\r\n", ErrBadStatusLine},
	{"bare LF after status line", "HTTP/1.1 200 OK\n\r\n", ErrBareLF},
	{"bare LF after status without reason", "HTTP/1.1 200\n\r\n", ErrBareLF},
	{"bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", ErrBareCR},
	{"bare LF in a field", "HTTP/1.1 200 OK\r\nX: a\n\r\n", ErrBareLF},
	{"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", ErrObsFold},
	{"space before colon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", ErrSpaceBeforeColon},
	{"NUL in a field", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", ErrBadHeaderValue},
	{"differing Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", ErrDuplicateContentLength},
	{"bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n", ErrBadContentLength},
	{"Content-Length with Transfer-Encoding", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ErrCLAndTE},
	{"Transfer-Encoding with Content-Length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrCLAndTE},
	{"chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrBadTransferEncoding},
	{"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTEInHTTP10},
	{"bad Connection", "HTTP/1.1 200 OK\r\nConnection: a b\r\n\r\n", ErrBadConnection},
}

func TestParseResponseInvalid(t *testing.T) {
	for _, tc := range invalidResponses {
		t.Run(tc.name, func(t *testing.T) {
			got := wholeResponse([]byte(tc.in), Limits{})
			assert.Equal(t, tc.want, got.Err, "input %q: got %v, want %v", tc.in, got.Err, tc.want)
		})
	}
}

func TestParseResponseSplitAnywhere(t *testing.T) {
	for _, tc := range validResponses {
		t.Run(tc.name, func(t *testing.T) { checkResponseSplits(t, []byte(tc.in), Limits{}) })
	}
	for _, tc := range invalidResponses {
		t.Run(tc.name, func(t *testing.T) { checkResponseSplits(t, []byte(tc.in), Limits{}) })
	}
}

func TestResponseBodyKind(t *testing.T) {
	cases := []struct {
		head string
		req  bool // HEAD request
		want BodyKind
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, BodyContentLength},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, BodyNone},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, BodyNone},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, BodyChunked},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, BodyNone},
		{"HTTP/1.1 200 OK\r\n\r\n", false, BodyUntilClose},
		{"HTTP/1.0 200 OK\r\n\r\n", false, BodyUntilClose},
		{"HTTP/1.1 101 Switching Protocols\r\n\r\n", false, BodyNone},
		{"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, BodyNone},
		{"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, BodyNone},
	}
	for _, tc := range cases {
		var p Parser
		var resp Response
		_, err := p.ParseResponse([]byte(tc.head), &resp)
		require.NoError(t, err, "input %q", tc.head)
		got := resp.BodyKind(tc.req)
		assert.Equal(t, tc.want, got, "input %q head=%v: got %v, want %v", tc.head, tc.req, got, tc.want)
	}
}

func TestBodyKindString(t *testing.T) {
	for k, want := range map[BodyKind]string{
		BodyNone: "none", BodyContentLength: "content-length", BodyChunked: "chunked", BodyUntilClose: "until-close", 9: "invalid",
	} {
		assert.Equal(t, want, k.String())
	}
}

func TestResponseConnectionLists(t *testing.T) {
	var p Parser
	var resp Response
	_, err := p.ParseResponse([]byte("HTTP/1.1 200 OK\r\nConnection: x-a\r\n\r\n"), &resp)
	require.NoError(t, err)
	assert.True(t, resp.ConnectionLists([]byte("X-A")))
	assert.False(t, resp.ConnectionLists([]byte("X-B")))
}

func TestParserSwitchesKinds(t *testing.T) {
	var p Parser
	_, err := p.ParseRequest([]byte("GET / HT"), new(Request))
	require.Equal(t, ErrNeedMore, err)
	n, err := p.ParseResponse([]byte("HTTP/1.1 200 OK\r\n\r\n"), new(Response))
	require.NoError(t, err, "a response parse abandons the unfinished request")
	assert.Equal(t, 19, n)
}
