package httpparse

import "testing"

// typicalResponse is a typical backend response head.
const typicalResponse = "HTTP/1.1 200 OK\r\n" +
	"Server: nginx/1.24.0\r\n" +
	"Date: Sat, 21 Nov 2025 11:10:00 GMT\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Length: 5120\r\n" +
	"Connection: keep-alive\r\n" +
	"Cache-Control: max-age=60\r\n" +
	"ETag: \"65a1f3c2-1400\"\r\n" +
	"\r\n"

func BenchmarkParseResponse(b *testing.B) {
	in := []byte(typicalResponse)
	var p Parser
	var resp Response
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := p.ParseResponse(in, &resp); err != nil {
			b.Fatal(err)
		}
	}
}
