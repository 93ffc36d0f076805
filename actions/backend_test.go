package actions

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackendBounds(t *testing.T) {
	list := func(n int) string {
		return `["proxy",{"backends":[` + strings.TrimSuffix(strings.Repeat(`"h:1",`, n), ",") + `]},false]`
	}
	name := func(n int) string { // a valid host name of n bytes
		var b strings.Builder
		for b.Len() < n {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(strings.Repeat("a", min(63, n-b.Len())))
		}
		s := b.String()
		if strings.HasSuffix(s, ".") {
			s = s[:len(s)-1] + "b"
		}
		return s
	}
	require.Len(t, name(253), 253)
	require.Len(t, name(254), 254)
	runBoundCases(t, []boundCase{
		{"0 backends", list(0), false},
		{"1 backend", list(1), true},
		{"1023 backends", list(1023), true},
		{"1024 backends", list(1024), true},
		{"1025 backends", list(1025), false},
		{"port 0", backendRule(`["h",0]`), false},
		{"port 1", backendRule(`["h",1]`), true},
		{"port 2", backendRule(`["h",2]`), true},
		{"port 65534", backendRule(`["h",65534]`), true},
		{"port 65535", backendRule(`["h",65535]`), true},
		{"port 65536", backendRule(`["h",65536]`), false},
		{"string port 0", backendRule(`"h:0"`), false},
		{"string port 1", backendRule(`"h:1"`), true},
		{"string port 65535", backendRule(`"h:65535"`), true},
		{"string port 65536", backendRule(`"h:65536"`), false},
		{"string port leading zero", backendRule(`"h:080"`), false},
		{"string port sign", backendRule(`"h:+80"`), false},
		{"string port float", backendRule(`"h:8e1"`), false},
		{"string port empty", backendRule(`"h:"`), false},
		{"string no port", backendRule(`"h"`), false},
		{"host 252 bytes", backendRule(`["` + name(252) + `",1]`), true},
		{"host 253 bytes", backendRule(`["` + name(253) + `",1]`), true},
		{"host 254 bytes", backendRule(`["` + name(254) + `",1]`), false},
		{"label 63 bytes", backendRule(`["` + strings.Repeat("a", 63) + `.b",1]`), true},
		{"label 64 bytes", backendRule(`["` + strings.Repeat("a", 64) + `.b",1]`), false},
		{"host empty", backendRule(`["",1]`), false},
		{"host empty string form", backendRule(`":80"`), false},
		{"host fqdn", backendRule(`["a.b.",1]`), true},
		{"host empty label", backendRule(`["a..b",1]`), false},
		{"host dot", backendRule(`[".",1]`), false},
		{"host underscore", backendRule(`["a_b",1]`), false},
		{"host ipv4", backendRule(`"10.0.0.2:80"`), true},
		{"host ipv6 pair bare", backendRule(`["::1",80]`), true},
		{"host ipv6 pair brackets", backendRule(`["[::1]",80]`), true},
		{"host ipv6 string", backendRule(`"[fe32::54ab:12cc]:80"`), true},
		{"host ipv6 string unbracketed", backendRule(`"::1:80"`), false},
		{"host ipv6 zone", backendRule(`["fe80::1%eth0",80]`), false},
		{"host ipv4 in brackets", backendRule(`"[10.0.0.1]:80"`), false},
		{"host bad ipv6", backendRule(`["[::g]",80]`), false},
		{"host bracket unclosed", backendRule(`"[::1:80"`), false},
		{"host bracket junk after", backendRule(`"[::1]x:80"`), false},
		{"pair of 1", backendRule(`["h"]`), false},
		{"pair of 3", backendRule(`["h",1,2]`), false},
		{"pair host number", backendRule(`[1,1]`), false},
		{"pair port bool", backendRule(`["h",true]`), false},
		{"pair port fraction", backendRule(`["h",80.5]`), false},
		{"backend object", backendRule(`{"h":80}`), false},
		{"backend null", backendRule(`null`), false},
	})
}

func TestBackendAddr(t *testing.T) {
	tests := []struct {
		b    Backend
		want string
	}{
		{Backend{"127.0.0.1", 8000}, "127.0.0.1:8000"},
		{Backend{"ep.io", 80}, "ep.io:80"},
		{Backend{"::1", 80}, "[::1]:80"},
		{Backend{"fe32::54ab:12cc", 443}, "[fe32::54ab:12cc]:443"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.b.Addr(), "%+v", tt.b)
	}
}
