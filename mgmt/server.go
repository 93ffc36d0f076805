package mgmt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/store"
)

// Defaults of ServerOptions.
const (
	// DefaultMaxBodyBytes bounds a bulk PUT body: a million rules take
	// about 80 MB.
	DefaultMaxBodyBytes = 256 << 20
	// DefaultMaxRuleBytes bounds the body of a PUT of one rule; a proxy
	// rule with actions.MaxBackends backends takes about 40 KB.
	DefaultMaxRuleBytes = 1 << 20
	// DefaultMaxHeaderBytes bounds a request's head.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultReadHeaderTimeout bounds reading a request's head.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultBodyTimeout bounds a pause in a request body: the longest
	// wait for its next bytes.
	DefaultBodyTimeout = 5 * time.Second
	// DefaultWriteTimeout bounds the time from the end of the request (its
	// head, or its body when it has one) to the end of the answer.
	DefaultWriteTimeout = 5 * time.Minute
	// DefaultIdleTimeout bounds how long a keep-alive connection waits for
	// its next request.
	DefaultIdleTimeout = 2 * time.Minute
)

// ServerOptions configures a Server. A zero field takes its default.
type ServerOptions struct {
	// MaxBodyBytes bounds a bulk PUT body (PUT /hostname/); a larger one
	// gets 413 body_too_large. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxRuleBytes bounds the body of PUT /hostname/HOST/. Default
	// DefaultMaxRuleBytes.
	MaxRuleBytes int64
	// MaxHeaderBytes bounds a request head; net/http answers 431 beyond
	// it. Default DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// ReadHeaderTimeout and IdleTimeout are those of net/http.Server.
	// Defaults DefaultReadHeaderTimeout and DefaultIdleTimeout.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// BodyTimeout bounds each pause in a request body: a body whose next
	// bytes do not arrive within it gets 400 body_unreadable and its
	// connection is closed. A body as a whole has no time limit, so that
	// a large upload on a slow link is not cut. Default
	// DefaultBodyTimeout.
	BodyTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request (its head,
	// or its body when it has one) to the end of the answer. Default
	// DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Token, when not empty, is needed by every request, in
	// "Authorization: Bearer TOKEN"; a request without it gets 401
	// unauthorized. It must pass api.CheckToken.
	Token string
	// Hosts are the names and addresses, besides localhost and the
	// loopback addresses, that a request's Host may give (with any
	// port); another Host gets 403 host_not_allowed, except over a Unix
	// socket. Each must pass CheckHosts.
	Hosts []string
	// Logger receives a DEBUG line per request, an INFO line per bulk
	// replace and errors. Default: discard.
	Logger *slog.Logger
	// SaveStats, when set, persists the counters at once; an import (PUT
	// /state/) calls it after setting them.
	SaveStats func() error
	// RefusedRules, when set, gives GET /process/ its refused_rules: the
	// rules of the state file left out when the store was created.
	RefusedRules func() int64
	// Etcd, when set, gives GET /process/ its etcd member (a fleet node).
	Etcd func() *EtcdStatus
	// Bulk runs the reading and checking of bulk bodies (PUT /hostname/,
	// PUT /state/); nil runs them as they are.
	Bulk *store.LowPriority
	// Fleet lists the live nodes of the fleet for GET /fleet/ and
	// GET /stats/?fleet=1 (mgmt/fleet's Registry, or Alone). Nil: this node
	// alone, named by the machine's hostname, with no URL and revision 0.
	Fleet Fleet
	// FleetTimeout bounds listing the fleet, and then fetching the peers'
	// counters, for a fleet answer; a peer that has not answered by then
	// is named missing. Peers are asked with Token. Default
	// DefaultFleetTimeout.
	FleetTimeout time.Duration
	// AfterBulk, when set, runs in a goroutine of its own after each bulk
	// replace or import has been answered (the daemon gives the memory
	// of the old table and of the body back to the system).
	AfterBulk func()
}

// Validate refuses negative limits and timeouts. NewServer gives a zero or
// negative field its default, so call Validate first to report mistakes.
func (o ServerOptions) Validate() error {
	for _, f := range [...]struct {
		name string
		v    int64
	}{
		{"max body bytes", o.MaxBodyBytes}, {"max rule bytes", o.MaxRuleBytes},
		{"max header bytes", int64(o.MaxHeaderBytes)},
		{"read header timeout", int64(o.ReadHeaderTimeout)}, {"body timeout", int64(o.BodyTimeout)},
		{"write timeout", int64(o.WriteTimeout)}, {"idle timeout", int64(o.IdleTimeout)},
		{"fleet timeout", int64(o.FleetTimeout)},
	} {
		if f.v < 0 {
			return fmt.Errorf("mgmt: %s must not be negative", f.name)
		}
	}
	if o.Token != "" {
		if err := api.CheckToken(o.Token); err != nil {
			return fmt.Errorf("mgmt: %w", err)
		}
	}
	if err := CheckHosts(o.Hosts); err != nil {
		return fmt.Errorf("mgmt: hosts: %w", err)
	}
	return nil
}

// withDefaults returns o with every zero or negative field defaulted.
func (o ServerOptions) withDefaults() ServerOptions {
	def := func(v, d int64) int64 {
		if v <= 0 {
			return d
		}
		return v
	}
	o.MaxBodyBytes = def(o.MaxBodyBytes, DefaultMaxBodyBytes)
	o.MaxRuleBytes = def(o.MaxRuleBytes, DefaultMaxRuleBytes)
	o.MaxHeaderBytes = int(def(int64(o.MaxHeaderBytes), DefaultMaxHeaderBytes))
	o.ReadHeaderTimeout = time.Duration(def(int64(o.ReadHeaderTimeout), int64(DefaultReadHeaderTimeout)))
	o.BodyTimeout = time.Duration(def(int64(o.BodyTimeout), int64(DefaultBodyTimeout)))
	o.WriteTimeout = time.Duration(def(int64(o.WriteTimeout), int64(DefaultWriteTimeout)))
	o.IdleTimeout = time.Duration(def(int64(o.IdleTimeout), int64(DefaultIdleTimeout)))
	o.FleetTimeout = time.Duration(def(int64(o.FleetTimeout), int64(DefaultFleetTimeout)))
	if o.Fleet == nil {
		o.Fleet = hostnameAlone(time.Now())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Server is the REST API (README: REST API): it reads the rule table and writes
// through the store that feeds it. One Server may serve any number of
// listeners; Shutdown stops them all. It is safe for concurrent use.
type Server struct {
	table *hostmap.Table
	store store.Store
	opts  ServerOptions
	log   *slog.Logger
	srv   *http.Server
	// access decides who may use the API.
	access *access
	// peers are the clients of the other nodes' APIs.
	peers *peers

	mu      sync.Mutex    // guards active and drained
	active  int           // handlers running
	drained chan struct{} // closed when active drops to 0, while Shutdown waits
}

// NewServer returns a Server over table, whose changes it commits to st,
// with opts (see ServerOptions for defaults; call Validate first). st must
// feed table. It serves nothing until Serve.
func NewServer(table *hostmap.Table, st store.Store, opts ServerOptions) *Server {
	opts = opts.withDefaults()
	Warm()
	s := &Server{table: table, store: st, opts: opts, log: opts.Logger, access: newAccess(opts.Token, opts.Hosts),
		peers: &peers{token: opts.Token}}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ConnContext:       markUnix,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the API as an http.Handler, for tests and for callers
// that run their own http.Server. It checks Host and the token as Serve
// does, and takes every request for one over TCP (an own http.Server does
// not say which came over a Unix socket).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Serve answers API requests on ln, a TCP or Unix listener, until
// Shutdown, which closes ln. It may be called for several listeners at
// once, each in its own goroutine. It returns nil after Shutdown, else the
// error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// CloseAfterAnswers makes every answer from now on close its connection
// and closes the connections idle between requests. Once the caller has
// closed the listeners, the connections then end as their requests are
// answered; unlike Shutdown, a connection accepted before that whose
// request is still on its way gets its answer (net/http drops such a
// request once Shutdown has begun).
func (s *Server) CloseAfterAnswers() { s.srv.SetKeepAlivesEnabled(false) }

// Shutdown closes every listener, then waits for requests in progress to
// finish and closes idle connections. If ctx ends first, it closes the
// remaining connections, which cancels their requests, waits for their
// handlers to return, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	s.waitHandlers()
	return err
}

// enter and leave count running handlers for Shutdown.
func (s *Server) enter() {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
}

func (s *Server) leave() {
	s.mu.Lock()
	if s.active--; s.active == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
	s.mu.Unlock()
}

// waitHandlers returns when no handler is running.
func (s *Server) waitHandlers() {
	s.mu.Lock()
	if s.active == 0 {
		s.mu.Unlock()
		return
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
	}
	ch := s.drained
	s.mu.Unlock()
	<-ch
}

// serveHTTP checks that the request may use the API (admit), routes it
// (see parseRoute) and logs it at DEBUG.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.enter()
	defer s.leave()
	defer s.recoverPanic(r)
	start := time.Now()
	status := s.admit(w, r)
	if status == 0 {
		s.watchBody(w, r)
		status = s.dispatch(w, r)
	}
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.Debug("api request", "method", safeText(r.Method), "path", safeText(r.URL.EscapedPath()),
			"status", status, "took", time.Since(start))
	}
}

// dispatch answers r and returns the status it sent.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) int {
	if isProcessPath(r.URL.EscapedPath()) {
		return s.process(w, r)
	}
	rt := parseRoute(r.URL.EscapedPath())
	if rt.res == resNone {
		return writeError(w, &api.Error{Code: api.CodeNotFound})
	}
	if !allows(rt.res, r.Method) {
		w.Header().Set("Allow", allowHeader(rt.res))
		return writeError(w, &api.Error{Code: api.CodeMethodNotAllowed, Detail: notAllowedDetail(rt.res)})
	}
	switch rt.res {
	case resState:
		if r.Method == http.MethodPut {
			return s.putState(w, r)
		}
		return s.getState(w, r)
	case resRules:
		if r.Method == http.MethodPut {
			return s.putRules(w, r)
		}
		return s.getRules(w, r)
	case resRule:
		return s.oneRule(w, r, rt.host)
	case resFleet:
		return s.getFleet(w, r)
	}
	fleet, qerr := fleetQuery(r)
	switch {
	case qerr != nil:
		return writeError(w, qerr)
	case rt.res == resStats && fleet:
		return s.getFleetStats(w, r)
	case rt.res == resStats:
		return s.getStats(w, r)
	case fleet:
		return s.getFleetHostStats(w, r, rt.host)
	default:
		return s.getHostStats(w, r, rt.host)
	}
}

// recoverPanic logs a handler's panic with its stack and aborts the
// connection, so that a bug never sends a half answer as if it were whole.
func (s *Server) recoverPanic(r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v != http.ErrAbortHandler {
		s.log.Error("api handler panic", "method", safeText(r.Method), "path", safeText(r.URL.EscapedPath()),
			"panic", safeText(fmt.Sprint(v)), "stack", string(debug.Stack()))
	}
	panic(http.ErrAbortHandler)
}

// afterBulk starts the AfterBulk hook, if any.
func (s *Server) afterBulk() {
	if s.opts.AfterBulk != nil {
		go s.opts.AfterBulk()
	}
}

// Warm compiles the JSON coders of the answers and of rules now, not at
// the first request after a start: sonic compiles each on first use, which
// took a few milliseconds off the first PUT's answer. NewServer calls it;
// a daemon may call it earlier in a goroutine of its own, to do it while
// the rules load. Later calls wait for the first and do nothing.
func Warm() {
	warmOnce.Do(func() {
		actions.Warm()
		for _, v := range []any{api.OK{}, api.Error{}, api.Stats{}, Process{}, api.Fleet{}, api.FleetStats{}, api.FleetHostStats{}} {
			_ = sonic.Pretouch(reflect.TypeOf(v))
		}
	})
}

var warmOnce sync.Once
