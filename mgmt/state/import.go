package state

import (
	"errors"
	"fmt"
	"os"

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
	err = DecodeObject(hosts, func(key string, v any) error {
		name, err := hostmap.NormalizeKey(key)
		if err != nil {
			return fmt.Errorf("%s: %w", quote(key), err)
		}
		r, err := actions.ParseRuleValue(v)
		if err != nil {
			return fmt.Errorf("%s: %w", quote(key), err)
		}
		if err := b.Add(name, r); errors.Is(err, hostmap.ErrDuplicateKey) {
			return duplicateError(quote(key) + ": rule key " + quote(name) + " given twice")
		}
		named = named || name == UnknownHost
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	s := newSnapshot(0)
	if stats != "" {
		if err := DecodeObject(stats, s.addStats); err != nil {
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
