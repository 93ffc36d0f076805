package loop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/static"
	"github.com/panjf2000/gnet/v2"
	gneterrors "github.com/panjf2000/gnet/v2/pkg/errors"
)

// Config holds the data path's settings. Zero durations and sizes are not
// valid; cmd/mantrid fills every field from its own defaults.
type Config struct {
	// Loops is the number of event loops (and of counter slots per host).
	Loops int
	// HeadTimeout bounds the time from a connection's opening, or from the
	// first byte of a request, to the end of its head; then 408 and close.
	HeadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request under way.
	IdleTimeout time.Duration
	// Limits bound request heads (431, 414).
	Limits httpparse.Limits
	// MaxConnections caps open client connections; beyond it a new
	// connection is answered 503 and closed.
	MaxConnections int
	// ConnectTimeout bounds a connection attempt to a backend.
	ConnectTimeout time.Duration
	// BackendTimeout bounds the wait for a backend's next bytes (its
	// response head, or more of its body); then 504 or a close.
	BackendTimeout time.Duration
	// BackendIdleTimeout closes pooled backend connections idle this long.
	BackendIdleTimeout time.Duration
	// MaxIdlePerBackend caps idle pooled connections per backend per loop.
	MaxIdlePerBackend int
	// MaxDialsPerBackend caps connection attempts under way per backend per
	// loop; further requests wait for one to end (0 means 1).
	MaxDialsPerBackend int
	// MaxParked caps requests held by spin, counted over every loop;
	// a request beyond it gets 503.
	MaxParked int
	// MaxPipelined caps the bytes a client may send ahead while a request
	// of its is with a backend; beyond it the connection is closed. It
	// also caps what a waiting request keeps in memory (waitInputFor).
	MaxPipelined int
	// Logger receives the engine's messages; nothing per request above DEBUG.
	Logger *slog.Logger
}

// Listener is a bound public (bind) or internal (bind_internal) listener.
type Listener struct {
	net.Listener
	// Internal marks a listener behind a trusted TLS terminator: its
	// X-Forwarded-Proto/-Protocol decide whether a request is https.
	Internal bool
	// Shared marks a socket that another process holds too (systemd passed
	// it in): stopping stops accepting on it but never shuts it down, so
	// that its queue keeps the connections for the next holder.
	Shared bool
}

// Engine runs the event loops, which also accept connections.
type Engine struct {
	gnet.BuiltinEventEngine

	cfg   Config                       // as given to New: Loops and Logger never change
	live  atomic.Pointer[Config]       // the settings in force (Reconfigure); each value immutable
	sweep atomic.Int64                 // sweepEvery(live), for the ticker
	cfgMu sync.Mutex                   // serialises Reconfigure
	pages atomic.Pointer[static.Pages] // the static pages in force (SetPages)
	rules *hostmap.Table
	log   *slog.Logger
	start time.Time

	eng     gnet.Engine
	booted  chan struct{} // OnBoot ran: e.eng is set
	running chan struct{} // the first OnTick ran: every loop has its poller
	ended   chan struct{} // gnet returned: the loops have stopped
	runOnce sync.Once
	loopsMu sync.Mutex
	loops   atomic.Pointer[[]*eventLoop]

	conns      atomic.Int64   // client connections accepted and not yet closed
	held       atomic.Int64   // requests held by spin on every loop (MaxParked)
	stopping   atomic.Bool    // listeners are closing
	stopped    atomic.Bool    // Stop was called: Run returning is expected
	draining   atomic.Bool    // Shutdown was called: answer with close, close idle connections
	dials      sync.WaitGroup // backend dials under way
	xfers      sync.WaitGroup // detached transfers under way
	xferMu     sync.Mutex
	xferSet    map[*transfer]struct{}
	lnMu       sync.Mutex // guards lnFDs, lnShared, lnClosed and handedOver: Run and Shutdown race
	lnFDs      []int      // our dups of the listening sockets (accept.go)
	lnShared   []bool     // lnFDs[i] is shared with another process: never shut it down
	lnClosed   bool
	handedOver bool            // HandOver was called: every socket is shared
	lnInternal map[string]bool // addresses of internal listeners; set before the loops run
}

// New returns an engine that routes with rules and answers with pages. The
// table's counters must serve cfg.Loops event loops.
func New(cfg Config, rules *hostmap.Table, pages *static.Pages) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, rules: rules, log: cfg.Logger, start: time.Now(), booted: make(chan struct{}), running: make(chan struct{}),
		ended: make(chan struct{}), xferSet: map[*transfer]struct{}{}}
	e.live.Store(&cfg)
	e.sweep.Store(int64(sweepEvery(cfg)))
	e.pages.Store(pages)
	return e
}

// Reconfigure puts cfg's timeouts and limits in force without stopping
// anything. Connections and requests from then on use them; the head, idle
// and backend timers already running move by the change of their timeout
// (a shorter idle_timeout also ends connections idle longer than it);
// header limits apply to connections opened from then on. cfg.Loops must
// be the running number; cfg.Logger is ignored. Each loop switches between
// two of its events; the loops take no lock for it. Safe from any
// goroutine.
func (e *Engine) Reconfigure(cfg Config) error {
	if cfg.Loops != e.cfg.Loops {
		return fmt.Errorf("event loops: %d cannot become %d without a restart", e.cfg.Loops, cfg.Loops)
	}
	cfg.Logger = e.cfg.Logger
	next := &cfg
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	e.loopsMu.Lock() // a loop made from now on starts on next
	e.live.Store(next)
	e.sweep.Store(int64(sweepEvery(cfg)))
	e.loopsMu.Unlock()
	e.eachLoop(func(el *eventLoop) gnet.RunnableFunc {
		return func(context.Context) error {
			el.reconfigure(next)
			return nil
		}
	})
	return nil
}

// SetPages puts a new set of static pages in force: the next answer that
// uses a page takes it from p. Safe from any goroutine; the loops read the
// pages through one atomic load.
func (e *Engine) SetPages(p *static.Pages) { e.pages.Store(p) }

// Running is closed once the event loops run (and accept).
func (e *Engine) Running() <-chan struct{} { return e.running }

// now returns monotonic nanoseconds since the engine was created.
func (e *Engine) now() int64 { return int64(time.Since(e.start)) }

// Run starts the event loops on the sockets of lns (gnet accepts on every
// loop, see accept.go) and blocks until Stop. Without listeners gnet gets
// one of its own: a unix socket in a private temporary folder, removed as
// soon as the engine has booted, so it never accepts anything. Any other
// return of gnet is an error: the caller must treat it as fatal.
func (e *Engine) Run(lns []Listener) error {
	dir, err := os.MkdirTemp("", "mantrid-gnet-")
	if err != nil {
		return fmt.Errorf("event loops: %w", err)
	}
	defer os.RemoveAll(dir)
	e.lnMu.Lock()
	var addrs []string
	if e.lnClosed {
		for _, ln := range lns {
			ln.Close()
		}
	} else if addrs, err = e.adoptListeners(lns); err != nil {
		e.lnMu.Unlock()
		return err
	}
	e.lnMu.Unlock()
	defer func() {
		e.lnMu.Lock()
		for _, fd := range e.lnFDs {
			syscall.Close(fd)
		}
		e.lnFDs, e.lnShared = nil, nil
		e.lnMu.Unlock()
	}()
	if len(addrs) == 0 {
		addrs = []string{"unix://" + filepath.Join(dir, "s")}
	}
	errc := make(chan error, 1)
	go func() {
		defer close(e.ended)
		errc <- gnet.Rotate(e, addrs,
			gnet.WithNumEventLoop(e.cfg.Loops),
			// Every loop accepts for itself (from dups of one socket),
			// rather than one acceptor handing connections over.
			gnet.WithReusePort(true),
			gnet.WithTicker(true),
			gnet.WithLogger(gnetLogger{e.log}),
			// Each loop keeps its OS thread: with 2 cores shared with
			// clients and backends this cut idle CPU per request from
			// ~12 µs to ~6 µs and raised keep-alive req/s by ~12 % in
			// alternating A/Bs (README, Performance: tuning notes).
			// Edge-triggered IO measured worse.
			gnet.WithLockOSThread(true),
		)
	}()
	select {
	case <-e.running:
		os.RemoveAll(dir)
		if e.stopped.Load() {
			// Stop came before gnet booted, so it could not stop it.
			_ = e.eng.Stop(context.Background())
		}
	case err := <-errc:
		if e.stopped.Load() {
			return nil
		}
		return fmt.Errorf("event loops did not start: %w", err)
	}
	err = <-errc
	e.stopping.Store(true)
	e.closeListeners()
	e.dials.Wait()
	e.closeTransfers()
	e.xfers.Wait()
	if err == nil && !e.stopped.Load() {
		err = errors.New("event loops stopped unexpectedly")
	}
	return err
}

// Stop closes the listeners and the event loops (with their connections)
// and makes Run return nil. Safe to call from any goroutine, more than once.
func (e *Engine) Stop(ctx context.Context) error {
	e.stopped.Store(true)
	e.stopping.Store(true)
	e.closeListeners()
	e.closeTransfers()
	select {
	case <-e.booted:
	default:
		return nil
	}
	// gnet may already have given up on its own (a listener closed under it
	// while it started); then its Stop would wait for ctx in vain.
	stopped := make(chan error, 1)
	go func() { stopped <- e.eng.Stop(ctx) }()
	var err error
	select {
	case err = <-stopped:
	case <-e.ended:
	}
	if errors.Is(err, gneterrors.ErrEngineInShutdown) {
		return nil
	}
	return err
}

// Shutdown stops accepting, lets requests under way finish and closes
// keep-alive connections as they become idle, until every client connection
// is gone or ctx ends; then it stops the event loops (closing whatever is
// left) and makes Run return nil.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.draining.Store(true)
	e.stopping.Store(true)
	e.closeListeners()
	// Held requests will not be released by a rule change any more.
	e.eachLoop(func(el *eventLoop) gnet.RunnableFunc {
		return func(context.Context) error {
			el.timeoutParked()
			return nil
		}
	})
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for e.conns.Load() > 0 {
		e.eachLoop(func(el *eventLoop) gnet.RunnableFunc { return el.closeIdleFn })
		select {
		case <-ctx.Done():
			e.log.Warn("grace period over; closing the remaining connections", "connections", e.conns.Load())
			return e.Stop(context.Background())
		case <-tick.C:
		}
	}
	return e.Stop(ctx)
}

// eachLoop runs the function fn picks for each known loop, on that loop.
func (e *Engine) eachLoop(fn func(el *eventLoop) gnet.RunnableFunc) {
	if p := e.loops.Load(); p != nil {
		for _, el := range *p {
			_ = el.gl.Execute(context.Background(), fn(el))
		}
	}
}

// closeListeners stops accepting: the sockets that are Mantrid's alone are
// shut down (new connections are refused at once); on shared ones the
// loops stop accepting and the sockets keep listening for their other
// holder.
func (e *Engine) closeListeners() {
	e.lnMu.Lock()
	e.lnClosed = true
	shared := e.stopListening()
	e.lnMu.Unlock()
	if !shared {
		return
	}
	select {
	case <-e.booted:
	default:
		return // Run closes them without starting gnet
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.eng.StopAccepting(ctx); err != nil && !errors.Is(err, gneterrors.ErrEngineInShutdown) {
		e.log.Warn("event loops: stopping accepting on shared listeners", "err", err)
	}
}

// HandOver stops accepting on every loop without shutting the listening
// sockets down: another process that holds them (a new Mantrid taking
// over) accepts from then on, and the connections waiting in their queues
// stay for it. Connections already accepted are served as before; call
// Shutdown next to drain them. It returns once every loop has stopped
// accepting, or with ctx's error.
func (e *Engine) HandOver(ctx context.Context) error {
	e.lnMu.Lock()
	e.handedOver = true
	e.lnMu.Unlock()
	select {
	case <-e.booted:
	default:
		return errors.New("event loops: not started")
	}
	return e.eng.StopAccepting(ctx)
}

// RulesChanged wakes the requests held by spin that a change of rule key
// may concern ("" for every host), on every loop. Safe from any goroutine;
// call it after the change is live in the rule table.
func (e *Engine) RulesChanged(key string) {
	e.eachLoop(func(el *eventLoop) gnet.RunnableFunc {
		return func(context.Context) error {
			el.wake(key)
			return nil
		}
	})
}

// Connections returns the number of open client connections.
func (e *Engine) Connections() int64 { return e.conns.Load() }

// OnBoot records the gnet engine. It runs once, before any connection.
func (e *Engine) OnBoot(eng gnet.Engine) gnet.Action {
	e.eng = eng
	close(e.booted)
	return gnet.None
}

// OnTick runs on gnet's ticker goroutine (not a loop): the first call says
// the loops are running; every call asks each loop to sweep its timers.
func (e *Engine) OnTick() (time.Duration, gnet.Action) {
	e.runOnce.Do(func() { close(e.running) })
	e.eachLoop(func(el *eventLoop) gnet.RunnableFunc { return el.sweepFn })
	return time.Duration(e.sweep.Load()), gnet.None
}

// sweepEvery is how often timers are checked: a tenth of the shortest
// timeout, between 10 ms and 250 ms.
func sweepEvery(cfg Config) time.Duration {
	d := min(cfg.HeadTimeout, cfg.IdleTimeout) / 10
	return min(max(d, 10*time.Millisecond), 250*time.Millisecond)
}
