package state

import "github.com/mantrid/mantrid/actions"

// UnknownHost is the stats key for requests that matched no rule. A rule
// whose key is also "unknown" shares it: its own counters take the key and
// those of unmatched requests are then not written.
const UnknownHost = "unknown"

// Snapshot is the content of a state file.
type Snapshot struct {
	// Hosts maps normalised rule keys (hostmap.NormalizeKey) to rules.
	Hosts map[string]*actions.Rule
	// Stats maps normalised rule keys, and UnknownHost, to counters as they
	// were written; open_requests is not reset here (actions.NewStats does
	// that). A key may have stats and no rule.
	Stats map[string]actions.Counts
}

// Entry is one rule with its counters, in the form SaveEntries writes.
type Entry struct {
	// Name is the normalised rule key.
	Name string
	// Rule is the rule; it must not be nil.
	Rule *actions.Rule
	// Stats are the rule's counters.
	Stats actions.Counts
}

// newSnapshot returns an empty Snapshot with room for n hosts.
func newSnapshot(n int) *Snapshot {
	return &Snapshot{Hosts: make(map[string]*actions.Rule, n), Stats: make(map[string]actions.Counts, n+1)}
}
