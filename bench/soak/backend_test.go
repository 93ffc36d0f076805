package main

import (
	"context"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// send posts body to the backend as request id, sent at sentAt.
func send(t *testing.T, addr, id string, sentAt int64, body string, query string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/soak/"+id+"?"+query, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(hdrID, id)
	req.Header.Set(hdrSentAt, strconv.FormatInt(sentAt, 10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestBackend: the backend echoes the id and the body's length and
// checksum, sends the asked body, counts a second receipt as a duplicate,
// judges requests that arrive while spin is live by their send time,
// refuses foreign ids, and starts again on its port after a stop.
func TestBackend(t *testing.T) {
	b, err := newBackend("abc123", 2, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	t.Cleanup(func() { stopBackend(b) })

	resp := send(t, b.addr, "abc123-1-0", 1, "hello", "resp=70000&chunked=1")
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "abc123-1-0", resp.Header.Get(hdrID))
	assert.Equal(t, "5", resp.Header.Get(hdrBodyLen))
	assert.Equal(t, strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte("hello"))), 10), resp.Header.Get(hdrBodyCRC))
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	var check patternCheck
	_, err = io.Copy(&check, resp.Body)
	require.NoError(t, err)
	assert.Equal(t, int64(70000), check.n)
	assert.False(t, check.bad)
	assert.Equal(t, 1, b.receipts(1, 0))

	send(t, b.addr, "abc123-1-0", 1, "", "resp=0")
	assert.Equal(t, int64(1), b.dupCount.Load(), "a second receipt is a duplicate")
	assert.Equal(t, 2, b.receipts(1, 0))

	assert.Equal(t, 400, send(t, b.addr, "zzz999-1-1", 1, "", "").StatusCode, "an id of another run")
	assert.Equal(t, 400, send(t, b.addr, "abc123-2-1", 1, "", "").StatusCode, "a client that does not exist")
	assert.Equal(t, int64(2), b.badCount.Load())

	live := time.Now().UnixNano()
	b.spinLive.Store(live)
	send(t, b.addr, "abc123-0-1", live-1, "", "")
	send(t, b.addr, "abc123-0-2", live+1, "", "")
	b.spinLive.Store(0)
	send(t, b.addr, "abc123-0-3", live+2, "", "")
	assert.Equal(t, int64(1), b.inFlight.Load(), "sent before spin went live")
	assert.Equal(t, int64(1), b.afterSpin.Load(), "sent after spin went live")
	assert.Equal(t, 2, b.beyond(0, 2), "receipts at sequence numbers 2 and 3")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = b.stop(ctx)
	require.NoError(t, err)
	http.DefaultClient.CloseIdleConnections()
	_, err = http.Get("http://" + b.addr + "/")
	require.Error(t, err, "stopped")
	require.NoError(t, b.start())
	assert.Equal(t, 200, send(t, b.addr, "abc123-0-4", 1, "x", "").StatusCode, "started again on %s", b.addr)
	assert.Equal(t, int64(1), b.restarts.Load())
}
