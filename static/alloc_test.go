//go:build !race

package static

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendToAllocs(t *testing.T) {
	ps, err := Load("")
	require.NoError(t, err)
	page, ok := ps.Get(Unknown)
	require.True(t, ok)
	dst := make([]byte, 0, page.Size(false, false))
	allocs := testing.AllocsPerRun(200, func() {
		dst = page.AppendTo(dst[:0], false, false)
		dst = page.AppendTo(dst[:0], true, true)
		if _, ok := ps.Get(Timeout); !ok {
			t.Fatal("Timeout missing")
		}
	})
	assert.Zero(t, allocs, "allocations per AppendTo with capacity")
}
