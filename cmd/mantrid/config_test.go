package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := ParseConfig("x", strings.NewReader("# nothing\n\n"))
		require.NoError(t, err)
		assert.Equal(t, []string{"*:80"}, c.Bind)
		assert.Equal(t, []string{"127.0.0.1:8042", "[::1]:8042"}, c.BindManagement)
		assert.Equal(t, "/var/lib/mantrid/state.json", c.StateFile)
		assert.Equal(t, 4321, c.UID)
		assert.Equal(t, 4321, c.GID)
		assert.Equal(t, "/etc/mantrid/static/", c.StaticDir)
		assert.Empty(t, c.BindInternal)
	})
	t.Run("values, repeats, comments, case", func(t *testing.T) {
		text := "BIND = 10.0.0.45:80  # first\nbind=[fe32::54ab:12cc]:80\nBind_Internal = *:81\n" +
			"bind_management = [::]:8042\nstate_file = /tmp/s.json # here\nUID = 1000\ngid=1001\n" +
			"static_dir = /srv/static\nhead_timeout = 2.5\nidle_timeout = 30\nevent_loops = 3\n"
		c, err := ParseConfig("x", strings.NewReader(text))
		require.NoError(t, err)
		assert.Equal(t, []string{"10.0.0.45:80", "[fe32::54ab:12cc]:80"}, c.Bind)
		assert.Equal(t, []string{"*:81"}, c.BindInternal)
		assert.Equal(t, []string{"[::]:8042"}, c.BindManagement)
		assert.Equal(t, "/tmp/s.json", c.StateFile)
		assert.Equal(t, 1000, c.UID)
		assert.Equal(t, 1001, c.GID)
		assert.Equal(t, "/srv/static", c.StaticDir)
		assert.Equal(t, 2500*time.Millisecond, c.HeadTimeout)
		assert.Equal(t, 30*time.Second, c.IdleTimeout)
		assert.Equal(t, 3, c.EventLoops)
	})
	errs := []struct{ name, text, want string }{
		{"no equals", "bind 80\n", "x:1: expected \"name = value\""},
		{"unknown name", "\n\nfrobnicate = 1\n", "x:3: unknown name \"frobnicate\""},
		{"twice", "uid = 1\nuid = 2\n", "x:2: uid is given twice"},
		{"twice, other case", "state_file = a\nSTATE_FILE = b\n", "x:2: state_file is given twice"},
		{"empty value", "uid =\n", "x:1: uid needs a value"},
		{"bad number", "uid = x\n", "x:1: uid:"},
		{"bad address", "bind = 80\n", "x:1: bind: address \"80\""},
		{"bad port", "bind = *:99999\n", "x:1: bind:"},
		{"empty host", "bind = :80\n", "x:1: bind:"},
		{"bad seconds", "head_timeout = 0\n", "x:1: head_timeout:"},
		{"head size limit", "max_head_size = 100\n", "x:1: max_head_size:"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("x", strings.NewReader(tc.text))
			require.Error(t, err, "config %q", tc.text)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestListenNetwork(t *testing.T) {
	cases := []struct{ in, network, addr string }{
		{"*:80", "tcp", ":80"},
		{"0.0.0.0:80", "tcp4", "0.0.0.0:80"},
		{"10.0.0.45:80", "tcp4", "10.0.0.45:80"},
		{"[::]:80", "tcp6", "[::]:80"},
		{"[fe32::54ab:12cc]:80", "tcp6", "[fe32::54ab:12cc]:80"},
		{"localhost:80", "tcp", "localhost:80"},
	}
	for _, tc := range cases {
		n, a, err := ListenNetwork(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.network, n, tc.in)
		assert.Equal(t, tc.addr, a, tc.in)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("bind = *:80\nuid = 3 # c\n")
	f.Add("BIND_INTERNAL=[::1]:0\nstate_file = /x\n")
	f.Add("x\n=\n==\n#=\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseConfig("f", strings.NewReader(text))
		if err != nil {
			assert.Contains(t, err.Error(), "f:", "errors name the file and line")
			return
		}
		require.NoError(t, c.Validate())
	})
}

func TestParseConfigLogLevel(t *testing.T) {
	c, err := ParseConfig("x", strings.NewReader(""))
	require.NoError(t, err)
	assert.Equal(t, slog.LevelInfo, c.LogLevel, "default")
	for text, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "Warn": slog.LevelWarn, "error": slog.LevelError} {
		c, err := ParseConfig("x", strings.NewReader("log_level = "+text+"\n"))
		require.NoError(t, err, text)
		assert.Equal(t, want, c.LogLevel, text)
	}
	_, err = ParseConfig("x", strings.NewReader("\nlog_level = loud\n"))
	assert.ErrorContains(t, err, `x:2: log_level: want debug, info, warn or error, got "loud"`)
}
