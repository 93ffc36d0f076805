package mgmt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/state"
)

// ErrNilRule is returned by Set and Replace for a nil rule.
var ErrNilRule = errors.New("mgmt: nil rule")

// ErrDuplicateKey is returned, wrapped with the key, by Replace when two
// keys normalise to the same rule key ("EP.io" and "ep.io.").
var ErrDuplicateKey = errors.New("mgmt: rule key given twice")

// Store owns the live rule table and its statistics (SPEC §3, §6). The
// event loops read Hosts and Unknown without locks; every change goes
// through Store's methods, which serialise on a mutex that the loops never
// take. Keys are normalised with hostmap.NormalizeKey, so "EP.io." and
// "ep.io" are the same rule. A rule's Stats stay when the rule is replaced
// and go when it is deleted.
//
// All methods are safe for concurrent use.
type Store struct {
	mu       sync.Mutex // serialises writers
	loops    int
	hosts    *hostmap.Map[*actions.Host]
	unknown  *actions.Stats
	onChange func(key string)

	gen     atomic.Uint64 // counts rule changes, for the saver
	changed chan struct{} // signalled (never blocking) after each change
}

// named is a normalised rule key with its rule.
type named struct {
	key  string
	rule *actions.Rule
}

// NewStore builds the table from a loaded snapshot, which may be nil or
// empty. loops is the number of event loops, which is the number of
// counter slots per host (at least 1). Each rule starts from its stored
// counters with open_requests reset to 0, and so does Unknown (from zero
// when a rule is itself named "unknown"; see state.UnknownHost). Entries
// with a key hostmap.NormalizeKey refuses or a nil rule are left out;
// state.Load returns none. onChange, which may be nil, is called after each
// published change; see Set.
func NewStore(loops int, snap *state.Snapshot, onChange func(key string)) *Store {
	s := &Store{
		loops:    max(loops, 1),
		hosts:    hostmap.New[*actions.Host](),
		onChange: onChange,
		changed:  make(chan struct{}, 1),
	}
	var stats map[string]actions.Counts
	var rules []named
	if snap != nil {
		stats = snap.Stats
		rules = make([]named, 0, len(snap.Hosts))
		for key, r := range snap.Hosts {
			if k, err := hostmap.NormalizeKey(key); err == nil && r != nil {
				rules = append(rules, named{key: k, rule: r})
			}
		}
	}
	entries := make([]hostmap.Entry[*actions.Host], len(rules))
	for i, n := range rules {
		h := &actions.Host{Name: n.key, Rule: n.rule, Stats: actions.NewStats(s.loops, stats[n.key])}
		entries[i] = hostmap.Entry[*actions.Host]{Key: n.key, Value: h, Subdomains: n.rule.Subdomains}
	}
	s.hosts.Replace(entries)
	base := stats[state.UnknownHost]
	if _, _, shadowed := s.hosts.Get(state.UnknownHost); shadowed {
		base = actions.Counts{}
	}
	s.unknown = actions.NewStats(s.loops, base)
	return s
}

// Hosts returns the map the event loops read, keyed by normalised rule
// keys. Callers must treat it as read-only: change rules through the Store.
func (s *Store) Hosts() *hostmap.Map[*actions.Host] { return s.hosts }

// Unknown returns the counters of requests that matched no rule, reported
// under the stats key "unknown".
func (s *Store) Unknown() *actions.Stats { return s.unknown }

// Get returns the rule for key, which is normalised first.
func (s *Store) Get(key string) (*actions.Rule, bool) {
	k, err := hostmap.NormalizeKey(key)
	if err != nil {
		return nil, false
	}
	h, _, ok := s.hosts.Get(k)
	if !ok {
		return nil, false
	}
	return h.Rule, true
}

// Set stores r under key in O(1). A host that had a rule keeps its Stats; a
// new one gets fresh Stats. The change is live on every event loop when Set
// returns; then onChange is called with the normalised key. Set fails, and
// changes nothing, for a nil rule (ErrNilRule) or a key that NormalizeKey
// refuses (an error wrapping hostmap.ErrBadKey).
func (s *Store) Set(key string, r *actions.Rule) error {
	if r == nil {
		return ErrNilRule
	}
	k, err := hostmap.NormalizeKey(key)
	if err != nil {
		return err
	}
	if k == key {
		k = strings.Clone(k) // the map keeps it: never let it pin a caller's buffer
	}
	s.mu.Lock()
	stats := s.statsFor(k)
	s.hosts.Set(k, &actions.Host{Name: k, Rule: r, Stats: stats}, r.Subdomains)
	s.mu.Unlock()
	s.changedKey(k)
	return nil
}

// statsFor returns the Stats of key's current host, or fresh ones. The
// caller holds s.mu.
func (s *Store) statsFor(key string) *actions.Stats {
	if old, _, ok := s.hosts.Get(key); ok {
		return old.Stats
	}
	return actions.NewStats(s.loops, actions.Counts{})
}

// Delete removes key's rule and its Stats and reports whether there was
// one. onChange is called only when a rule was removed.
func (s *Store) Delete(key string) bool {
	k, err := hostmap.NormalizeKey(key)
	if err != nil {
		return false
	}
	s.mu.Lock()
	_, ok := s.hosts.Delete(k)
	s.mu.Unlock()
	if ok {
		s.changedKey(k)
	}
	return ok
}

// Replace swaps the whole table for rules atomically: the event loops see
// the old table or the new one, never a mix. Hosts in both keep their
// Stats; the others get fresh ones, and the Stats of removed hosts go.
// onChange is then called once with "" (every host may have changed).
// Replace checks everything first and changes nothing on error: a nil rule
// (ErrNilRule), a key NormalizeKey refuses (hostmap.ErrBadKey), or two
// keys that normalise alike (ErrDuplicateKey). Errors name the key.
func (s *Store) Replace(rules map[string]*actions.Rule) error {
	list := make([]named, 0, len(rules))
	for key, r := range rules {
		if r == nil {
			return fmt.Errorf("%s: %w", strconv.QuoteToASCII(key), ErrNilRule)
		}
		k, err := hostmap.NormalizeKey(key)
		if err != nil {
			return fmt.Errorf("%s: %w", strconv.QuoteToASCII(key), err)
		}
		list = append(list, named{key: strings.Clone(k), rule: r})
	}
	if dup, ok := duplicateKey(list); ok {
		return fmt.Errorf("%s: %w", strconv.QuoteToASCII(dup), ErrDuplicateKey)
	}
	s.replace(list)
	return nil
}

// replace publishes list, whose keys are normalised, unique and owned by
// the table, as the whole table.
func (s *Store) replace(list []named) {
	entries := make([]hostmap.Entry[*actions.Host], len(list))
	s.mu.Lock()
	for i, n := range list {
		h := &actions.Host{Name: n.key, Rule: n.rule, Stats: s.statsFor(n.key)}
		entries[i] = hostmap.Entry[*actions.Host]{Key: n.key, Value: h, Subdomains: n.rule.Subdomains}
	}
	s.hosts.Replace(entries)
	s.mu.Unlock()
	s.changedKey("")
}

// changedKey records a published change and tells the saver and onChange.
func (s *Store) changedKey(key string) {
	s.gen.Add(1)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	if s.onChange != nil {
		s.onChange(key)
	}
}

// hostList returns the current hosts. It holds the writer mutex only while
// copying pointers, so the list is exact: no change is half seen.
func (s *Store) hostList() []*actions.Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*actions.Host, 0, s.hosts.Len())
	s.hosts.Range(func(_ string, h *actions.Host, _ bool) bool {
		list = append(list, h)
		return true
	})
	return list
}

// Rules returns a copy of the table: normalised key to rule. The rules
// themselves are shared and immutable.
func (s *Store) Rules() map[string]*actions.Rule {
	list := s.hostList()
	m := make(map[string]*actions.Rule, len(list))
	for _, h := range list {
		m[h.Name] = h.Rule
	}
	return m
}

// Stats returns key's counters. The key "unknown" gives the counters of
// unmatched requests unless a rule is named "unknown".
func (s *Store) Stats(key string) (actions.Counts, bool) {
	k, err := hostmap.NormalizeKey(key)
	if err != nil {
		return actions.Counts{}, false
	}
	if h, _, ok := s.hosts.Get(k); ok {
		return h.Stats.Snapshot(), true
	}
	if k == state.UnknownHost {
		return s.unknown.Snapshot(), true
	}
	return actions.Counts{}, false
}

// AllStats returns every rule's counters and, under "unknown", those of
// unmatched requests (unless a rule is named "unknown").
func (s *Store) AllStats() map[string]actions.Counts {
	list := s.hostList()
	m := make(map[string]actions.Counts, len(list)+1)
	m[state.UnknownHost] = s.unknown.Snapshot()
	for _, h := range list {
		m[h.Name] = h.Stats.Snapshot()
	}
	return m
}

// Snapshot returns the rules and counters as a state file holds them, with
// open_requests as counted (the loader resets them).
func (s *Store) Snapshot() *state.Snapshot {
	list := s.hostList()
	snap := &state.Snapshot{
		Hosts: make(map[string]*actions.Rule, len(list)),
		Stats: make(map[string]actions.Counts, len(list)+1),
	}
	snap.Stats[state.UnknownHost] = s.unknown.Snapshot()
	for _, h := range list {
		snap.Hosts[h.Name] = h.Rule
		snap.Stats[h.Name] = h.Stats.Snapshot()
	}
	return snap
}
