package static

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuiltins(t *testing.T) {
	ps, err := Load("")
	require.NoError(t, err)
	for name, want := range map[string]struct {
		status int
		text   string
	}{
		NoHosts: {503, "No hosts are configured"},
		Test:    {200, "Congratulations"},
		Timeout: {503, "try again"},
		Unknown: {503, "No site is configured at this address"},
	} {
		t.Run(name, func(t *testing.T) {
			page, ok := ps.Get(name)
			require.True(t, ok, "built-in %q", name)
			assert.Equal(t, want.status, page.Status)
			for _, keepAlive := range []bool{true, false} {
				raw := page.AppendTo(nil, keepAlive, false)
				resp, body := readBack(t, raw, false)
				assert.Equal(t, want.status, resp.StatusCode, "page %q", name)
				assert.Equal(t, strconv.Itoa(len(body)), resp.Header.Get("Content-Length"), "page %q", name)
				assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), "page %q", name)
				assert.Contains(t, string(body), want.text, "page %q", name)
				assert.Equal(t, !keepAlive, resp.Close, "page %q", name)

				raw = page.AppendTo(nil, keepAlive, true)
				resp, body = readBack(t, raw, true)
				assert.Empty(t, body, "HEAD answer of %q", name)
				assert.Equal(t, want.status, resp.StatusCode)
			}
		})
	}
	_, ok := ps.Get("missing")
	assert.False(t, ok)
}

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "test.http", "HTTP/1.1 200 OK\nContent-Type: text/plain\n\noverridden\n")
	writeFile(t, dir, "maintenance.http", "HTTP/1.1 503 Down for maintenance\r\nRetry-After: 60\r\n\r\nback soon")
	writeFile(t, dir, ".hidden.http", "not a response")
	writeFile(t, dir, "notes.txt", "not a page")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	ps, err := Load(dir)
	require.NoError(t, err)

	page, ok := ps.Get(Test)
	require.True(t, ok)
	_, body := readBack(t, page.AppendTo(nil, true, false), false)
	assert.Equal(t, "overridden\n", string(body), "a file overrides the built-in")

	page, ok = ps.Get("maintenance")
	require.True(t, ok)
	resp, body := readBack(t, page.AppendTo(nil, true, false), false)
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))
	assert.Equal(t, "back soon", string(body))

	for _, name := range []string{NoHosts, Timeout, Unknown} {
		_, ok := ps.Get(name)
		assert.True(t, ok, "built-in %q still there", name)
	}
	for _, name := range []string{".hidden", "notes", "sub"} {
		_, ok := ps.Get(name)
		assert.False(t, ok, "%q is not a page", name)
	}
}

func TestLoadMissingDir(t *testing.T) {
	ps, err := Load(filepath.Join(t.TempDir(), "absent"))
	require.NoError(t, err, "a missing directory means built-ins only")
	_, ok := ps.Get(Unknown)
	assert.True(t, ok)
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, data, want string
	}{
		{"invalid head", "broken.http", "HTTP/1.1 200 OK\nBad Header: x\n\n", "whitespace before colon"},
		{"status line", "html.http", "<html></html>", "malformed status line"},
		{"1xx", "early.http", "HTTP/1.1 103 Early Hints\n\n", "not a final response"},
		{"name", "bad name.http", "HTTP/1.1 200 OK\n\n", "invalid page name"},
		{"dots", "a..b.http", "HTTP/1.1 200 OK\n\n", "invalid page name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "good.http", "HTTP/1.1 200 OK\n\n")
			writeFile(t, dir, tc.file, tc.data)
			_, err := Load(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), filepath.Join(dir, tc.file), "the error names the file")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("directory named .http", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, "d.http"), 0o755))
		_, err := Load(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "d.http")
		assert.Contains(t, err.Error(), "not a regular file")
	})
	t.Run("too large", func(t *testing.T) {
		dir := t.TempDir()
		big := make([]byte, MaxPageSize+1)
		copy(big, "HTTP/1.1 200 OK\n\n")
		writeFile(t, dir, "big.http", string(big))
		_, err := Load(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "big.http")
		assert.Contains(t, err.Error(), "larger than")
	})
	t.Run("dir is a file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		writeFile(t, filepath.Dir(file), "file", "x")
		_, err := Load(file)
		require.Error(t, err)
		assert.Contains(t, err.Error(), file)
	})
	t.Run("unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any file")
		}
		dir := t.TempDir()
		writeFile(t, dir, "secret.http", "HTTP/1.1 200 OK\n\n")
		require.NoError(t, os.Chmod(filepath.Join(dir, "secret.http"), 0))
		_, err := Load(dir)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "secret.http")
	})
}

func TestMaxPageSize(t *testing.T) {
	head := "HTTP/1.1 200 OK\n\n"
	for _, tc := range []struct {
		size int
		ok   bool
	}{{MaxPageSize - 1, true}, {MaxPageSize, true}, {MaxPageSize + 1, false}} {
		data := make([]byte, tc.size)
		copy(data, head)
		page, err := parse(data)
		assert.Equal(t, tc.ok, err == nil, "file of %d bytes: %v", tc.size, err)
		if err == nil {
			assert.Equal(t, tc.size-len(head), len(page.body))
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"test": true, "no-hosts": true, "A_b.c-1": true, "v1.2": true,
		"": false, ".": false, "..": false, ".hidden": false, "a/b": false, "../x": false, "a..b": false,
		"a b": false, "caf\xc3\xa9": false, "a\\b": false, "a:b": false, "a\x00": false,
	} {
		assert.Equal(t, want, ValidName(name), "ValidName(%q)", name)
	}
}

func TestPagesConcurrentUse(t *testing.T) {
	ps, err := Load("")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			buf := make([]byte, 0, 4096)
			for i := range 200 {
				page, ok := ps.Get(Unknown)
				if !ok {
					t.Error("Unknown missing")
					return
				}
				buf = page.AppendTo(buf[:0], i%2 == 0, i%3 == 0)
			}
		})
	}
	wg.Wait()
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "maintenance.http", "HTTP/1.1 503 Down\n\nfirst")
	writeFile(t, dir, "gone.http", "HTTP/1.1 200 OK\n\ngone soon")
	writeFile(t, dir, "unknown.http", "HTTP/1.1 410 Gone\n\nno such site")
	prev, err := Load(dir)
	require.NoError(t, err)

	writeFile(t, dir, "maintenance.http", "not a response")                  // broken: the old page stays
	writeFile(t, dir, "new.http", "HTTP/1.1 200 OK\n\nnew page")             // added
	writeFile(t, dir, "unknown.http", "HTTP/1.1 451 Unavailable\n\nchanged") // changed
	writeFile(t, dir, "fresh.http", "HTTP/1.1 204 No Content\n\nbody")       // broken, nothing to keep
	require.NoError(t, os.Remove(filepath.Join(dir, "gone.http")))

	ps, problems := Reload(dir, prev)
	require.Len(t, problems, 2, "problems: %v", problems)
	assert.ErrorContains(t, errors.Join(problems...), "maintenance.http")
	assert.ErrorContains(t, errors.Join(problems...), "fresh.http")

	page := func(name string) string {
		p, ok := ps.Get(name)
		require.True(t, ok, "page %q", name)
		_, body := readBack(t, p.AppendTo(nil, true, false), false)
		return string(body)
	}
	assert.Equal(t, "first", page("maintenance"), "a broken file keeps the page it replaces")
	assert.Equal(t, "new page", page("new"))
	assert.Equal(t, "changed", page("unknown"))
	_, ok := ps.Get("gone")
	assert.False(t, ok, "a removed file takes its page away")
	_, ok = ps.Get("fresh")
	assert.False(t, ok)
	assert.Equal(t, "first", func() string { // prev itself is untouched
		p, _ := prev.Get("maintenance")
		_, body := readBack(t, p.AppendTo(nil, true, false), false)
		return string(body)
	}())

	t.Run("unreadable folder keeps everything", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "plain")
		writeFile(t, filepath.Dir(file), "plain", "a file, not a folder")
		got, problems := Reload(file, prev)
		assert.Same(t, prev, got)
		require.Len(t, problems, 1)
	})
}
