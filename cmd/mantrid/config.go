package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mantrid/mantrid/mgmt/store/etcdstore"
)

// DefaultConfigPath is read when no -c/--config is given and the file exists.
const DefaultConfigPath = "/etc/mantrid/mantrid.conf"

// Config is the daemon's configuration: the config file of SPEC §2 plus the
// tuning names documented in the README. The zero value is not useful; start
// from DefaultConfig.
type Config struct {
	// Bind lists the public listeners (default "*:80").
	Bind []string
	// BindInternal lists listeners for a trusted TLS terminator (default none).
	BindInternal []string
	// BindManagement lists REST API listeners (default 127.0.0.1:8042 and
	// [::1]:8042): host:port addresses, or unix:PATH for a Unix socket.
	BindManagement []string
	// StateFile is the first Mantrid's JSON state file: imported into the
	// store at the first start, when no store exists yet.
	StateFile string
	// StoreDir is the folder of the rule store; "" means StateFile's name
	// without ".json", plus ".store" (see StorePath).
	StoreDir string
	// UID and GID are the identity dropped to when started as root.
	UID, GID int
	// StaticDir holds extra or overriding static responses (NAME.http).
	StaticDir string

	// EventLoops is the number of gnet event loops (default: number of CPUs).
	EventLoops int
	// MaxConnections caps open client connections; 0 derives it from the fd limit.
	MaxConnections int
	// HeadTimeout bounds the time from a request's first byte (or the
	// connection's opening) to the end of its head (default 10s).
	HeadTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long (default 60s).
	IdleTimeout time.Duration
	// MaxHeadSize bounds a request head in bytes (default 16384; 431 beyond).
	MaxHeadSize int
	// MaxURILength bounds the request target in bytes (default 8192; 414 beyond).
	MaxURILength int
	// MaxHeaders bounds the number of header fields (default 100; 431 beyond).
	MaxHeaders int
	// SaveInterval is how often the counters are saved to the store when
	// they moved (default 10s); rule changes are on disk before the API
	// answers.
	SaveInterval time.Duration
	// GracePeriod bounds how long SIGTERM waits for requests under way
	// (default 10s).
	GracePeriod time.Duration
	// ConnectTimeout bounds one connection attempt to a backend (default 5s).
	ConnectTimeout time.Duration
	// BackendTimeout bounds the wait for a backend's next bytes (default 60s).
	BackendTimeout time.Duration
	// BackendIdleTimeout closes idle pooled backend connections (default 30s).
	BackendIdleTimeout time.Duration
	// MaxIdlePerBackend caps idle pooled connections per backend per loop (default 1024).
	MaxIdlePerBackend int
	// MaxDialsPerBackend caps connection attempts under way per backend per loop (default 128).
	MaxDialsPerBackend int
	// MaxSpin caps requests held by spin rules, all event loops together
	// (default 10000; 503 beyond).
	MaxSpin int
	// MaxPipelined caps bytes a client may send ahead of a proxied request (default 1 MiB).
	MaxPipelined int
	// LogLevel is the least level logged (default INFO; --debug forces DEBUG).
	LogLevel slog.Level

	// Who may use the REST API (management.go). ManagementTokenFile, when
	// set, names the file of the token every request must carry;
	// ManagementInsecure allows a non-loopback bind_management without
	// one; ManagementHosts are the Host names accepted besides the
	// loopback ones.
	ManagementTokenFile string
	ManagementInsecure  bool
	ManagementHosts     []string

	// The fleet (fleet.go): with EtcdEndpoints set (etcd client URLs), the
	// rules live in etcd under EtcdPrefix (default "/mantrid/") and the
	// store folder is this node's copy. EtcdUsername with the password in
	// EtcdPasswordFile authenticates; EtcdCAFile, EtcdCertFile and
	// EtcdKeyFile set up TLS. NodeName names this node (default: the
	// machine's hostname); NodeURL is the REST API's URL the other nodes
	// use to reach it (default: from bind_management, fleet.go nodeURL).
	EtcdEndpoints                         []string
	EtcdPrefix                            string
	EtcdUsername, EtcdPasswordFile        string
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	NodeName, NodeURL                     string

	// bindDefaulted and mgmtDefaulted record that the lists hold defaults, so
	// that the first value in the file replaces them instead of adding.
	bindDefaulted, mgmtDefaulted bool
}

// DefaultConfig returns the configuration used when no file is read.
func DefaultConfig() Config {
	return Config{
		Bind:           []string{"*:80"},
		BindManagement: []string{"127.0.0.1:8042", "[::1]:8042"},
		StateFile:      "/var/lib/mantrid/state.json",
		UID:            4321,
		GID:            4321,
		StaticDir:      "/etc/mantrid/static/",
		EventLoops:     runtime.NumCPU(),
		HeadTimeout:    10 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeadSize:    16 << 10,
		MaxURILength:   8 << 10,
		MaxHeaders:     100,
		SaveInterval:   10 * time.Second,
		GracePeriod:    10 * time.Second,

		ConnectTimeout:     5 * time.Second,
		BackendTimeout:     60 * time.Second,
		BackendIdleTimeout: 30 * time.Second,
		MaxIdlePerBackend:  1024,
		MaxDialsPerBackend: 128,
		MaxSpin:            10000,
		MaxPipelined:       1 << 20,
		EtcdPrefix:         etcdstore.DefaultPrefix,
		bindDefaulted:      true,
		mgmtDefaulted:      true,
	}
}

// ConfigError is a problem with one line of a config file.
type ConfigError struct {
	Path string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// setter applies one value; the bool says whether the name may repeat.
type setter struct {
	repeat bool
	set    func(c *Config, v string) error
}

var errEmptyValue = errors.New("needs a value")

// configNames maps each lower-cased config name to how it is applied.
func configNames() map[string]setter {
	return map[string]setter{
		"bind":            {true, func(c *Config, v string) error { return addAddr(&c.Bind, &c.bindDefaulted, v) }},
		"bind_internal":   {true, func(c *Config, v string) error { f := false; return addAddr(&c.BindInternal, &f, v) }},
		"bind_management": {true, addManagementAddr},
		"state_file":      {false, func(c *Config, v string) error { return setPath(&c.StateFile, v) }},
		"store_dir":       {false, func(c *Config, v string) error { return setPath(&c.StoreDir, v) }},
		"static_dir":      {false, func(c *Config, v string) error { return setPath(&c.StaticDir, v) }},
		"uid":             {false, func(c *Config, v string) error { return setInt(&c.UID, v, 0, 1<<31-1) }},
		"gid":             {false, func(c *Config, v string) error { return setInt(&c.GID, v, 0, 1<<31-1) }},
		"event_loops":     {false, func(c *Config, v string) error { return setInt(&c.EventLoops, v, 1, 256) }},
		"max_connections": {false, func(c *Config, v string) error { return setInt(&c.MaxConnections, v, 0, 10_000_000) }},
		"head_timeout":    {false, func(c *Config, v string) error { return setSeconds(&c.HeadTimeout, v) }},
		"idle_timeout":    {false, func(c *Config, v string) error { return setSeconds(&c.IdleTimeout, v) }},
		"max_head_size":   {false, func(c *Config, v string) error { return setInt(&c.MaxHeadSize, v, 1024, 1<<20) }},
		"max_uri_length":  {false, func(c *Config, v string) error { return setInt(&c.MaxURILength, v, 256, 1<<20) }},
		"max_headers":     {false, func(c *Config, v string) error { return setInt(&c.MaxHeaders, v, 8, 10_000) }},
		"save_interval":   {false, func(c *Config, v string) error { return setSeconds(&c.SaveInterval, v) }},
		"grace_period":    {false, func(c *Config, v string) error { return setSeconds(&c.GracePeriod, v) }},
		"connect_timeout": {false, func(c *Config, v string) error { return setSeconds(&c.ConnectTimeout, v) }},
		"backend_timeout": {false, func(c *Config, v string) error { return setSeconds(&c.BackendTimeout, v) }},
		"backend_idle_timeout": {false, func(c *Config, v string) error {
			return setSeconds(&c.BackendIdleTimeout, v)
		}},
		"max_idle_per_backend":  {false, func(c *Config, v string) error { return setInt(&c.MaxIdlePerBackend, v, 0, 100_000) }},
		"max_dials_per_backend": {false, func(c *Config, v string) error { return setInt(&c.MaxDialsPerBackend, v, 1, 100_000) }},
		"max_spin":              {false, func(c *Config, v string) error { return setInt(&c.MaxSpin, v, 1, 10_000_000) }},
		"max_pipelined":         {false, func(c *Config, v string) error { return setInt(&c.MaxPipelined, v, 1024, 1<<30) }},
		"log_level":             {false, func(c *Config, v string) error { return setLevel(&c.LogLevel, v) }},

		"management_token_file": {false, func(c *Config, v string) error { return setPath(&c.ManagementTokenFile, v) }},
		"management_insecure":   {false, func(c *Config, v string) error { return setBool(&c.ManagementInsecure, v) }},
		"management_hosts":      {false, setManagementHosts},

		"etcd_endpoints":     {false, setEtcdEndpoints},
		"etcd_prefix":        {false, setEtcdPrefix},
		"etcd_username":      {false, func(c *Config, v string) error { c.EtcdUsername = v; return nil }},
		"etcd_password_file": {false, func(c *Config, v string) error { return setPath(&c.EtcdPasswordFile, v) }},
		"etcd_ca_file":       {false, func(c *Config, v string) error { return setPath(&c.EtcdCAFile, v) }},
		"etcd_cert_file":     {false, func(c *Config, v string) error { return setPath(&c.EtcdCertFile, v) }},
		"etcd_key_file":      {false, func(c *Config, v string) error { return setPath(&c.EtcdKeyFile, v) }},
		"node_name":          {false, func(c *Config, v string) error { c.NodeName = v; return nil }},
		"node_url":           {false, setNodeURL},
	}
}

// LoadConfig reads a config file. A missing file is an error.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	return ParseConfig(path, f)
}

// ParseConfig parses config text (SPEC §2): "name = value" lines, "#"
// comments anywhere, case-insensitive names, blank lines ignored. Every error
// names the line. name is used in error messages only.
func ParseConfig(name string, r io.Reader) (Config, error) {
	c := DefaultConfig()
	names := configNames()
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			return Config{}, &ConfigError{name, line, `expected "name = value"`}
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		s, known := names[key]
		if !known {
			return Config{}, &ConfigError{name, line, fmt.Sprintf("unknown name %q", key)}
		}
		if seen[key] && !s.repeat {
			return Config{}, &ConfigError{name, line, fmt.Sprintf("%s is given twice", key)}
		}
		seen[key] = true
		if value == "" {
			return Config{}, &ConfigError{name, line, key + " " + errEmptyValue.Error()}
		}
		if err := s.set(&c, value); err != nil {
			return Config{}, &ConfigError{name, line, fmt.Sprintf("%s: %v", key, err)}
		}
	}
	if err := sc.Err(); err != nil {
		return Config{}, &ConfigError{name, line + 1, err.Error()}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// StorePath returns the store folder: StoreDir, or next to the state file
// ("/var/lib/mantrid/state.json" → "/var/lib/mantrid/state.store").
func (c *Config) StorePath() string {
	if c.StoreDir != "" {
		return c.StoreDir
	}
	return strings.TrimSuffix(c.StateFile, ".json") + ".store"
}

// Validate checks relations between values that single lines cannot.
func (c *Config) Validate() error {
	if len(c.Bind)+len(c.BindInternal) == 0 {
		return errors.New("no bind or bind_internal listener")
	}
	if c.MaxURILength > c.MaxHeadSize {
		return fmt.Errorf("max_uri_length (%d) must not exceed max_head_size (%d)", c.MaxURILength, c.MaxHeadSize)
	}
	if c.StateFile == "" {
		return errors.New("state_file is empty")
	}
	return c.validateEtcd()
}

func addAddr(list *[]string, defaulted *bool, v string) error {
	if _, _, err := ListenNetwork(v); err != nil {
		return err
	}
	if *defaulted {
		*list = nil
		*defaulted = false
	}
	*list = append(*list, v)
	return nil
}

// ListenNetwork checks a listener address of SPEC §2 (10.0.0.45:80,
// [fe32::54ab:12cc]:80, *:80, host:80) and returns the network and address
// to pass to net.Listen: "*" listens on every IPv4 and IPv6 address, an IPv4
// literal on tcp4, a bracketed IPv6 literal on tcp6 only.
func ListenNetwork(v string) (network, addr string, err error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", "", fmt.Errorf("address %q: want host:port, [ipv6]:port or *:port", v)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", "", fmt.Errorf("address %q: port must be a number from 0 to 65535", v)
	}
	switch ip := net.ParseIP(host); {
	case host == "*":
		return "tcp", net.JoinHostPort("", port), nil
	case ip != nil && ip.To4() != nil && !strings.Contains(host, ":"):
		return "tcp4", v, nil
	case ip != nil:
		return "tcp6", v, nil
	case host == "":
		return "", "", fmt.Errorf("address %q: empty host (use *:%s for every address)", v, port)
	}
	return "tcp", v, nil
}

// setLevel accepts debug, info, warn or error, in any case.
func setLevel(dst *slog.Level, v string) error {
	switch strings.ToLower(v) {
	case "debug":
		*dst = slog.LevelDebug
	case "info":
		*dst = slog.LevelInfo
	case "warn":
		*dst = slog.LevelWarn
	case "error":
		*dst = slog.LevelError
	default:
		return fmt.Errorf("want debug, info, warn or error, got %q", v)
	}
	return nil
}

func setPath(dst *string, v string) error {
	if strings.ContainsAny(v, "\x00") {
		return errors.New("path contains a NUL byte")
	}
	*dst = v
	return nil
}

func setInt(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("want a whole number from %d to %d, got %q", lo, hi, v)
	}
	*dst = n
	return nil
}

// setSeconds accepts seconds, fractional allowed, from 0.001 to one day.
func setSeconds(dst *time.Duration, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0.001 || f > 86400 {
		return fmt.Errorf("want seconds from 0.001 to 86400, got %q", v)
	}
	*dst = time.Duration(f * float64(time.Second))
	return nil
}

// setBool accepts true, yes, on, 1 and false, no, off, 0, in any case.
func setBool(dst *bool, v string) error {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		*dst = true
	case "false", "no", "off", "0":
		*dst = false
	default:
		return fmt.Errorf("want true or false, got %q", v)
	}
	return nil
}
