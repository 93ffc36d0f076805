package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/bench/hostset"
)

// haproxyScaleConfig is HAProxy routing by a map of the standard hosts;
// %[1]d is the public port, %[2]s the runtime API socket, %[3]s the map
// file, %[4]s the backends. /_map answers the backend a Host maps to.
const haproxyScaleConfig = `global
    nbthread 1
    maxconn 4000
    stats socket %[2]s mode 600 level admin
` + haproxyDefaults + `frontend fe
    bind 127.0.0.1:%[1]d
    http-request return status 200 content-type text/plain lf-string "%%[req.hdr(host),lower,map(%[3]s,be_default)]\n" if { path /_map }
    use_backend %%[req.hdr(host),lower,map(%[3]s,be_default)]
%[4]s`

// startScaleHAProxy starts HAProxy (one thread) with the standard set as a
// map file from Host to backend name; every backend (u00…, be_default)
// is the bench backend. Changes go through the runtime API socket and
// are not written to the map file. It waits until bench.test is served.
func (e *env) startScaleHAProxy(ctx context.Context, name string) (*loaded, error) {
	mapPath, err := e.hostFile(hostset.HAProxy, hostset.DefaultPort)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(e.dir, name+".sock")
	var backends strings.Builder
	for _, b := range append([]string{"be_default"}, backendNames()...) {
		fmt.Fprintf(&backends, "backend %s\n    server s1 127.0.0.1:%d\n", b, e.bport)
	}
	cfg, err := e.write(name+".cfg", fmt.Sprintf(haproxyScaleConfig, port, sock, mapPath, backends.String()))
	if err != nil {
		return nil, err
	}
	p, err := e.start(name, "haproxy", "-db", "-f", cfg)
	if err != nil {
		return nil, err
	}
	t := &target{name: "HAProxy (nbthread 1)", url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	ready, err := waitUp(ctx, p, "Host: bench.test", func(ctx context.Context) error { return probe(ctx, t.url) })
	if err != nil {
		p.stop()
		return nil, err
	}
	edits := newMapEdits(e.o.hosts, hostset.DefaultBackends)
	return &loaded{
		t: t, ready: ready, how: "`set map` on the runtime API socket",
		change: func(ctx context.Context, k int) error {
			host, backend := edits.next(k)
			return haproxyCommand(ctx, sock, fmt.Sprintf("set map %s %s %s", mapPath, host, backend))
		},
		check: func(ctx context.Context, k int) error { return wantMapped(ctx, t.url, edits, k) },
		stop:  stopPeer(p),
	}, nil
}

// backendNames returns the backend (upstream) names of the map formats.
func backendNames() []string {
	out := make([]string, hostset.DefaultBackends)
	for i := range out {
		out[i] = hostset.BackendName(i)
	}
	return out
}

// stopPeer returns a stop function for a peer process: SIGTERM, and an
// error when it has to be killed.
func stopPeer(p *process) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		d, clean := p.stopWithin(scaleTimeout)
		if !clean {
			return d, fmt.Errorf("%s did not exit within %s of SIGTERM (killed)", p.name, scaleTimeout)
		}
		return d, nil
	}
}

// haproxyCommand sends one command to HAProxy's runtime API and wants the
// empty answer of success.
func haproxyCommand(ctx context.Context, sock, cmd string) error {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return err
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		return fmt.Errorf("%s: HAProxy answered %q", cmd, s)
	}
	return nil
}

// wantMapped checks that /_map answers the backend change k gave its host.
func wantMapped(ctx context.Context, url string, edits *mapEdits, k int) error {
	host, want := edits.value(k)
	got, err := mappedTo(ctx, url, host)
	if err == nil && got != want {
		err = fmt.Errorf("%s maps to %s, want %s", host, got, want)
	}
	return err
}

// mappedTo asks /_map, on a new connection, which backend host maps to.
func mappedTo(ctx context.Context, url, host string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/_map", nil)
	if err != nil {
		return "", err
	}
	req.Host, req.Close = host, true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/_map for %s: %s", host, resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}

// nginxScaleConfig is the http block's body of nginx routing by a map of
// the standard hosts: %[1]d map_hash_max_size, %[2]s the map file, %[3]s
// the upstreams, %[4]d the public port. /_map answers the upstream a Host
// maps to.
const nginxScaleConfig = `    map_hash_max_size %[1]d;
    map_hash_bucket_size 128;
    map $host $upstream_name {
        default u00;
        include %[2]s;
    }
%[3]s    server {
        listen 127.0.0.1:%[4]d reuseport;
        location = /_map { return 200 "$upstream_name\n"; }
        location / {
            proxy_pass http://$upstream_name;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_max_temp_file_size 0;
        }
    }
`

// startScaleNginx starts nginx (one worker) with the standard set as a map
// include from $host to upstream name; every upstream is the bench
// backend. A change edits its own copy of the map file in place and
// reloads nginx (SIGHUP to the master), and lasts until /_map answers the
// new upstream. It waits until bench.test is served.
func (e *env) startScaleNginx(ctx context.Context, name string) (*loaded, error) {
	mf := &mapFile{path: filepath.Join(e.dir, name+".map")}
	if err := e.writeHostFile(mf.path, hostset.Nginx, hostset.DefaultPort); err != nil {
		return nil, err
	}
	var err error
	if mf.data, err = os.ReadFile(mf.path); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var ups strings.Builder
	for _, u := range backendNames() {
		fmt.Fprintf(&ups, "    upstream %s { server 127.0.0.1:%d; keepalive 1024; keepalive_requests 1000000; }\n", u, e.bport)
	}
	p, err := e.startNginx(name, fmt.Sprintf(nginxScaleConfig, hashSize(e.o.hosts+1), mf.path, ups.String(), port))
	if err != nil {
		return nil, err
	}
	t := &target{name: "nginx (1 worker)", url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	ready, err := waitUp(ctx, p, "Host: bench.test", func(ctx context.Context) error { return probe(ctx, t.url) })
	if err != nil {
		p.stop()
		return nil, err
	}
	edits := newMapEdits(e.o.hosts, hostset.DefaultBackends)
	return &loaded{
		t: t, ready: ready, how: "edit the map file, SIGHUP (reload); lasts until the new upstream is served", backToBack: true,
		change: func(ctx context.Context, k int) error {
			host, upstream := edits.next(k)
			if err := mf.set(host, upstream); err != nil {
				return err
			}
			sent := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				return err
			}
			_, err := pollUntil(ctx, p, "the reloaded map", sent, func(ctx context.Context) error { return wantMapped(ctx, t.url, edits, k) })
			return err
		},
		check: func(ctx context.Context, k int) error { return wantMapped(ctx, t.url, edits, k) },
		stop:  stopPeer(p),
	}, nil
}

// hashSize is the map_hash_max_size for n keys: the power of two at least
// twice n, and at least nginx's default 2048.
func hashSize(n int) int {
	s := 2048
	for s < 2*n {
		s *= 2
	}
	return s
}

// mapFile is a map file edited in place. Backend names have one length
// (hostset.BackendName), so a change rewrites a few bytes of it.
type mapFile struct {
	path string
	data []byte // the file's contents, kept in step with the file
}

// set makes host map to backend in the file.
func (m *mapFile) set(host, backend string) error {
	key := []byte(host + " ")
	off := -1
	if bytes.HasPrefix(m.data, key) {
		off = 0
	} else if i := bytes.Index(m.data, append([]byte{'\n'}, key...)); i >= 0 {
		off = i + 1
	}
	if off < 0 {
		return fmt.Errorf("%s: no line for %s", m.path, host)
	}
	v := off + len(key)
	end := bytes.IndexAny(m.data[v:], ";\n")
	if end != len(backend) {
		return fmt.Errorf("%s: the value of %s is not %d bytes long", m.path, host, len(backend))
	}
	f, err := os.OpenFile(m.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt([]byte(backend), int64(v))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		copy(m.data[v:], backend)
	}
	return err
}
