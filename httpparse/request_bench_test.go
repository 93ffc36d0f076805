package httpparse

import "testing"

// browserGET is a typical browser GET head (about 500 bytes).
const browserGET = "GET /assets/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-GB,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Referer: https://www.example.com/index.html\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=8f2b7c1e9a4d4e0f9b3a6c5d2e1f0a9b; theme=dark\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"Sec-Fetch-Dest: document\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Priority: u=0, i\r\n" +
	"\r\n"

// curlGET is what curl sends for a plain GET.
const curlGET = "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"

func benchmarkParseRequest(b *testing.B, head string) {
	in := []byte(head)
	var p Parser
	var req Request
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := p.ParseRequest(in, &req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequestBrowser(b *testing.B) { benchmarkParseRequest(b, browserGET) }

func BenchmarkParseRequestCurl(b *testing.B) { benchmarkParseRequest(b, curlGET) }

// BenchmarkParseRequestTrickle feeds the browser head in 64-byte steps, as
// a slow client would.
func BenchmarkParseRequestTrickle(b *testing.B) {
	in := []byte(browserGET)
	var p Parser
	var req Request
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		for i := 64; ; i += 64 {
			_, err := p.ParseRequest(in[:min(i, len(in))], &req)
			if err == nil {
				break
			}
			if err != ErrNeedMore {
				b.Fatal(err)
			}
		}
	}
}
