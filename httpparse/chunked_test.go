package httpparse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

type chunkCase struct {
	name    string
	in      string
	payload string
	n       int // bytes consumed; 0 means len(in)
}

var validChunked = []chunkCase{
	{name: "one chunk", in: "5\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "two chunks, upper-case hex", in: "A\r\n0123456789\r\n1\r\nx\r\n0\r\n\r\n", payload: "0123456789x"},
	{name: "empty body", in: "0\r\n\r\n"},
	{name: "several zeros", in: "000\r\n\r\n"},
	{name: "leading zeros", in: "0005\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "15 hex digits", in: "000000000000003\r\nabc\r\n0\r\n\r\n", payload: "abc"},
	{name: "extensions", in: "5;a;b=c;d=\"x y\\\"z\"\r\nhello\r\n0;last\r\n\r\n", payload: "hello"},
	{name: "BWS in extensions", in: "5 \t; a = b ;c= \"q\" ;d\r\nhello\r\n0\r\n\r\n", payload: "hello"},
	{name: "quoted-pair and obs-text in extension", in: "1;a=\"\\\t\xe9\"\r\nx\r\n0\r\n\r\n", payload: "x"},
	{name: "trailers", in: "1\r\nx\r\n0\r\nExpires: never\r\nX-Sum:  abc \r\n\r\n", payload: "x"},
	{name: "empty trailer value", in: "0\r\nX:\r\n\r\n"},
	{name: "bytes after the body", in: "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1", payload: "x", n: 11},
	{name: "CRLF inside data", in: "4\r\n\r\n\r\n\r\n0\r\n\r\n", payload: "\r\n\r\n"},
}

var invalidChunked = []struct {
	name string
	in   string
	want *Error
}{
	{"empty size", "\r\nx\r\n0\r\n\r\n", ErrBadChunk},
	{"16 hex digits", "0000000000000001\r\nx\r\n0\r\n\r\n", ErrBadChunk},
	{"size overflow", "fffffffffffffffff\r\n", ErrBadChunk},
	{"non-hex size", "g\r\n", ErrBadChunk},
	{"negative size", "-1\r\n", ErrBadChunk},
	{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"leading space", " 5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"trailing space", "5 \r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"bare LF after size", "5\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"bare CR after size", "5\rhello\r\n0\r\n\r\n", ErrBadChunk},
	{"missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", ErrBadChunk},
	{"LF only after data", "5\r\nhello\n0\r\n\r\n", ErrBadChunk},
	{"CR only after data", "5\r\nhello\r0\r\n\r\n", ErrBadChunk},
	{"data longer than size", "3\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"empty extension name", "5;\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"extension name not a token", "5;a@b\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"empty extension value", "5;a=\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"unterminated quoted value", "5;a=\"x\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"NUL in quoted value", "5;a=\"\x00\"\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"space after extension name", "5;a \r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"space after extension value", "5;a=b \r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"text after quoted value", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"bare LF in extension", "5;a\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", ErrBadChunk},
	{"trailer space before colon", "0\r\nX : a\r\n\r\n", ErrBadChunk},
	{"trailer without colon", "0\r\nX\r\n\r\n", ErrBadChunk},
	{"trailer empty name", "0\r\n: a\r\n\r\n", ErrBadChunk},
	{"trailer NUL in value", "0\r\nX: \x00\r\n\r\n", ErrBadChunk},
	{"trailer bare LF", "0\r\nX: a\n\r\n", ErrBadChunk},
	{"trailer bare CR", "0\r\nX: a\rb\r\n\r\n", ErrBadChunk},
	{"final bare LF", "0\r\n\n", ErrBadChunk},
	{"final CR without LF", "0\r\n\rX", ErrBadChunk},
}

func TestChunkedValid(t *testing.T) {
	for _, tc := range validChunked {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n
			if n == 0 {
				n = len(tc.in)
			}
			got := decodePieces([]byte(tc.in))
			assert.Equal(t, chunkOutcome{Payload: tc.payload, N: n, Done: true}, got, "input %q", tc.in)
		})
	}
}

func TestChunkedInvalid(t *testing.T) {
	for _, tc := range invalidChunked {
		t.Run(tc.name, func(t *testing.T) {
			got := decodePieces([]byte(tc.in))
			assert.Equal(t, tc.want, got.Err, "input %q: got %v, want %v", tc.in, got.Err, tc.want)
			assert.False(t, got.Done, "input %q", tc.in)
		})
	}
}

func TestChunkedSplitAnywhere(t *testing.T) {
	for _, tc := range validChunked {
		t.Run(tc.name, func(t *testing.T) { checkChunkSplits(t, []byte(tc.in)) })
	}
	for _, tc := range invalidChunked {
		t.Run(tc.name, func(t *testing.T) { checkChunkSplits(t, []byte(tc.in)) })
	}
}

func TestChunkedIncomplete(t *testing.T) {
	in := "5;a=\"b\"\r\nhello\r\n0\r\nX: y\r\n\r\n"
	for i := range len(in) {
		got := decodePieces([]byte(in[:i]))
		assert.NoError(t, got.Err, "prefix %q", in[:i])
		assert.False(t, got.Done, "prefix %q", in[:i])
		assert.Equal(t, i, got.N, "prefix %q: every byte is consumed", in[:i])
	}
}

func TestChunkedStickyError(t *testing.T) {
	var d ChunkedDecoder
	_, _, _, err := d.Decode([]byte("x"))
	assert.Equal(t, ErrBadChunk, err)
	n, _, done, err := d.Decode([]byte("5\r\nhello\r\n"))
	assert.Equal(t, ErrBadChunk, err, "the error is sticky")
	assert.Zero(t, n)
	assert.False(t, done)
	d.Reset()
	n, data, _, err := d.Decode([]byte("5\r\nhello\r\n"))
	assert.NoError(t, err, "Reset clears the error")
	assert.Equal(t, "hello", string(data), "framing and the data after it come in one call")
	assert.Equal(t, 8, n)
}

func TestChunkedDoneConsumesNothingMore(t *testing.T) {
	var d ChunkedDecoder
	n, _, done, err := d.Decode([]byte("0\r\n\r\n"))
	assert.True(t, done)
	assert.NoError(t, err)
	assert.Equal(t, 5, n)
	n, data, done, err := d.Decode([]byte("more"))
	assert.Equal(t, 0, n)
	assert.Nil(t, data)
	assert.True(t, done)
	assert.NoError(t, err)
}

func TestChunkLineLimit(t *testing.T) {
	// A chunk-size line of exactly size bytes including its CRLF.
	line := func(size int) string {
		return "1;" + strings.Repeat("a", size-len("1;\r\n")) + "\r\n"
	}
	for _, tc := range []struct {
		size int
		want error
	}{
		{MaxChunkLine - 1, nil},
		{MaxChunkLine, nil},
		{MaxChunkLine + 1, ErrChunkLineTooLong},
	} {
		in := line(tc.size) + "x\r\n0\r\n\r\n"
		got := decodePieces([]byte(in))
		assert.Equal(t, tc.want, got.Err, "chunk line of %d bytes", tc.size)
		assert.Equal(t, tc.want == nil, got.Done, "chunk line of %d bytes", tc.size)
		checkChunkSplitsSampled(t, []byte(in))
	}
}

func TestTrailerLimit(t *testing.T) {
	// A trailer section of exactly size bytes including the final CRLF.
	section := func(size int) string {
		return "X: " + strings.Repeat("v", size-len("X: \r\n\r\n")) + "\r\n\r\n"
	}
	for _, tc := range []struct {
		size int
		want error
	}{
		{MaxTrailerSize - 1, nil},
		{MaxTrailerSize, nil},
		{MaxTrailerSize + 1, ErrTrailerTooLarge},
	} {
		in := "0\r\n" + section(tc.size)
		got := decodePieces([]byte(in))
		assert.Equal(t, tc.want, got.Err, "trailer section of %d bytes", tc.size)
		assert.Equal(t, tc.want == nil, got.Done, "trailer section of %d bytes", tc.size)
		checkChunkSplitsSampled(t, []byte(in))
	}
}

// checkChunkSplitsSampled is checkChunkSplits for long inputs: byte by byte
// and splits near both ends and every 97 bytes.
func checkChunkSplitsSampled(t *testing.T, in []byte) {
	t.Helper()
	want := decodePieces(in)
	assert.Equal(t, want, decodePieces(bytesOf(in)...), "byte by byte: %d bytes", len(in))
	for k := 1; k < len(in); k++ {
		if k > 8 && k < len(in)-8 && k%97 != 0 {
			continue
		}
		if !assert.Equal(t, want, decodePieces(in[:k], in[k:]), "split at %d of %d bytes", k, len(in)) {
			return
		}
	}
}

func TestAppendChunkHeader(t *testing.T) {
	for size, want := range map[int]string{1: "1\r\n", 10: "a\r\n", 4096: "1000\r\n", 0x7fffffff: "7fffffff\r\n"} {
		got := string(AppendChunkHeader([]byte("x"), size))
		assert.Equal(t, "x"+want, got, "size %d", size)
	}
	body := AppendChunkHeader(nil, 5)
	body = append(body, "hello"...)
	body = append(body, CRLF...)
	body = append(body, LastChunk...)
	assert.Equal(t, chunkOutcome{Payload: "hello", N: len(body), Done: true}, decodePieces(body))
}
