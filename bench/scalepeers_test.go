package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mantrid/mantrid/bench/hostset"
)

func TestMapFileSet(t *testing.T) {
	for _, f := range []hostset.Format{hostset.Nginx, hostset.HAProxy} {
		t.Run(string(f), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hosts.map")
			file, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, hostset.Set{N: 300, Extra: []hostset.Extra{hostset.BenchExtra("127.0.0.1:9")}}.Write(file, f))
			require.NoError(t, file.Close())
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			m := &mapFile{path: path, data: data}
			require.NoError(t, m.set(hostset.Host(0), "u09"))
			require.NoError(t, m.set(hostset.Host(17), "u15"))
			require.NoError(t, m.set(hostset.BenchHost, "u03"))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, m.data, got, "file and memory agree")
			end := map[hostset.Format]string{hostset.Nginx: ";", hostset.HAProxy: ""}[f]
			lines := strings.Split(string(got), "\n")
			assert.Equal(t, hostset.Host(0)+" u09"+end, lines[0])
			assert.Equal(t, hostset.Host(16)+" u00"+end, lines[16], "neighbours untouched")
			assert.Equal(t, hostset.Host(17)+" u15"+end, lines[17])
			assert.Equal(t, "bench.test u03"+end, lines[300])
			assert.ErrorContains(t, m.set("nowhere.example.com", "u01"), "no line")
			assert.ErrorContains(t, m.set(hostset.Host(1), "u100"), "not 4 bytes")
		})
	}
}

func TestHashSize(t *testing.T) {
	assert.Equal(t, 2048, hashSize(10))
	assert.Equal(t, 65536, hashSize(20001))
	assert.Equal(t, 2097152, hashSize(1_000_001))
}

func TestHAProxyCommand(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "h.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			if strings.Contains(line, "nope") {
				c.Write([]byte("entry not found.\n\n"))
			} else {
				c.Write([]byte("\n"))
			}
			c.Close()
		}
	}()
	assert.NoError(t, haproxyCommand(t.Context(), sock, "set map /m a.example.com u01"))
	assert.ErrorContains(t, haproxyCommand(t.Context(), sock, "set map /m nope.example.com u01"), "entry not found")
}
