//go:build !race

package httpparse

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRequestAllocs(t *testing.T) {
	var p Parser
	var req Request
	in := []byte(browserGET)
	_, err := p.ParseRequest(in, &req)
	require.NoError(t, err, "warm-up")
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := p.ParseRequest(in, &req); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "allocations per ParseRequest of a whole head")

	allocs = testing.AllocsPerRun(20, func() {
		for i := 1; i <= len(in); i += 7 {
			if _, err := p.ParseRequest(in[:i], &req); err != nil && err != ErrNeedMore {
				t.Fatal(err)
			}
		}
		if _, err := p.ParseRequest(in, &req); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "allocations per ParseRequest of a trickled head")

	bad := []byte("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n")
	allocs = testing.AllocsPerRun(200, func() {
		if _, err := p.ParseRequest(bad, &req); err != ErrSpaceBeforeColon {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "allocations per rejected request")
}

func TestParseResponseAllocs(t *testing.T) {
	var p Parser
	var resp Response
	in := []byte(typicalResponse)
	_, err := p.ParseResponse(in, &resp)
	require.NoError(t, err, "warm-up")
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := p.ParseResponse(in, &resp); err != nil {
			t.Fatal(err)
		}
		_ = resp.ConnectionLists([]byte("x-hop"))
	})
	assert.Zero(t, allocs, "allocations per ParseResponse")
}

func TestDecodeAllocs(t *testing.T) {
	var d ChunkedDecoder
	body := chunkedBody(16<<10, 1000)
	allocs := testing.AllocsPerRun(100, func() {
		d.Reset()
		buf := body
		for len(buf) > 0 {
			n, _, done, err := d.Decode(buf)
			if err != nil {
				t.Fatal(err)
			}
			buf = buf[n:]
			if done {
				break
			}
		}
	})
	assert.Zero(t, allocs, "allocations per chunked body")
	dst := make([]byte, 0, 64)
	allocs = testing.AllocsPerRun(100, func() {
		dst = AppendChunkHeader(dst[:0], 12345)
		dst = append(dst, LastChunk...)
	})
	assert.Zero(t, allocs, "allocations per AppendChunkHeader with capacity")
}
