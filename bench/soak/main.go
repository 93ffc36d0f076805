// Command soak runs Mantrid under load for a long time while a host's rule
// is flipped the way a deploy does it — spin, stop the backend, start it
// again, proxy — and checks that nothing was lost: every request a client
// sent got exactly one answer, a 200 from the backend carrying the
// request's own id and body checksum; the backend saw every id once; the
// host's open_requests returns to 0; and Mantrid's RSS, open fds,
// goroutines and threads (GET /process/) stay flat.
//
//	go run ./bench/soak [-mantrid ./bin/mantrid] [-d 10m] [-clients 16] [-flip 5s] [-wrk=true]
//
// It builds nothing: `make soak` builds ./bin/mantrid first (`make soak
// RACE=1` builds bin/mantrid-race with -race and passes it).
//
// What it asserts. The only acceptable answer is 200 from the backend with
// the request's own X-Request-Id and the length and CRC-32 of the body the
// client sent, and a response body of the size and content asked for:
// spin holds requests while the backend is down, so no other status is
// expected, and any other (502, 503, 504, …), a mismatch, or a connection
// that fails before a whole answer counts as unexpected. Lost: a 200 for
// an id the backend never received. Duplicated: an id the backend
// received more than once. Also: no request a client sent after the API
// answered the PUT of spin reaches the backend; no bytes after a connection's last answer;
// open_requests of the host back to 0; without wrk, completed_requests,
// bytes_received and bytes_sent equal to what the clients sent and read;
// wrk without errors; resources flat (see metrics in report.go); Mantrid
// exits 0 on SIGTERM with no ERROR, panic or data race in its log. It starts
// its own backend (net/http on a free loopback port), Mantrid on free
// loopback ports with a temporary state file, Go clients over raw
// keep-alive connections and, when wrk is installed and -wrk is set, a
// parallel wrk load on the same host. It prints a summary and exits 1 on
// any violation, 2 when it could not run.
//
// Side package (STYLE.md): it may import anything and nothing imports it.
// Every goroutine it starts is stopped and waited for before it returns;
// it stops only the processes it started, by PID.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	o := defaultOptions()
	flag.StringVar(&o.mantrid, "mantrid", o.mantrid, "the mantrid binary to run")
	flag.DurationVar(&o.duration, "d", o.duration, "how long the load runs")
	flag.IntVar(&o.clients, "clients", o.clients, "Go client goroutines, one keep-alive connection each")
	flag.DurationVar(&o.flip, "flip", o.flip, "time the rule stays proxy between two spin cycles")
	flag.DurationVar(&o.down, "down", o.down, "longest time the backend stays stopped in a cycle (each cycle picks from down/4 to down)")
	flag.DurationVar(&o.settle, "settle", o.settle, "time spin is live, and the backend without a new request, before the backend is stopped")
	flag.BoolVar(&o.wrk, "wrk", o.wrk, "add a parallel wrk load on the same host when wrk is installed")
	flag.IntVar(&o.wrkConns, "wrk-conns", o.wrkConns, "wrk connections")
	flag.DurationVar(&o.sample, "sample", o.sample, "interval of the resource samples (0: d/30, between 1s and 5s)")
	flag.Int64Var(&o.seed, "seed", o.seed, "seed of the request mix (0: random)")
	flag.BoolVar(&o.keep, "keep", o.keep, "keep the temporary folder (configs, Mantrid's log)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "soak: unexpected argument %q\n", flag.Arg(0))
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	start := time.Now()
	res, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	fmt.Printf("soak took %s\n", time.Since(start).Round(time.Second))
	if len(res.violations) > 0 {
		os.Exit(1)
	}
}
