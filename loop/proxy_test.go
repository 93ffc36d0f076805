package loop

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPickBackendAvoidsFailed(t *testing.T) {
	cases := []struct {
		name  string
		n     int
		tried uint64
		allow map[int]bool
	}{
		{"none tried", 3, 0, map[int]bool{0: true, 1: true, 2: true}},
		{"first failed", 2, 0b01, map[int]bool{1: true}},
		{"two of three failed", 3, 0b101, map[int]bool{1: true}},
		{"all failed: any", 2, 0b11, map[int]bool{0: true, 1: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[int]bool{}
			for range 200 {
				i := pickBackend(tc.n, tc.tried)
				assert.True(t, tc.allow[i], "n=%d tried=%b picked %d", tc.n, tc.tried, i)
				seen[i] = true
			}
			assert.Len(t, seen, len(tc.allow), "every allowed backend gets picked")
		})
	}
}
