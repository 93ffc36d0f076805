package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/bytedance/sonic/ast"
	"github.com/bytedance/sonic/encoder"
	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// maxQuoted bounds how many bytes of a key an error message quotes.
const maxQuoted = 64

// Load reads the state file at path. A missing file gives an empty snapshot
// and an error satisfying errors.Is(err, os.ErrNotExist). Any other problem
// — unreadable, empty, not JSON, truncated, not an object, "hosts" missing
// or not an object, an invalid rule key, rule or counter, a key given twice
// — is an error that names the file and the problem. Load only reads the
// file. Counters are returned as stored (see Snapshot).
func Load(path string) (*Snapshot, error) {
	data, err := readFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return newSnapshot(0), err
		}
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	s, err := decodeString(data)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return s, nil
}

// readFile reads a whole file into a string without copying it twice.
func readFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		b.Grow(int(fi.Size()) + 1)
	}
	if _, err := io.Copy(&b, f); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Decode parses a state document; see Load for what it refuses.
func Decode(data []byte) (*Snapshot, error) {
	return decodeString(string(data))
}

func decodeString(data string) (*Snapshot, error) {
	if err := checkDocument(data); err != nil {
		return nil, err
	}
	hosts, stats, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	s := newSnapshot(0)
	if err := DecodeObject(hosts, s.addHost); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	if stats != "" {
		if err := DecodeObject(stats, s.addStats); err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
	}
	return s, nil
}

// splitDocument checks that data is one JSON object and returns the raw
// text of its "hosts" member (required) and "stats" member (optional, ""
// when absent). Other members are ignored.
func splitDocument(data string) (hosts, stats string, err error) {
	if e := syntaxError(data); e != nil {
		return "", "", e
	}
	root, perr := ast.NewParser(data).Parse()
	if perr != 0 || root.TypeSafe() != ast.V_OBJECT {
		return "", "", errors.New("not a JSON object")
	}
	it, err := root.Properties()
	if err != nil {
		return "", "", errors.New("not a JSON object")
	}
	var p ast.Pair
	seen := map[string]bool{}
	for it.Next(&p) {
		if p.Key != "hosts" && p.Key != "stats" {
			continue
		}
		if seen[p.Key] {
			return "", "", fmt.Errorf("%q appears twice", p.Key)
		}
		seen[p.Key] = true
		raw, err := p.Value.Raw()
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", p.Key, ErrSyntax)
		}
		if p.Key == "hosts" {
			hosts = raw
		} else {
			stats = raw
		}
	}
	if !seen["hosts"] {
		return "", "", errors.New(`no "hosts" object`)
	}
	return hosts, stats, nil
}

// syntaxError returns nil when data is valid JSON, else an error saying
// where it stops being JSON.
func syntaxError(data string) error {
	if ok, pos := encoder.Valid([]byte(data)); !ok {
		if pos < 0 || pos >= len(data) {
			return fmt.Errorf("%w: it ends early at byte %d (truncated?)", ErrSyntax, len(data))
		}
		return fmt.Errorf("%w: error at byte %d of %d", ErrSyntax, pos, len(data))
	}
	if rawControlInString(data) {
		return fmt.Errorf("%w: a string holds a raw control character", ErrSyntax)
	}
	return nil
}

// addHost adds one member of the hosts object.
func (s *Snapshot) addHost(key string, v any) error {
	name, err := hostmap.NormalizeKey(key)
	if err != nil {
		return fmt.Errorf("%s: %w", quote(key), err)
	}
	if _, dup := s.Hosts[name]; dup {
		return fmt.Errorf("%s: rule key %s given twice", quote(key), quote(name))
	}
	r, err := actions.ParseRuleValue(v)
	if err != nil {
		return fmt.Errorf("%s: %w", quote(key), err)
	}
	s.Hosts[name] = r
	return nil
}

// addStats adds one member of the stats object.
func (s *Snapshot) addStats(key string, v any) error {
	name, err := s.statsName(key)
	if err != nil {
		return err
	}
	fields, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: stats are not a JSON object", quote(key))
	}
	c, err := decodeCounts(fields)
	if err != nil {
		return fmt.Errorf("%s: %w", quote(key), err)
	}
	s.Stats[name] = c
	return nil
}

// addCounts adds one member of the stats object whose counters are read
// already.
func (s *Snapshot) addCounts(key string, c actions.Counts) error {
	name, err := s.statsName(key)
	if err == nil {
		s.Stats[name] = c
	}
	return err
}

// statsName returns the normalised key of a member of the stats object,
// which must not repeat.
func (s *Snapshot) statsName(key string) (string, error) {
	name := key
	if key != UnknownHost {
		n, err := hostmap.NormalizeKey(key)
		if err != nil {
			return "", fmt.Errorf("%s: %w", quote(key), err)
		}
		name = n
	}
	if _, dup := s.Stats[name]; dup {
		return "", fmt.Errorf("%s: stats key %s given twice", quote(key), quote(name))
	}
	return name, nil
}

// decodeCounts reads one stats object. Names other than the four counters
// are ignored (the first Mantrid may have written others); a missing one is
// 0; each present one must be a whole number from 0 to 2^63-1.
func decodeCounts(v map[string]any) (actions.Counts, error) {
	var c actions.Counts
	for _, f := range [...]struct {
		name string
		dst  *int64
	}{
		{"open_requests", &c.OpenRequests}, {"completed_requests", &c.CompletedRequests},
		{"bytes_sent", &c.BytesSent}, {"bytes_received", &c.BytesReceived},
	} {
		raw, ok := v[f.name]
		if !ok {
			continue
		}
		n, err := counter(raw)
		if err != nil {
			return c, fmt.Errorf("%s %w", f.name, err)
		}
		*f.dst = n
	}
	return c, nil
}

// counter converts a decoded counter value: a JSON number that is whole
// and not negative. 12.0 and 1.2e1 are accepted as 12.
func counter(v any) (int64, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("is not a number")
	}
	text := string(num)
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("is negative")
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	switch {
	case err != nil || f >= 1<<63:
		return 0, errors.New("is out of range")
	case f < 0:
		return 0, errors.New("is negative")
	case f != float64(int64(f)):
		return 0, errors.New("is not a whole number")
	}
	return int64(f), nil
}

// quote returns s as an ASCII Go string literal cut to maxQuoted bytes, so
// that no byte of the file reaches a log raw.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.QuoteToASCII(s[:maxQuoted]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
