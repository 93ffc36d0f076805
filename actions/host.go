package actions

// Host is what the host map stores for one rule hostname: the rule and the
// host's statistics. A Host is immutable; changing a rule publishes a new
// Host that shares the old one's Stats (SPEC §6: stats stay when a rule is
// updated, and go when it is deleted).
type Host struct {
	// Name is the rule key as stored ("ep.io", "http://ep.io").
	Name string
	// Rule is the validated rule.
	Rule *Rule
	// Stats counts the host's requests and bytes.
	Stats *Stats
}
