package state

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Refused is an entry of a state document that Import leaves out, and
// why.
type Refused struct {
	// Host is the entry's key as the document writes it.
	Host string
	// Rule is the rule's JSON as the document writes it; "" for counters
	// without a rule. It aliases the document.
	Rule string
	// Stats is the JSON of the counters the document gives under Host, as
	// written, or "". The counters of a refused rule are left out with it.
	Stats string
	// Err says why. For a rule it matches an actions.RuleError,
	// hostmap.ErrBadKey or hostmap.ErrDuplicateKey; for counters alone,
	// hostmap.ErrBadKey, hostmap.ErrDuplicateKey or neither (a counter
	// that is not a whole number from 0 to 2^63-1, …). It does not repeat
	// Host, and quotes any part of the input with strconv.QuoteToASCII.
	Err error
}

// Imported is what Import read from a state document.
type Imported struct {
	// Rules is how many rules went into the builder (refused ones not
	// counted).
	Rules int
	// Stats are the counters by normalised key; those of unmatched
	// requests are under "" (the document's "unknown", unless a rule is
	// named "unknown": then they are that rule's).
	Stats map[string]actions.Counts
	// Refused lists the entries left out: rules in document order, then
	// counters that have no refused rule, in document order.
	Refused []Refused
}

// Import reads a state document into b, member by member, without
// building a map of a million rules first: every rule that Mantrid's
// checks accept goes into b under its normalised key; the others are left
// out and listed in Imported.Refused with the reason, and so are counters
// that cannot be used. One entry never makes the whole document fail, as
// the first Mantrid loaded any rule its state file held: the caller
// decides what a refusal means (the daemon's first start keeps the rules
// it can, an import through the API refuses the document).
//
// Of two keys that are one after normalisation ("EP.io" and "ep.io"), the
// one written in normal form is kept, else the first in document order;
// the others are refused. Only a document that is not one — empty, not
// JSON, not an object, no "hosts" object, "hosts" or "stats" not an
// object, nested too deep — is an error, as Load words it; b must then be
// dropped.
func Import(data string, b *hostmap.Builder) (*Imported, error) {
	if err := checkDocument(data); err != nil {
		return nil, err
	}
	hosts, stats, err := splitDocument(data)
	if err != nil {
		return nil, err
	}
	im := &importer{b: b}
	if err := EachMember(hosts, im.add); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	if err := im.finish(hosts); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	out := &Imported{Rules: len(im.order) - len(b.Duplicates()), Refused: make([]Refused, 0, len(im.refused))}
	for _, r := range im.refused {
		out.Refused = append(out.Refused, r.Refused)
	}
	out.Stats, err = im.counters(stats, out)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return out, nil
}

// ImportFile imports the state file at path into b, as Import does; errors
// name the file. A missing file gives an error satisfying
// errors.Is(err, os.ErrNotExist).
func ImportFile(path string, b *hostmap.Builder) (*Imported, error) {
	data, err := readFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	im, err := Import(data, b)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return im, nil
}

// importer is Import's state while it reads the hosts object.
type importer struct {
	b       *hostmap.Builder
	scratch actions.Rule
	at      int     // members of the hosts object seen
	order   []int32 // the member index of each key added to b, in the order added
	// deferred are the valid rules whose key is not written in normal
	// form: they go into b after the others, so that a key written in
	// normal form wins over another spelling of it.
	deferred []deferredRule
	refused  []refusedAt
	named    bool // a rule is named "unknown"
}

// deferredRule is a valid rule whose key is not in normal form.
type deferredRule struct {
	at        int
	name, raw string
}

// refusedAt is a refused rule and its member index.
type refusedAt struct {
	at int
	Refused
}

// add reads one member of the hosts object.
func (im *importer) add(key, raw string) error {
	at := im.at
	im.at++
	name, err := hostmap.NormalizeKey(key)
	if err != nil {
		im.refuse(at, key, raw, err)
		return nil
	}
	r, err := im.parse(raw)
	if err != nil {
		im.refuse(at, key, raw, err)
		return nil
	}
	if name != key {
		im.deferred = append(im.deferred, deferredRule{at: at, name: name, raw: raw})
		return nil
	}
	im.put(at, name, r)
	return nil
}

// parse parses a rule, plainly written ones without decoding them into
// generic values first.
func (im *importer) parse(raw string) (*actions.Rule, error) {
	r := &im.scratch
	if actions.ParseRuleFast(unsafe.Slice(unsafe.StringData(raw), len(raw)), r) {
		return r, nil
	}
	v, err := DecodeValue(raw)
	if err != nil {
		return nil, err
	}
	return actions.ParseRuleValue(v)
}

func (im *importer) put(at int, name string, r *actions.Rule) {
	im.b.Add(name, r)
	im.order = append(im.order, int32(at))
	im.named = im.named || name == UnknownHost
}

func (im *importer) refuse(at int, key, raw string, err error) {
	im.refused = append(im.refused, refusedAt{at: at, Refused: Refused{Host: key, Rule: raw, Err: err}})
}

// finish adds the deferred rules, builds b's index and refuses every key
// given twice, then puts the refusals in document order.
func (im *importer) finish(hosts string) error {
	for _, d := range im.deferred {
		r, err := im.parse(d.raw)
		if err != nil { // parsed once already
			return err
		}
		im.put(d.at, d.name, r)
	}
	im.deferred = nil
	im.b.Finish()
	if dups := im.b.Duplicates(); len(dups) > 0 {
		if err := im.refuseDuplicates(hosts, dups); err != nil {
			return err
		}
	}
	sort.Slice(im.refused, func(i, j int) bool { return im.refused[i].at < im.refused[j].at })
	return nil
}

// refuseDuplicates refuses the later appearances of keys given twice, dups
// being their positions among the keys added, naming the one kept. A
// document rarely has any, so it reads the hosts object twice more rather
// than keeping every key while reading it the first time.
func (im *importer) refuseDuplicates(hosts string, dups []int) error {
	later := make(map[int]bool, len(dups))
	for _, p := range dups {
		later[int(im.order[p])] = true
	}
	refused := make(map[int]bool, len(im.refused))
	for _, r := range im.refused {
		refused[r.at] = true
	}
	kept := make(map[string]string, len(dups)) // normalised key → the key kept, as written
	var found []refusedAt
	at := 0
	err := EachMember(hosts, func(key, raw string) error {
		if later[at] {
			name, _ := hostmap.NormalizeKey(key)
			kept[name] = ""
			found = append(found, refusedAt{at: at, Refused: Refused{Host: key, Rule: raw}})
		}
		at++
		return nil
	})
	if err != nil {
		return err
	}
	at = 0
	err = EachMember(hosts, func(key, _ string) error {
		if !later[at] && !refused[at] {
			if name, err := hostmap.NormalizeKey(key); err == nil {
				if _, ok := kept[name]; ok {
					kept[name] = key
				}
			}
		}
		at++
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range found {
		name, _ := hostmap.NormalizeKey(f.Host)
		f.Err = duplicateError("the rule key " + quote(name) + " is given twice; the rule of " + quote(kept[name]) + " is kept")
		im.refused = append(im.refused, f)
	}
	return nil
}

// counters reads the stats object (raw JSON, "" when the document has
// none): the counters of a refused rule go with it into out.Refused, and
// counters that cannot be used are refused on their own.
func (im *importer) counters(stats string, out *Imported) (map[string]actions.Counts, error) {
	s := newSnapshot(out.Rules)
	if stats == "" {
		return s.Stats, nil
	}
	var byKey map[string]int // the refused rules by key as written
	if len(out.Refused) > 0 {
		byKey = make(map[string]int, len(out.Refused))
		for i, r := range out.Refused {
			if _, dup := byKey[r.Host]; !dup && r.Host != UnknownHost {
				byKey[r.Host] = i
			}
		}
	}
	err := EachMember(stats, func(key, raw string) error {
		if i, ok := byKey[key]; ok && out.Refused[i].Stats == "" {
			out.Refused[i].Stats = raw
			return nil
		}
		if err := s.addImported(key, raw); err != nil {
			out.Refused = append(out.Refused, Refused{Host: key, Stats: raw, Err: err})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c, ok := s.Stats[UnknownHost]; ok && !im.named {
		delete(s.Stats, UnknownHost)
		s.Stats[""] = c
	}
	return s.Stats, nil
}

// addImported adds one member of the stats object for Import; its errors
// do not repeat the key.
func (s *Snapshot) addImported(key, raw string) error {
	name := key
	if key != UnknownHost {
		n, err := hostmap.NormalizeKey(key)
		if err != nil {
			return err
		}
		name = n
	}
	if _, dup := s.Stats[name]; dup {
		return duplicateError("counters: stats key " + quote(name) + " given twice")
	}
	c, ok := plainCounts(raw)
	if !ok {
		v, err := DecodeValue(raw)
		if err != nil {
			return err
		}
		fields, isObject := v.(map[string]any)
		if !isObject {
			return errors.New("counters: not a JSON object")
		}
		if c, err = decodeCounts(fields); err != nil {
			return fmt.Errorf("counters: %w", err)
		}
	}
	s.Stats[name] = c
	return nil
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
