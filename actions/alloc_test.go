//go:build !race

package actions

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAnswersDoNotAllocate holds the per-request answers and the streaming
// encoder at zero allocations when dst has room (STYLE: hot path).
func TestAnswersDoNotAllocate(t *testing.T) {
	redirect := requireRule(t, `["redirect",{"redirect_to":"ep.io/landing/"},true]`)
	proxy := requireRule(t, `["proxy",{"backends":[["127.0.0.1",8000],"[::1]:80"],"attempts":3,"delay":0.5},true]`)
	spin := requireRule(t, `["spin",{"timeout":60.25,"check_interval":1},false]`)
	path := []byte("//search?q=a&b=c")
	buf := make([]byte, 0, 4096)
	tests := []struct {
		name string
		fn   func()
	}{
		{"AppendEmpty", func() { buf = AppendEmpty(buf[:0], 403, false) }},
		{"AppendEmpty 204", func() { buf = AppendEmpty(buf[:0], 204, true) }},
		{"AppendRedirect", func() { buf = redirect.AppendRedirect(buf[:0], path, true, true) }},
		{"AppendJSON proxy", func() { buf = proxy.AppendJSON(buf[:0]) }},
		{"AppendJSON spin", func() { buf = spin.AppendJSON(buf[:0]) }},
		{"ReasonPhrase", func() { _ = ReasonPhrase(431) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testing.AllocsPerRun(100, tt.fn)
			assert.Zero(t, got, "%s: got %v allocations per run, want 0", tt.name, got)
		})
	}
}
