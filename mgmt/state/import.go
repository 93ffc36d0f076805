package state

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Import reads a state document into b, member by member, without
// building a map of a million rules first: every rule goes into b under
// its normalised key. It returns the counters by normalised key, those of
// unmatched requests under "" (the document's "unknown", unless a rule is
// named "unknown": then they are that rule's). It refuses what Load
// refuses, with the same errors; b must then be dropped.
func Import(data string, b *hostmap.Builder) (map[string]actions.Counts, error) {
	if err := checkDocument(data); err != nil {
		return nil, err
	}
	hosts, stats, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	named := false
	var names []string // the keys as written, to name a duplicate as written
	var scratch actions.Rule
	err = EachMember(hosts, func(key, raw string) error {
		name, err := hostmap.NormalizeKey(key)
		if err != nil {
			return fmt.Errorf("%s: %w", quote(key), err)
		}
		r := &scratch
		if !actions.ParseRuleFast(unsafe.Slice(unsafe.StringData(raw), len(raw)), r) {
			v, err := DecodeValue(raw)
			if err != nil {
				return err
			}
			if r, err = actions.ParseRuleValue(v); err != nil {
				return fmt.Errorf("%s: %w", quote(key), err)
			}
		}
		b.Add(name, r)
		names = append(names, key)
		named = named || name == UnknownHost
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	if err := b.Finish(); err != nil {
		var de *hostmap.DuplicateKeyError
		errors.As(err, &de)
		return nil, fmt.Errorf("hosts: %w", duplicateError(quote(names[de.Index])+": rule key "+quote(de.Key)+" given twice"))
	}
	s := newSnapshot(len(names))
	if stats != "" {
		err := EachMember(stats, func(key, raw string) error {
			if c, ok := plainCounts(raw); ok {
				return s.addCounts(key, c)
			}
			v, err := DecodeValue(raw)
			if err != nil {
				return err
			}
			return s.addStats(key, v)
		})
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
	}
	if c, ok := s.Stats[UnknownHost]; ok && !named {
		delete(s.Stats, UnknownHost)
		s.Stats[""] = c
	}
	return s.Stats, nil
}

// ImportFile imports the state file at path into b, as Import does; errors
// name the file. A missing file gives an error satisfying
// errors.Is(err, os.ErrNotExist).
func ImportFile(path string, b *hostmap.Builder) (map[string]actions.Counts, error) {
	data, err := readFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	stats, err := Import(data, b)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return stats, nil
}

// checkDocument refuses an empty document as Load does.
func checkDocument(data string) error {
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return nil
		}
	}
	return errors.New("file is empty (the first Mantrid left empty files after a crash; remove it to start without rules)")
}

// duplicateError is a rule key given twice, worded as Load words it; it
// matches hostmap.ErrDuplicateKey.
type duplicateError string

func (e duplicateError) Error() string { return string(e) }
func (e duplicateError) Unwrap() error { return hostmap.ErrDuplicateKey }

// plainCounts reads a stats object written plainly — the four counters, or
// some of them, as whole numbers without sign, each once — as the first
// Mantrid and Mantrid write them. Anything else is left to decodeCounts.
// It is safe on any input.
func plainCounts(raw string) (actions.Counts, bool) {
	var c actions.Counts
	i, seen := skipSpace(raw, 0), 0
	if i == len(raw) || raw[i] != '{' {
		return c, false
	}
	for i = skipSpace(raw, i+1); i < len(raw) && raw[i] != '}'; {
		end := strings.IndexAny(raw[min(i+1, len(raw)):], `"\`) + i + 1
		if raw[i] != '"' || end <= i || raw[end] != '"' {
			return c, false
		}
		name := raw[i+1 : end]
		if i = skipSpace(raw, end+1); i == len(raw) || raw[i] != ':' {
			return c, false
		}
		i = skipSpace(raw, i+1)
		j := i
		for j < len(raw) && '0' <= raw[j] && raw[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(raw[i:j], 10, 64)
		if err != nil || (raw[i] == '0' && j-i > 1) {
			return c, false
		}
		bit, dst := counterField(&c, name)
		if dst == nil || seen&bit != 0 {
			return c, false
		}
		seen, *dst = seen|bit, n
		if i = skipSpace(raw, j); i < len(raw) && raw[i] == ',' {
			if i = skipSpace(raw, i+1); i < len(raw) && raw[i] == '}' {
				return c, false // a trailing comma
			}
		} else if i < len(raw) && raw[i] != '}' {
			return c, false
		}
	}
	return c, i < len(raw) && skipSpace(raw, i+1) == len(raw)
}

// counterField returns a bit and the field of c a stats member names, or
// nil.
func counterField(c *actions.Counts, name string) (int, *int64) {
	switch name {
	case "open_requests":
		return 1, &c.OpenRequests
	case "completed_requests":
		return 2, &c.CompletedRequests
	case "bytes_sent":
		return 4, &c.BytesSent
	case "bytes_received":
		return 8, &c.BytesReceived
	}
	return 0, nil
}
