package state

import (
	"io"
	"slices"
	"strconv"

	"github.com/mantrid/mantrid/actions"
)

// flushAt is how full an Encoder's buffer gets before it is written out,
// in bytes.
const flushAt = 32 << 10

// Encoder writes a state document one member at a time, so that a million
// rules never sit in one buffer: every Host first, then every Stats, then
// Close. Keys are written as given (normalised rule keys, and UnknownHost).
// Counters below 0 are written as 0, so that what is written always loads.
// The first write error sticks and Close returns it.
type Encoder struct {
	w       io.Writer
	buf     []byte
	err     error
	n       int  // members written in the current object
	inStats bool // the hosts object is closed
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	e := &Encoder{w: w, buf: make([]byte, 0, flushAt+4096)}
	e.buf = append(e.buf, `{"hosts": {`...)
	return e
}

// Host writes one member of the hosts object.
func (e *Encoder) Host(key string, r *actions.Rule) {
	e.sep()
	e.buf = actions.AppendJSONString(e.buf, key)
	e.buf = append(e.buf, ": "...)
	e.buf = r.AppendJSON(e.buf)
	e.flush(flushAt)
}

// Stats writes one member of the stats object.
func (e *Encoder) Stats(key string, c actions.Counts) {
	if !e.inStats {
		e.buf = append(e.buf, `}, "stats": {`...)
		e.inStats, e.n = true, 0
	}
	e.sep()
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

// Close ends the document and writes what is left.
func (e *Encoder) Close() error {
	if !e.inStats {
		e.buf = append(e.buf, `}, "stats": {`...)
		e.inStats = true
	}
	e.buf = append(e.buf, "}}\n"...)
	return e.flush(0)
}

// sep writes the comma between members.
func (e *Encoder) sep() {
	if e.n > 0 {
		e.buf = append(e.buf, ", "...)
	}
	e.n++
}

// flush writes the buffer out once it holds more than limit bytes.
func (e *Encoder) flush(limit int) error {
	if len(e.buf) > limit && e.err == nil {
		_, e.err = e.w.Write(e.buf)
		e.buf = e.buf[:0]
	}
	return e.err
}

// Encode writes s as a state document, hosts and stats sorted by key.
func Encode(w io.Writer, s *Snapshot) error {
	e := NewEncoder(w)
	for _, key := range sortedKeys(s.Hosts) {
		e.Host(key, s.Hosts[key])
	}
	for _, key := range sortedKeys(s.Stats) {
		e.Stats(key, s.Stats[key])
	}
	return e.Close()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
