package state

import (
	"io"
	"slices"
	"strconv"

	"github.com/mantrid/mantrid/actions"
)

// flushAt is how full the encoder's scratch buffer gets before it is
// written out, in bytes.
const flushAt = 32 << 10

// Encode writes s as a state document, hosts and stats sorted by key, one
// entry at a time so that a million rules never sit in one buffer. Like
// EncodeEntries it writes negative counters as 0.
func Encode(w io.Writer, s *Snapshot) error {
	e := docWriter{w: w, buf: make([]byte, 0, flushAt+4096)}
	e.buf = append(e.buf, `{"hosts": {`...)
	for i, key := range sortedKeys(s.Hosts) {
		e.rule(i, key, s.Hosts[key])
	}
	e.buf = append(e.buf, `}, "stats": {`...)
	for i, key := range sortedKeys(s.Stats) {
		e.counts(i, key, s.Stats[key])
	}
	e.buf = append(e.buf, "}}\n"...)
	return e.flush(0)
}

// EncodeEntries writes a state document holding hosts, in the order given,
// with each entry's counters and unknown's under UnknownHost (unless an
// entry is named UnknownHost; see there). Names must be unique. Counters
// below 0 are written as 0, so that what is written always loads.
func EncodeEntries(w io.Writer, hosts []Entry, unknown actions.Counts) error {
	e := docWriter{w: w, buf: make([]byte, 0, flushAt+4096)}
	e.buf = append(e.buf, `{"hosts": {`...)
	shadowed := false
	for i := range hosts {
		e.rule(i, hosts[i].Name, hosts[i].Rule)
		shadowed = shadowed || hosts[i].Name == UnknownHost
	}
	e.buf = append(e.buf, `}, "stats": {`...)
	n := 0
	if !shadowed {
		e.counts(0, UnknownHost, unknown)
		n = 1
	}
	for i := range hosts {
		e.counts(n+i, hosts[i].Name, hosts[i].Stats)
	}
	e.buf = append(e.buf, "}}\n"...)
	return e.flush(0)
}

// docWriter streams a state document through a scratch buffer, keeping the
// first write error.
type docWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// flush writes the buffer out once it holds more than limit bytes.
func (e *docWriter) flush(limit int) error {
	if len(e.buf) > limit && e.err == nil {
		_, e.err = e.w.Write(e.buf)
		e.buf = e.buf[:0]
	}
	return e.err
}

// rule appends the i-th member of the hosts object.
func (e *docWriter) rule(i int, key string, r *actions.Rule) {
	if i > 0 {
		e.buf = append(e.buf, ", "...)
	}
	e.buf = actions.AppendJSONString(e.buf, key)
	e.buf = append(e.buf, ": "...)
	e.buf = r.AppendJSON(e.buf)
	e.flush(flushAt)
}

// counts appends the i-th member of the stats object.
func (e *docWriter) counts(i int, key string, c actions.Counts) {
	if i > 0 {
		e.buf = append(e.buf, ", "...)
	}
	e.buf = actions.AppendJSONString(e.buf, key)
	e.buf = append(e.buf, `: {"open_requests": `...)
	e.buf = strconv.AppendInt(e.buf, max(c.OpenRequests, 0), 10)
	e.buf = append(e.buf, `, "completed_requests": `...)
	e.buf = strconv.AppendInt(e.buf, max(c.CompletedRequests, 0), 10)
	e.buf = append(e.buf, `, "bytes_sent": `...)
	e.buf = strconv.AppendInt(e.buf, max(c.BytesSent, 0), 10)
	e.buf = append(e.buf, `, "bytes_received": `...)
	e.buf = strconv.AppendInt(e.buf, max(c.BytesReceived, 0), 10)
	e.buf = append(e.buf, '}')
	e.flush(flushAt)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
