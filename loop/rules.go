package loop

import (
	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Rules is the routing table the loops read: the host map (written by the
// management side) and the counters for requests that match no rule.
type Rules struct {
	// Hosts maps rule keys to hosts. Readers never lock.
	Hosts *hostmap.Map[*actions.Host]
	// Unknown counts requests that matched no rule (and malformed ones).
	Unknown *actions.Stats
}

// NewRules returns an empty table for an engine with loops event loops.
func NewRules(loops int) *Rules {
	return &Rules{Hosts: hostmap.New[*actions.Host](), Unknown: actions.NewStats(loops, actions.Counts{})}
}
