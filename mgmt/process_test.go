package mgmt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// getProcess asks s for /process/ and decodes the answer.
func getProcess(t *testing.T, s *Server) Process {
	t.Helper()
	w := do(s.Handler(), "GET", "/process/", "")
	require.Equal(t, 200, w.Code, "GET /process/: body %s", w.Body.String())
	var p Process
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p), "body %s", w.Body.String())
	return p
}

func TestProcessRoutes(t *testing.T) {
	for _, tt := range []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"get", "GET", "/process/", 200, ""},
		{"get without slash", "GET", "/process", 200, ""},
		{"get upper case", "GET", "/PROCESS/", 200, ""},
		{"head", "HEAD", "/process/", 200, ""},
		{"post", "POST", "/process/", 405, "GET, HEAD"},
		{"put", "PUT", "/process", 405, "GET, HEAD"},
		{"delete", "DELETE", "/process/", 405, "GET, HEAD"},
		{"segment after", "GET", "/process/x/", 404, ""},
		{"double slash", "GET", "/process//", 404, ""},
		{"longer name", "GET", "/processes/", 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, ServerOptions{})
			w := do(s.Handler(), tt.method, tt.path, "")
			body := w.Body.String()
			assert.Equal(t, tt.status, w.Code, "%s %s: body %s", tt.method, tt.path, body)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			assert.Equal(t, tt.allow, w.Header().Get("Allow"))
			switch tt.status {
			case 200:
				var m map[string]int64
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), "body %s", body)
				assert.ElementsMatch(t, []string{"goroutines", "open_fds", "rss_bytes", "threads", "refused_rules"}, keys(m), "body %s", body)
			case 405:
				assert.JSONEq(t, `{"error":"method_not_allowed","detail":"this path allows GET, HEAD"}`, body)
			case 404:
				assert.JSONEq(t, `{"error":"not_found"}`, body)
			}
		})
	}
}

func keys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestProcessCounts checks each number against an independent reading:
// goroutines and fds opened by the test show up one for one, RSS agrees
// with /proc/self/statm, threads with /proc/self/task.
func TestProcessCounts(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	s, _ := newTestServer(t, ServerOptions{})
	before := getProcess(t, s)
	require.Positive(t, before.Goroutines)
	require.Positive(t, before.OpenFDs)

	const extra = 7
	dir := t.TempDir()
	var files []*os.File
	for i := range extra {
		f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
		require.NoError(t, err)
		files = append(files, f)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range extra {
		wg.Go(func() { <-stop })
	}
	after := getProcess(t, s)
	running := runtime.NumGoroutine()
	close(stop)
	wg.Wait()
	for _, f := range files {
		f.Close()
	}
	assert.Equal(t, before.OpenFDs+extra, after.OpenFDs, "open_fds before %d, after opening %d files", before.OpenFDs, extra)
	assert.Greater(t, after.Goroutines, int64(extra), "goroutines while %d extra ones wait", extra)
	assert.InDelta(t, running, after.Goroutines, 2, "goroutines %d, runtime.NumGoroutine says %d", after.Goroutines, running)
	closed := getProcess(t, s)
	assert.Equal(t, before.OpenFDs, closed.OpenFDs, "open_fds after closing the files again")
	fds, err := os.ReadDir("/proc/self/fd") // lists its own fd too
	require.NoError(t, err)
	assert.Equal(t, int64(len(fds)-1), closed.OpenFDs, "open_fds against /proc/self/fd")

	statm, err := os.ReadFile("/proc/self/statm")
	require.NoError(t, err)
	f := strings.Fields(string(statm))
	require.GreaterOrEqual(t, len(f), 2, "statm %q", statm)
	pages, err := strconv.ParseInt(f[1], 10, 64)
	require.NoError(t, err)
	rss := pages * int64(os.Getpagesize())
	assert.InEpsilon(t, rss, closed.RSSBytes, 0.5, "rss_bytes %d, statm says %d", closed.RSSBytes, rss)

	tasks, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	assert.InDelta(t, len(tasks), closed.Threads, 4, "threads %d, /proc/self/task has %d", closed.Threads, len(tasks))
}

// TestProcessRefusedRules checks that refused_rules is what the daemon's
// function says at each call, and 0 without one.
func TestProcessRefusedRules(t *testing.T) {
	s, _ := newTestServer(t, ServerOptions{})
	assert.Equal(t, int64(0), getProcess(t, s).RefusedRules, "no function: 0")
	n := int64(3)
	s, _ = newTestServer(t, ServerOptions{RefusedRules: func() int64 { return n }})
	assert.Equal(t, int64(3), getProcess(t, s).RefusedRules)
	n = 0
	assert.Equal(t, int64(0), getProcess(t, s).RefusedRules, "asked again at each call")
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\tmantrid\nVmRSSx:\t1 kB\nVmRSS:\t  10240 kB\nThreads:\t9\nBad:\tx\nEmpty:\n")
	for _, tt := range []struct {
		name string
		want int64
	}{
		{"VmRSS:", 10240},
		{"Threads:", 9},
		{"Bad:", -1},
		{"Empty:", -1},
		{"Missing:", -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, statusField(status, tt.name), "field %s of %q", tt.name, status)
		})
	}
}
