package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mantrid/mantrid/mgmt"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/fleet"
	"github.com/mantrid/mantrid/mgmt/store/etcdstore"
)

// setEtcdEndpoints parses etcd_endpoints: comma-separated http or https
// URLs with a host and port.
func setEtcdEndpoints(c *Config, v string) error {
	var eps []string
	for ep := range strings.SplitSeq(v, ",") {
		ep = strings.TrimSpace(ep)
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" || u.Path != "" && u.Path != "/" {
			return fmt.Errorf("want http://HOST:PORT or https://HOST:PORT URLs separated by commas, got %q", ep)
		}
		eps = append(eps, ep)
	}
	c.EtcdEndpoints = eps
	return nil
}

// setEtcdPrefix sets etcd_prefix: an absolute key prefix ending in "/".
func setEtcdPrefix(c *Config, v string) error {
	if !strings.HasPrefix(v, "/") || !strings.HasSuffix(v, "/") {
		return fmt.Errorf("want a prefix that starts and ends with /, got %q", v)
	}
	c.EtcdPrefix = v
	return nil
}

// validateEtcd checks the fleet's settings that go together.
func (c *Config) validateEtcd() error {
	if (c.EtcdCertFile == "") != (c.EtcdKeyFile == "") {
		return errors.New("etcd_cert_file and etcd_key_file go together")
	}
	if (c.EtcdUsername == "") != (c.EtcdPasswordFile == "") {
		return errors.New("etcd_username and etcd_password_file go together")
	}
	return nil
}

// etcdOptions returns the etcd store's settings of cfg, reading the
// password and TLS files.
func etcdOptions(cfg *Config) (etcdstore.Options, error) {
	o := etcdstore.Options{Endpoints: cfg.EtcdEndpoints, Prefix: cfg.EtcdPrefix, Username: cfg.EtcdUsername}
	if cfg.EtcdPasswordFile != "" {
		b, err := os.ReadFile(cfg.EtcdPasswordFile)
		if err != nil {
			return o, fmt.Errorf("etcd_password_file: %w", err)
		}
		o.Password = strings.TrimSpace(string(b))
	}
	if cfg.EtcdCAFile == "" && cfg.EtcdCertFile == "" {
		return o, nil
	}
	o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.EtcdCAFile != "" {
		pem, err := os.ReadFile(cfg.EtcdCAFile)
		if err != nil {
			return o, fmt.Errorf("etcd_ca_file: %w", err)
		}
		o.TLS.RootCAs = x509.NewCertPool()
		if !o.TLS.RootCAs.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("etcd_ca_file %s: no PEM certificate", cfg.EtcdCAFile)
		}
	}
	if cfg.EtcdCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.EtcdCertFile, cfg.EtcdKeyFile)
		if err != nil {
			return o, fmt.Errorf("etcd_cert_file/etcd_key_file: %w", err)
		}
		o.TLS.Certificates = []tls.Certificate{cert}
	}
	return o, nil
}

// openFleet starts following etcd into the local store just opened; the
// REST API then writes through etcd. It does not wait for etcd.
func (d *daemon) openFleet() error {
	o, err := etcdOptions(&d.cfg)
	if err != nil {
		return err
	}
	o.Cache, o.Table, o.Dir, o.Logger = d.store, d.table, d.cfg.StorePath(), d.log
	fl, err := etcdstore.Open(o)
	if err != nil {
		return err
	}
	d.fleet = fl
	if d.started.IsZero() {
		d.started = time.Now()
	}
	reg, err := fleet.Start(fleet.Options{
		Client: fl.Client(), Prefix: d.cfg.EtcdPrefix, Name: d.nodeName(), URL: d.nodeURL(), Started: d.started,
		Revision: func() uint64 { return uint64(fl.Status().Revision) }, Logger: d.log,
	})
	if err != nil {
		fl.Close()
		d.fleet = nil
		return err
	}
	d.registry = reg
	d.log.Info("fleet: following etcd", "endpoints", strings.Join(o.Endpoints, ","), "prefix", d.cfg.EtcdPrefix,
		"node", d.nodeName())
	return nil
}

// nodeName returns node_name, or the machine's hostname.
func (d *daemon) nodeName() string {
	if d.cfg.NodeName != "" {
		return d.cfg.NodeName
	}
	h, _ := os.Hostname()
	return h
}

// etcdStatus is GET /process/'s etcd member.
func (d *daemon) etcdStatus() *mgmt.EtcdStatus {
	st := d.fleet.Status()
	return &mgmt.EtcdStatus{Connected: st.Connected, Since: st.Since.UTC().Format(time.RFC3339Nano), Revision: st.Revision}
}

// closeStore stops following etcd, saves the counters and closes the
// local store.
func (d *daemon) closeStore() error {
	var fleetErr error
	if d.registry != nil {
		d.registry.Close() // before the client it uses goes
		d.registry = nil
	}
	if d.fleet != nil {
		fleetErr = d.fleet.Close()
		d.fleet = nil
	}
	_, saveErr := d.store.SaveStats(true)
	return errors.Join(fleetErr, saveErr, d.store.Close())
}

// setNodeURL parses node_url: the http URL of this node's REST API as the
// other nodes of the fleet reach it.
func setNodeURL(c *Config, v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.Path != "" && u.Path != "/" {
		return fmt.Errorf("want http://HOST:PORT, got %q", v)
	}
	c.NodeURL = strings.TrimSuffix(v, "/")
	return nil
}

// nodeURL returns node_url, or the first TCP address the REST API is
// bound to as an http URL, with the machine's hostname for an address of
// every interface (0.0.0.0, [::]); "" when the API is only on a Unix
// socket.
func (d *daemon) nodeURL() string {
	if d.cfg.NodeURL != "" {
		return d.cfg.NodeURL
	}
	for _, a := range d.apiAddrs {
		ta, ok := a.(*net.TCPAddr)
		if !ok {
			continue
		}
		host := ta.IP.String()
		if ta.IP.IsUnspecified() {
			host, _ = os.Hostname()
		}
		return "http://" + net.JoinHostPort(host, strconv.Itoa(ta.Port))
	}
	return ""
}

// fleetView is what GET /fleet/ and ?fleet=1 ask: the registry of the
// fleet, or this node alone without etcd.
func (d *daemon) fleetView() mgmt.Fleet {
	if d.registry != nil {
		return d.registry
	}
	if d.started.IsZero() {
		d.started = time.Now()
	}
	return mgmt.Alone(func() api.Node {
		return api.Node{Name: d.nodeName(), URL: d.nodeURL(), Started: d.started, Revision: d.store.Revision(), Self: true}
	})
}
