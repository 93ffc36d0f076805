package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProxySlowBackendUploadBoundedMemory: a client pushes a 200 MiB body
// as fast as it can to a backend that reads about 3 MiB/s for 4 s (then
// everything): Mantrid's RSS grows by less than 16 MiB meanwhile, and the
// body arrives byte-exact (sha256 answered by the backend).
func TestProxySlowBackendUploadBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: a backend reads slowly for 4 s")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	slowUntil := make(chan time.Time, 1)
	go slowBackend(ln, slowUntil)
	port := ln.Addr().(*net.TCPAddr).Port
	p := startMantrid(t, "", stateWith(map[string]string{"up.test": proxyRule(1, 0, port)}))
	pid := p.cmd.Process.Pid
	base, err := vmRSS(pid)
	require.NoError(t, err)

	const total = 200 << 20
	cl := newClient(t, p.addr())
	setDeadline(t, cl, 60*time.Second)
	slowUntil <- time.Now().Add(4 * time.Second)
	sent := make(chan error, 1)
	want := sumGen(7, total)
	go func() {
		w := bufio.NewWriterSize(cl.c, 64<<10)
		fmt.Fprintf(w, "POST /up HTTP/1.1\r\nHost: up.test\r\nContent-Length: %d\r\n\r\n", total)
		_, err := io.Copy(w, genBody(7, total))
		if err == nil {
			err = w.Flush()
		}
		sent <- err
	}()
	var peak int64
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		rss, err := vmRSS(pid)
		require.NoError(t, err)
		peak = max(peak, rss)
	}
	require.NoError(t, <-sent)
	resp, err := http.ReadResponse(cl.br, &http.Request{Method: "POST"})
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, want, string(body), "sha256 of the body the backend received")
	growth := peak - base
	t.Logf("Mantrid RSS %d MiB at start, peak %d MiB while the backend read slowly (growth %.1f MiB)", base>>20, peak>>20, float64(growth)/(1<<20))
	assert.Less(t, growth, int64(16<<20), "RSS growth during a slow-backend upload")
	// The connection carries on: an empty request gets the empty body's sum.
	cl.send("GET /again HTTP/1.1\r\nHost: up.test\r\n\r\n")
	resp2, body2 := cl.read("GET")
	assert.Equal(t, 200, resp2.StatusCode)
	assert.Equal(t, sha256Hex(nil), body2, "the next request on the same connection")
}

// slowBackend answers one request per connection: it reads the body at
// about 3 MiB/s until the time it is given, then at full speed, and answers
// with the body's sha256 (hex) as a 200.
func slowBackend(ln net.Listener, slowUntil <-chan time.Time) {
	until := <-slowUntil
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			for {
				n, err := readHeadLength(br)
				if err != nil {
					return
				}
				h := sha256.New()
				buf := make([]byte, 64<<10)
				for left := n; left > 0; {
					if time.Now().Before(until) {
						time.Sleep(20 * time.Millisecond)
					}
					m, err := br.Read(buf[:min(int64(len(buf)), left)])
					h.Write(buf[:m])
					left -= int64(m)
					if err != nil {
						return
					}
				}
				sum := hex.EncodeToString(h.Sum(nil))
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(sum), sum)
			}
		}()
	}
}

// readHeadLength reads a request head and returns its Content-Length (0
// without one).
func readHeadLength(br *bufio.Reader) (int64, error) {
	var n int64
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if line == "\r\n" {
			return n, nil
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			n, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
}
