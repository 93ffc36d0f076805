package httpparse

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidHost(t *testing.T) {
	cases := map[string]bool{
		"a": true, "example.com": true, "EXAMPLE.com.": true, "a-b_c~d": true, "a:80": true, "a:0": true,
		"a:65535": true, "192.0.2.1:8080": true, "x!$&'()*+,;=y": true, "256.1.1.1": true,
		"[::]": true, "[::1]": true, "[::1]:80": true, "[2001:db8::8:800:200c:417a]": true,
		"[1:2:3:4:5:6:7:8]": true, "[1:2:3:4:5:6:7::]": true, "[::2:3:4:5:6:7:8]": true,
		"[::ffff:192.0.2.1]": true, "[1:2:3:4:5:6:1.2.3.4]": true, "[FE80::ABCD]": true,

		"": false, ":80": false, "a:": false, "a:65536": false, "a:123456": false, "a:8a": false,
		"a:80:80": false, "u@a": false, "a b": false, "%61": false, "a/b": false, "a?": false,
		"[": false, "[]": false, "[::1": false, "::1": false, "[::1]x": false, "[::1]:": false,
		"[1:2:3:4:5:6:7:8:9]": false, "[1:2:3:4:5:6:7]": false, "[1:2:3:4:5:6:7:8::]": false,
		"[1::2::3]": false, "[:1::]": false, "[1:]": false, "[12345::]": false, "[g::]": false,
		"[192.0.2.1]": false, "[::1.2.3]": false, "[::1.2.3.4.5]": false, "[::01.2.3.4]": false,
		"[::256.2.3.4]": false, "[1:2:3:4:5:6:7:1.2.3.4]": false, "[::1.2.3.4:5]": false,
		"[fe80::1%25eth0]": false, "[v1.x]": false, "[:::]": false, "[1:::2]": false,
	}
	for in, want := range cases {
		assert.Equal(t, want, validHost([]byte(in)), "validHost(%q)", in)
	}
}

func TestValidAuthority(t *testing.T) {
	for in, want := range map[string]bool{
		"a:443": true, "[::1]:443": true, "a": false, "a:": false, "/a": false, "http://a": false,
	} {
		assert.Equal(t, want, validAuthority([]byte(in)), "validAuthority(%q)", in)
	}
}

func TestCheckPath(t *testing.T) {
	for in, want := range map[string]error{
		"/": nil, "/a%2Fb": nil, "/%aa%BB": nil, "/?%": nil, "/a?%zz": nil, "*": nil,
		"/%": ErrBadTarget, "/%a": ErrBadTarget, "/%ag": ErrBadTarget, "/%?aa": ErrBadTarget,
	} {
		assert.Equal(t, want, checkPath([]byte(in)), "checkPath(%q)", in)
	}
}
