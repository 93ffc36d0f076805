package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mantrid/mantrid/bench/hostset"
)

// bigSize is the size of the download scenario's file: 200 MB.
const bigSize = 200 << 20

// benchHost is the Host header every request carries.
const benchHost = hostset.BenchHost

// target is one address wrk drives and the process whose cost is measured.
type target struct {
	name string
	url  string // base URL, no trailing slash
	api  string // Mantrid's REST API base URL ("" for others)
	proc *process
}

// env holds the temp folder, the started processes and the targets.
type env struct {
	o       options
	dir     string
	procs   []*process
	cmds    []string          // every command line started, in order
	configs map[string]string // config file name → contents, for the report
	backend *target
	mantrid []*target // event_loops 1, then 2 (when -loops2)
	million *target   // Mantrid with 1,000,000 rules
	nginx   *target
	haproxy *target // nil when haproxy is not installed
	bport   int
}

// checkTools fails with the way to install them when wrk or nginx is missing.
func checkTools() error {
	var missing []string
	for _, t := range []string{"wrk", "nginx"} {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found: run `make bench-deps` (apt-get install wrk nginx-light haproxy)", strings.Join(missing, " and "))
	}
	return nil
}

// newEnv makes the temp folder, readable by nginx workers that run as nobody.
func newEnv(o options) (*env, error) {
	dir, err := os.MkdirTemp("", "mantrid-bench-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &env{o: o, dir: dir, configs: map[string]string{}}, nil
}

// close stops every started process by PID, newest first, and removes the
// temp folder.
func (e *env) close() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
	os.RemoveAll(e.dir)
}

// write stores a config file in the temp folder and keeps it for the report.
func (e *env) write(name, body string) (string, error) {
	e.configs[name] = body
	p := filepath.Join(e.dir, name)
	return p, os.WriteFile(p, []byte(body), 0o644)
}

// start starts a process and remembers it for close.
func (e *env) start(name string, argv ...string) (*process, error) {
	p, err := startProcess(name, filepath.Join(e.dir, name+".log"), argv, &e.cmds)
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	return p, nil
}

// startAll starts the backend and the proxies the wanted scenarios drive,
// and waits until each answers. The scale scenarios start their own.
func (e *env) startAll(ctx context.Context) error {
	if err := e.startBackend(ctx); err != nil {
		return err
	}
	if e.o.wantsPeers() {
		if err := e.startPeers(ctx); err != nil {
			return err
		}
	}
	if !e.o.wantsMantrid() {
		return nil
	}
	loops := []int{1}
	if e.o.loops2 && e.o.wantsPeers() {
		loops = append(loops, 2)
	}
	for _, n := range loops {
		t, err := e.startMantrid(ctx, fmt.Sprintf("mantrid-%d", n), n, 9)
		if err != nil {
			return err
		}
		t.name = fmt.Sprintf("Mantrid event_loops=%d", n)
		e.mantrid = append(e.mantrid, t)
	}
	if e.o.million && e.o.wants("1M") {
		t, err := e.startMantrid(ctx, "mantrid-1m", 1, e.o.hosts)
		if err != nil {
			return err
		}
		t.name = fmt.Sprintf("Mantrid event_loops=1, %s rules", countLabel(e.o.hosts))
		e.million = t
	}
	return nil
}

// stopDataPath stops the proxies of the data-path scenarios (not the
// backend) once those scenarios are done, so that they hold no memory or
// CPU while the scale scenarios run.
func (e *env) stopDataPath() {
	for _, t := range append([]*target{e.nginx, e.haproxy, e.million}, e.mantrid...) {
		if t != nil {
			t.proc.stop()
		}
	}
}

// startPeers starts nginx and, when installed, HAProxy as proxies.
func (e *env) startPeers(ctx context.Context) error {
	if err := e.startNginxProxy(ctx); err != nil {
		return err
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: haproxy not installed, skipped (make bench-deps)")
		return nil
	}
	return e.startHAProxy(ctx)
}

// nginxCommon is the top of both nginx configs; %[1]s is the temp folder,
// %[2]s the instance name.
const nginxCommon = `daemon off;
worker_processes 1;
pid %[1]s/%[2]s.pid;
error_log %[1]s/%[2]s.error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
    access_log off;
    client_body_temp_path %[1]s/%[2]s.body;
    proxy_temp_path %[1]s/%[2]s.proxy;
    fastcgi_temp_path %[1]s/%[2]s.fastcgi;
    uwsgi_temp_path %[1]s/%[2]s.uwsgi;
    scgi_temp_path %[1]s/%[2]s.scgi;
    keepalive_requests 1000000;
`

// startNginx writes name.conf (nginxCommon + body + "}") and starts nginx.
func (e *env) startNginx(name, body string) (*process, error) {
	conf, err := e.write(name+".conf", fmt.Sprintf(nginxCommon, e.dir, name)+body+"}\n")
	if err != nil {
		return nil, err
	}
	return e.start(name, "nginx", "-p", e.dir+"/", "-e", filepath.Join(e.dir, name+".error.log"), "-c", conf)
}

// startBackend starts the nginx backend: `return 200 "hello world\n"`, and
// /big.bin, a 200 MB file, for the download scenario.
func (e *env) startBackend(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	if e.o.download && e.o.wants("200MB") {
		if err := os.WriteFile(filepath.Join(e.dir, "big.bin"), nil, 0o644); err != nil {
			return err
		}
		if err := os.Truncate(filepath.Join(e.dir, "big.bin"), bigSize); err != nil {
			return err
		}
	}
	p, err := e.startNginx("backend", fmt.Sprintf(`    server {
        listen 127.0.0.1:%d reuseport;
        location = /big.bin { root %s; }
        location / { return 200 "hello world\n"; }
    }
`, port, e.dir))
	if err != nil {
		return err
	}
	e.bport = port
	e.backend = &target{name: "backend directly (nginx)", url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	return waitReady(ctx, e.backend)
}

// startNginxProxy starts nginx as a reverse proxy to the backend.
func (e *env) startNginxProxy(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	p, err := e.startNginx("nginx-proxy", fmt.Sprintf(`    upstream backend { server 127.0.0.1:%d; keepalive 1024; keepalive_requests 1000000; }
    server {
        listen 127.0.0.1:%d reuseport;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_max_temp_file_size 0;
        }
    }
`, e.bport, port))
	if err != nil {
		return err
	}
	e.nginx = &target{name: "nginx (1 worker)", url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	return waitReady(ctx, e.nginx)
}

// startHAProxy starts HAProxy with one thread, no logging, reusing backend
// connections.
func (e *env) startHAProxy(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	conf, err := e.write("haproxy.cfg", fmt.Sprintf(`global
    nbthread 1
    maxconn 4000
`+haproxyDefaults+`frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, e.bport))
	if err != nil {
		return err
	}
	p, err := e.start("haproxy", "haproxy", "-db", "-f", conf)
	if err != nil {
		return err
	}
	e.haproxy = &target{name: "HAProxy (nbthread 1)", url: fmt.Sprintf("http://127.0.0.1:%d", port), proc: p}
	return waitReady(ctx, e.haproxy)
}

// haproxyDefaults is the defaults section of every HAProxy the bench
// starts: keep-alive both ways, backend connections reused.
const haproxyDefaults = `defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
`

// listenRE finds the addresses Mantrid logs once it has bound port 0.
var (
	publicRE = regexp.MustCompile(`msg=listening addr=(\S+)`)
	mgmtRE   = regexp.MustCompile(`msg="management API listening" addr=(\S+)`)
)

// startMantrid starts ./bin/mantrid on port 0 with `loops` event loops,
// learns its ports from its log, and loads the standard rule set of
// `hosts` hosts plus bench.test through the bulk PUT.
func (e *env) startMantrid(ctx context.Context, name string, loops, hosts int) (*target, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "bind = 127.0.0.1:0\nbind_management = 127.0.0.1:0\n")
	fmt.Fprintf(&b, "state_file = %s/%s.state.json\nstatic_dir = %s/%s.static\n", e.dir, name, e.dir, name)
	fmt.Fprintf(&b, "event_loops = %d\ngrace_period = 1\nsave_interval = 3600\n", loops)
	if os.Geteuid() == 0 {
		b.WriteString("uid = 0\ngid = 0\n")
	}
	conf, err := e.write(name+".conf", b.String())
	if err != nil {
		return nil, err
	}
	p, err := e.start(name, e.o.mantrid, "-c", conf)
	if err != nil {
		return nil, err
	}
	pub, mgmt, err := mantridAddrs(ctx, p, filepath.Join(e.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	t := &target{name: name, url: "http://" + pub, api: "http://" + mgmt, proc: p}
	if err := e.putRules(ctx, "http://"+mgmt, hosts); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, waitReady(ctx, t)
}

// mantridAddrs polls Mantrid's log for its public and management addresses.
func mantridAddrs(ctx context.Context, p *process, logPath string) (string, string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		b, _ := os.ReadFile(logPath)
		pub, mgmt := publicRE.FindSubmatch(b), mgmtRE.FindSubmatch(b)
		if pub != nil && mgmt != nil {
			return string(pub[1]), string(mgmt[1]), nil
		}
		if p.exited() {
			return "", "", fmt.Errorf("%s exited: %s", p.name, lastLines(b))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", "", fmt.Errorf("%s did not log its addresses within 10 s", p.name)
}

// lastLines returns the end of a log for an error message.
func lastLines(b []byte) string {
	if len(b) > 500 {
		b = b[len(b)-500:]
	}
	return strings.TrimSpace(string(b))
}

// putRules replaces all rules with the standard set of hosts hosts
// (bench/hostset) and bench.test proxied to the backend, in one bulk PUT.
func (e *env) putRules(ctx context.Context, api string, hosts int) error {
	path := filepath.Join(e.dir, fmt.Sprintf("rules-%d.json", hosts))
	set := hostset.Set{N: hosts, Extra: []hostset.Extra{hostset.BenchExtra(fmt.Sprintf("127.0.0.1:%d", e.bport))}}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = set.Write(f, hostset.Put)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if _, err := bulkPut(ctx, api, path); err != nil {
		return fmt.Errorf("%d rules: %w", hosts+1, err)
	}
	return nil
}

// waitReady polls the target until GET / with Host bench.test answers 200.
func waitReady(ctx context.Context, t *target) error {
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if t.proc.exited() {
			b, _ := os.ReadFile(t.proc.log.Name())
			return fmt.Errorf("%s exited: %s", t.proc.name, lastLines(b))
		}
		last = probe(ctx, t.url)
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last == nil {
		last = errors.New("interrupted")
	}
	return fmt.Errorf("%s not ready: %w", t.proc.name, last)
}

// probe sends one request with the bench Host header.
func probe(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	if err != nil {
		return err
	}
	req.Host = benchHost
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}
