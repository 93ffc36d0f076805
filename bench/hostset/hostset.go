// Package hostset generates the benchmark's standard rule set of many
// hostnames, in the formats the benchmark feeds to Mantrid, HAProxy and
// nginx.
//
// Host i (0 <= i < n) is "app%07d.example-hosting.com"; its rule proxies to
// two backends on port 8000: 127.A.B.C, where A.B.C are the three low bytes
// of i, and the same address for i+1 (for i = 2^24-1 that wraps round to
// 127.0.0.0). Its rule allows subdomains:
//
//	"app0000258.example-hosting.com": ["proxy", {"backends": [["127.0.1.2", 8000], ["127.0.1.3", 8000]]}, true]
//
// The output is streamed through a bufio.Writer and built with append
// functions into one reused buffer, so a million entries take well under a
// second and no more memory than the buffer.
//
// hostset is part of the benchmark, a side package: it imports only the
// standard library, and only the benchmark imports it. Its functions are
// safe for concurrent use; a Set is a plain value.
package hostset

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Format names an output of Set.Write.
type Format string

// The formats Set.Write knows.
const (
	// Put is the JSON body of a bulk `PUT /hostname/`: {host: rule, ...}.
	Put Format = "put"
	// State is the first Mantrid's state file: {"hosts": {host: rule},
	// "stats": {host: counters}}, with small deterministic counters.
	State Format = "state"
	// HAProxy is a HAProxy map file: one "host backend" line per host.
	HAProxy Format = "haproxy"
	// Nginx is a file for an nginx map block's include: one
	// "host upstream;" line per host.
	Nginx Format = "nginx"
)

// Formats lists every Format, in the order of the documentation.
func Formats() []Format { return []Format{Put, State, HAProxy, Nginx} }

// DefaultPort is the backend port of the standard rules.
const DefaultPort = 8000

// DefaultBackends is how many backend names the map formats spread the
// hosts over when Set.Backends is 0.
const DefaultBackends = 16

// addrSpace is the number of distinct 127.A.B.C addresses: 2^24.
const addrSpace = 1 << 24

// BenchHost is the host the benchmark's load generator asks for.
const BenchHost = "bench.test"

// BenchExtra returns the entry of BenchHost: proxied to the backend at
// addr ("127.0.0.1:8000") without subdomains, and mapped to backend u00 in
// the map formats.
func BenchExtra(addr string) Extra {
	return Extra{Host: BenchHost, Rule: `["proxy",{"backends":["` + addr + `"]},false]`, Backend: BackendName(0)}
}

// Extra is one host written after the standard ones, such as the
// benchmark's own host that proxies to a real backend.
type Extra struct {
	Host    string // the hostname, written as given
	Rule    string // the rule as a JSON triple, for Put and State
	Backend string // the backend or upstream name, for HAProxy and Nginx
}

// Set describes a rule set: the standard hosts 0..N-1 and the Extra
// entries after them. The zero value is an empty set.
type Set struct {
	N        int     // number of standard hosts
	Port     int     // backend port of the standard rules; 0 means DefaultPort
	Backends int     // map formats: host i gets BackendName(i % Backends); 0 means DefaultBackends
	Extra    []Extra // written after the standard hosts, in order
}

// Host returns the name of standard host i.
func Host(i int) string { return string(AppendHost(nil, i)) }

// AppendHost appends the name of standard host i to dst.
func AppendHost(dst []byte, i int) []byte {
	dst = append(dst, "app"...)
	dst = appendPadded(dst, i, 7)
	return append(dst, ".example-hosting.com"...)
}

// Addr returns host i's first backend address, 127.A.B.C from the three low
// bytes of i. Host i's second backend is Addr(i+1).
func Addr(i int) string { return string(appendAddr(nil, i)) }

// Rule returns the rule of standard host i with backends on port, as JSON.
func Rule(i, port int) string { return string(AppendRule(nil, i, port)) }

// AppendRule appends the rule of standard host i with backends on port, as
// compact JSON, to dst.
func AppendRule(dst []byte, i, port int) []byte {
	dst = append(dst, `["proxy",{"backends":[["`...)
	dst = appendAddr(dst, i)
	dst = append(dst, `",`...)
	dst = strconv.AppendInt(dst, int64(port), 10)
	dst = append(dst, `],["`...)
	dst = appendAddr(dst, i+1)
	dst = append(dst, `",`...)
	dst = strconv.AppendInt(dst, int64(port), 10)
	return append(dst, `]]},true]`...)
}

// BackendName returns the name of backend k in the map formats: "u00",
// "u01", ... Names of backends below 100 have the same length, so a map
// file can be edited in place.
func BackendName(k int) string { return string(appendBackend(nil, k)) }

// appendBackend appends BackendName(k) to dst.
func appendBackend(dst []byte, k int) []byte {
	return appendPadded(append(dst, 'u'), k, 2)
}

// Stats returns the deterministic counters of standard host i in the State
// format: completed requests (1..1000), bytes sent and bytes received.
func Stats(i int) (completed, sent, received int64) {
	completed = int64(i%1000) + 1
	return completed, completed * 200, completed * 100
}

// appendAddr appends 127.A.B.C for the three low bytes of i.
func appendAddr(dst []byte, i int) []byte {
	v := i % addrSpace
	if v < 0 {
		v += addrSpace
	}
	dst = append(dst, "127."...)
	dst = strconv.AppendInt(dst, int64(v>>16&255), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(v>>8&255), 10)
	dst = append(dst, '.')
	return strconv.AppendInt(dst, int64(v&255), 10)
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(dst []byte, v, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendInt(tmp[:0], int64(v), 10)
	for k := len(s); k < width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// Write writes the set to w in format f. It returns the first error of w,
// or an error for an unknown format or a negative N.
func (s Set) Write(w io.Writer, f Format) error {
	if s.N < 0 {
		return fmt.Errorf("hostset: negative host count %d", s.N)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var err error
	switch f {
	case Put:
		err = s.writeRules(bw, "{")
		if err == nil {
			_, err = bw.WriteString("}\n")
		}
	case State:
		err = s.writeState(bw)
	case HAProxy:
		err = s.writeMap(bw, " ", "\n")
	case Nginx:
		err = s.writeMap(bw, " ", ";\n")
	default:
		return fmt.Errorf("hostset: unknown format %q (want put, state, haproxy or nginx)", f)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// port returns the backend port of the standard rules.
func (s Set) port() int {
	if s.Port == 0 {
		return DefaultPort
	}
	return s.Port
}

// backends returns how many backend names the map formats use.
func (s Set) backends() int {
	if s.Backends <= 0 {
		return DefaultBackends
	}
	return s.Backends
}

// writeRules writes open, then "host":rule members separated by commas.
func (s Set) writeRules(w *bufio.Writer, open string) error {
	buf := append(make([]byte, 0, 256), open...)
	port := s.port()
	for i := range s.N {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = AppendHost(buf, i)
		buf = append(buf, `":`...)
		buf = AppendRule(buf, i, port)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	for k, e := range s.Extra {
		if k > 0 || s.N > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, e.Host)
		buf = append(buf, ':')
		buf = append(buf, e.Rule...)
	}
	_, err := w.Write(buf)
	return err
}

// writeState writes the State format: the rules, then every host's
// counters (Extra hosts get zero counters).
func (s Set) writeState(w *bufio.Writer) error {
	if err := s.writeRules(w, `{"hosts":{`); err != nil {
		return err
	}
	buf := append(make([]byte, 0, 256), `},"stats":{`...)
	for i := range s.N {
		if i > 0 {
			buf = append(buf, ',')
		}
		c, sent, recv := Stats(i)
		buf = append(buf, '"')
		buf = AppendHost(buf, i)
		buf = appendCounts(append(buf, `":`...), c, sent, recv)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	for k, e := range s.Extra {
		if k > 0 || s.N > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, e.Host)
		buf = appendCounts(append(buf, ':'), 0, 0, 0)
	}
	buf = append(buf, "}}\n"...)
	_, err := w.Write(buf)
	return err
}

// appendCounts appends one host's counters as a JSON object.
func appendCounts(dst []byte, completed, sent, received int64) []byte {
	dst = append(dst, `{"open_requests":0,"completed_requests":`...)
	dst = strconv.AppendInt(dst, completed, 10)
	dst = append(dst, `,"bytes_sent":`...)
	dst = strconv.AppendInt(dst, sent, 10)
	dst = append(dst, `,"bytes_received":`...)
	dst = strconv.AppendInt(dst, received, 10)
	return append(dst, '}')
}

// writeMap writes one "host<sep>backend<end>" line per host.
func (s Set) writeMap(w *bufio.Writer, sep, end string) error {
	nb := s.backends()
	buf := make([]byte, 0, 128)
	for i := range s.N {
		buf = AppendHost(buf[:0], i)
		buf = append(buf, sep...)
		buf = appendBackend(buf, i%nb)
		buf = append(buf, end...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	for _, e := range s.Extra {
		buf = append(buf[:0], e.Host...)
		buf = append(buf, sep...)
		buf = append(buf, e.Backend...)
		buf = append(buf, end...)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}
