package actions

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKind(t *testing.T) {
	names := map[Kind]string{
		Empty: "empty", Proxy: "proxy", Redirect: "redirect", Spin: "spin",
		Static: "static", NoHosts: "no_hosts", Unknown: "unknown",
	}
	for k, name := range names {
		assert.Equal(t, name, k.String())
		got, ok := ParseKind(name)
		assert.True(t, ok, "ParseKind(%q)", name)
		assert.Equal(t, k, got, "ParseKind(%q)", name)
	}
	for _, bad := range []string{"", "Empty", "no-hosts", "Kind(0)", "proxy "} {
		_, ok := ParseKind(bad)
		assert.False(t, ok, "ParseKind(%q)", bad)
	}
	assert.Equal(t, "Kind(0)", Kind(0).String())
	assert.Equal(t, "Kind(8)", Kind(8).String())
}
