package httpparse

import (
	"bytes"
	"testing"
)

// chunkedBody encodes size payload bytes in chunks of chunk bytes.
func chunkedBody(size, chunk int) []byte {
	var out []byte
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
	for len(payload) > 0 {
		n := min(chunk, len(payload))
		out = AppendChunkHeader(out, n)
		out = append(out, payload[:n]...)
		out = append(out, CRLF...)
		payload = payload[n:]
	}
	return append(out, LastChunk...)
}

func benchmarkDecode(b *testing.B, size, chunk int) {
	body := chunkedBody(size, chunk)
	var d ChunkedDecoder
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		d.Reset()
		buf := body
		for {
			n, _, done, err := d.Decode(buf)
			if err != nil {
				b.Fatal(err)
			}
			buf = buf[n:]
			if done {
				break
			}
		}
	}
}

// BenchmarkChunkedDecode decodes a 64 KiB body sent in 4 KiB chunks.
func BenchmarkChunkedDecode(b *testing.B) { benchmarkDecode(b, 64<<10, 4<<10) }

// BenchmarkChunkedDecodeSmall decodes a 4 KiB body sent in 64-byte chunks.
func BenchmarkChunkedDecodeSmall(b *testing.B) { benchmarkDecode(b, 4<<10, 64) }
