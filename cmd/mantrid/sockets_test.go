package main

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAddrMatches(t *testing.T) {
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	cases := []struct {
		name    string
		want    string
		got     net.Addr
		anyPort bool
		match   bool
	}{
		{"same IPv4", "127.0.0.1:8080", tcp("127.0.0.1", 8080), false, true},
		{"other port", "127.0.0.1:8080", tcp("127.0.0.1", 8081), false, false},
		{"other IP", "127.0.0.1:8080", tcp("127.0.0.2", 8080), false, false},
		{"star is any address", "*:80", tcp("::", 80), false, true},
		{"star, IPv4 any", "*:80", tcp("0.0.0.0", 80), false, true},
		{"star is not one address", "*:80", tcp("127.0.0.1", 80), false, false},
		{"IPv4 any is not IPv6 any", "0.0.0.0:80", tcp("::", 80), false, false},
		{"IPv6 any", "[::]:80", tcp("::", 80), false, true},
		{"IPv6 loopback", "[::1]:80", tcp("::1", 80), false, true},
		{"port 0 from systemd", "127.0.0.1:0", tcp("127.0.0.1", 4000), false, false},
		{"port 0 handed over", "127.0.0.1:0", tcp("127.0.0.1", 4000), true, true},
		{"port 0 handed over, other IP", "127.0.0.1:0", tcp("127.0.0.2", 4000), true, false},
		{"host name", "localhost:80", tcp("127.0.0.1", 80), false, true},
		{"unix socket", "unix:/run/mantrid/api.sock", &net.UnixAddr{Name: "/run/mantrid/api.sock", Net: "unix"}, false, true},
		{"other unix socket", "unix:/run/mantrid/api.sock", &net.UnixAddr{Name: "/tmp/x.sock", Net: "unix"}, false, false},
		{"unix socket for a TCP line", "127.0.0.1:80", &net.UnixAddr{Name: "/tmp/x.sock", Net: "unix"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.match, addrMatches(tc.want, tc.got, tc.anyPort), "%s vs %s (any port %v)", tc.want, tc.got, tc.anyPort)
		})
	}
}

func TestConfigName(t *testing.T) {
	for field, want := range map[string]string{
		"MaxURILength": "max_uri_length", "UID": "uid", "BindManagement": "bind_management",
		"IdleTimeout": "idle_timeout", "LogLevel": "log_level", "MaxIdlePerBackend": "max_idle_per_backend",
	} {
		assert.Equal(t, want, configName(field))
	}
	// Every live setting is a config name.
	names := configNames()
	for field := range liveSettings {
		_, ok := names[configName(field)]
		assert.True(t, ok, "liveSettings field %s has no config name %s", field, configName(field))
	}
}
