package mgmt

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBulkPutLarge replaces the rules with 100,000 and 1,000,000 entries
// through the handler (SPEC §7: a bulk PUT of a million rules must work),
// then reads them back with GET /hostname/. Both sizes run under -race too
// (the million takes about 45 s there).
func TestBulkPutLarge(t *testing.T) {
	for _, n := range []int{100_000, 1_000_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if n > 100_000 && testing.Short() {
				t.Skip("-short: 1,000,000 rules take a few seconds (about 45 s under -race); the 100,000 case covers the same code")
			}
			testBulkPut(t, n)
		})
	}
}

func testBulkPut(t *testing.T, n int) {
	s, store := newTestServer(t, ServerOptions{})
	body := bulkBody(n)
	start := time.Now()
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("PUT", "http://localhost/hostname/", strings.NewReader(body)))
	took := time.Since(start)
	require.Equal(t, 200, w.Code, "answer %s", w.Body)
	t.Logf("bulk PUT of %d rules (%d MB): %v", n, len(body)>>20, took)
	require.Equal(t, n, store.table.Len())
	for _, i := range []int{0, 1, 2, 3, 4, n / 2, n - 1} {
		assert.Equal(t, bulkRule(i), store.get(fmt.Sprintf("host-%d.example.com", i)), "host %d", i)
	}

	start = time.Now()
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("GET", "http://localhost/hostname/", nil))
	t.Logf("GET of %d rules (%d MB): %v", n, w.Body.Len()>>20, time.Since(start))
	require.Equal(t, 200, w.Code)
	count := 0
	require.NoError(t, state.DecodeObject(w.Body.String(), func(string, any) error { count++; return nil }))
	assert.Equal(t, n, count, "rules in GET /hostname/")

	bad := body[:len(body)-1] + `,"bad host":["spin",{},true]}`
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest("PUT", "http://localhost/hostname/", strings.NewReader(bad)))
	assert.Equal(t, 400, w.Code, "one bad entry at the end")
	assert.Contains(t, w.Body.String(), `"host":"bad host"`)
	assert.Equal(t, n, store.table.Len(), "rules changed by a refused bulk PUT")
}
