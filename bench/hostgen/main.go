// Command hostgen writes the benchmark's standard rule set of many
// hostnames (package bench/hostset) in one of its formats:
//
//	go run ./bench/hostgen [-n 1000000] [-format put|state|haproxy|nginx] [-port 8000] [-backends 16] [-bench ADDR] [-o FILE]
//
// put is the JSON body of a bulk `PUT /hostname/` (load it with
// `curl -T FILE http://127.0.0.1:8042/hostname/` or
// `mantrid-client import FILE`), state a state file of the first Mantrid's
// format, haproxy a map file of "host backend" lines and nginx an include
// file for a map block ("host upstream;" lines); the map formats name
// backends u00, u01, ... (-backends of them). -bench ADDR adds the
// benchmark's host bench.test, proxied to ADDR (backend u00 in the map
// formats), after the standard hosts. The data goes to stdout, or
// to -o; diagnostics go to stderr. Exit status: 0 done, 1 a write failed,
// 2 a wrong command line.
//
// Side package: it imports the standard library and bench/hostset only;
// it is one goroutine.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/mantrid/mantrid/bench/hostset"
)

func main() {
	fs := flag.NewFlagSet("hostgen", flag.ContinueOnError)
	var s hostset.Set
	var format, out, bench string
	fs.IntVar(&s.N, "n", 1_000_000, "number of hosts")
	fs.StringVar(&format, "format", "put", "output format: put, state, haproxy or nginx")
	fs.IntVar(&s.Port, "port", hostset.DefaultPort, "backend port in the rules (put, state)")
	fs.IntVar(&s.Backends, "backends", hostset.DefaultBackends, "backend names the map formats spread the hosts over (haproxy, nginx)")
	fs.StringVar(&bench, "bench", "", "also write host bench.test proxied to this host:port")
	fs.StringVar(&out, "o", "", "write to this file instead of stdout")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	f := hostset.Format(format)
	if !slices.Contains(hostset.Formats(), f) || s.N < 0 || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: hostgen [-n N] [-format put|state|haproxy|nginx] [-port P] [-backends K] [-bench ADDR] [-o FILE]")
		os.Exit(2)
	}
	if bench != "" {
		s.Extra = append(s.Extra, hostset.BenchExtra(bench))
	}
	if err := write(s, f, out); err != nil {
		fmt.Fprintln(os.Stderr, "hostgen:", err)
		os.Exit(1)
	}
}

// write writes the set to path, or to stdout when path is empty.
func write(s hostset.Set, f hostset.Format, path string) error {
	if path == "" {
		return s.Write(os.Stdout, f)
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := s.Write(file, f); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}
