package main

import (
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseManagementConfig(t *testing.T) {
	c, err := ParseConfig("x", strings.NewReader("bind_management = unix:/run/mantrid/api.sock\n"+
		"bind_management = 127.0.0.1:8042\nmanagement_token_file = /etc/mantrid/api.token\n"+
		"MANAGEMENT_INSECURE = Yes\nmanagement_hosts = a.example, 10.0.0.1 ,[fd00::1]\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"unix:/run/mantrid/api.sock", "127.0.0.1:8042"}, c.BindManagement)
	assert.Equal(t, "/etc/mantrid/api.token", c.ManagementTokenFile)
	assert.True(t, c.ManagementInsecure)
	assert.Equal(t, []string{"a.example", "10.0.0.1", "[fd00::1]"}, c.ManagementHosts)

	d, err := ParseConfig("x", strings.NewReader("management_insecure = off\n"))
	require.NoError(t, err)
	assert.False(t, d.ManagementInsecure)
	assert.Empty(t, d.ManagementTokenFile)
	assert.Empty(t, d.ManagementHosts)

	long := "unix:/" + strings.Repeat("s", maxSocketPath)
	for _, tc := range []struct{ name, text, want string }{
		{"relative socket", "bind_management = unix:api.sock\n", "x:1: bind_management: address \"unix:api.sock\": a Unix socket needs an absolute path"},
		{"no socket path", "bind_management = unix:\n", "a Unix socket needs an absolute path"},
		{"long socket path", "bind_management = " + long + "\n", "a Unix socket path is at most 107 bytes"},
		{"unix on bind", "bind = unix:/run/x.sock\n", "x:1: bind: address"},
		{"insecure maybe", "management_insecure = maybe\n", "x:1: management_insecure: want true or false, got \"maybe\""},
		{"host with port", "management_hosts = a.example:8042\n", "x:1: management_hosts: entry a.example:8042 is not a hostname or an IP address"},
		{"empty host entry", "management_hosts = a.example,,b.example\n", "x:1: management_hosts: an entry is empty"},
		{"scheme", "management_hosts = http://a.example\n", "management_hosts: entry"},
		{"token file twice", "management_token_file = /a\nmanagement_token_file = /b\n", "x:2: management_token_file is given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("x", strings.NewReader(tc.text))
			require.Error(t, err, "config %q", tc.text)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestExposed(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 8042}, false},
		{&net.TCPAddr{IP: net.ParseIP("127.1.2.3"), Port: 8042}, false},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 8042}, false},
		{&net.TCPAddr{IP: net.ParseIP("0.0.0.0"), Port: 8042}, true},
		{&net.TCPAddr{IP: net.ParseIP("::"), Port: 8042}, true},
		{&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 8042}, true},
		{&net.UnixAddr{Name: "/run/mantrid/api.sock", Net: "unix"}, false},
	} {
		assert.Equal(t, tc.want, exposed(tc.addr), "%v", tc.addr)
	}
}
