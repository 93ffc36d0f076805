package hostmap

import "github.com/mantrid/mantrid/actions"

// Hit is what a lookup found: a host's rule, its subdomains flag and its
// stat id. It stays valid, and unchanged, for as long as it is held, even
// after the rule changes or the table is rebuilt: it points into memory
// that is never overwritten. The zero Hit is no rule.
type Hit struct {
	// Rule is the packed rule. It aliases the table's arena.
	Rule actions.Packed
	// Subdomains reports whether the rule also matches subdomains of its
	// hostname.
	Subdomains bool
	// Stat is the host's stat id: its counters are Table.Counters' entries
	// for it.
	Stat uint32
	// Rev is the revision at which the rule was last set, as the store
	// that feeds the table counts them (Table.SetRev, Builder.SetRev); 0
	// when none was given.
	Rev uint64

	root *root
	key  uint64
	val  uint64
}

// Key returns the rule key the lookup found ("ep.io", "http://ep.io"). The
// string shares the table's memory.
func (h *Hit) Key() string { return h.root.key(h.key) }

// BackendAddr returns the dial address of the i-th backend of a proxy
// rule, without allocating.
func (h *Hit) BackendAddr(i int) string {
	return h.root.backends.addr(&h.root.arena, h.Rule.Backend(i))
}

// Same reports whether h and o are the same rule of the same host, as the
// table held it at each lookup: false once the host's rule has been set
// again (even to an equal rule), and after a rebuild of the table.
func (h *Hit) Same(o *Hit) bool { return h.root == o.root && h.val == o.val }

// Unpack returns the rule as a new actions.Rule that shares nothing with
// the table.
func (h *Hit) Unpack() *actions.Rule {
	return h.Rule.Rule(h.Subdomains, h.addr)
}

// UnpackInto fills r with the rule for encoding, reusing r's memory; see
// actions.Packed.Unpack for what r may then be used for.
func (h *Hit) UnpackInto(r *actions.Rule) {
	h.Rule.Unpack(r, h.Subdomains, h.addr)
}

func (h *Hit) addr(id uint32) string { return h.root.backends.addr(&h.root.arena, id) }
