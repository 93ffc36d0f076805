package mgmt

import (
	"net/http"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/state"
)

// statsEntry is one member of GET /stats/.
type statsEntry struct {
	key  string
	stat uint32
}

// statsList returns every rule's key and stat id, and "unknown" with the
// unmatched requests' id unless a rule is named "unknown" (the first
// Mantrid's shared key, see state.UnknownHost).
func (s *Server) statsList() []statsEntry {
	list := make([]statsEntry, 0, s.table.Len()+1)
	shadowed := false
	s.table.Range(func(key string, h hostmap.Hit) bool {
		list = append(list, statsEntry{key, h.Stat})
		shadowed = shadowed || key == state.UnknownHost
		return true
	})
	if !shadowed {
		list = append(list, statsEntry{state.UnknownHost, 0})
	}
	return list
}

// getStats answers GET /stats/: {host: stats} for every rule and
// "unknown", streamed, in no particular order.
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) int {
	list := s.statsList()
	err := stream(w, r, len(list), func(dst []byte, i int) []byte {
		dst = appendKey(dst, list[i].key)
		dst = append(dst, ':')
		return appendCounts(dst, s.table.Counts(list[i].stat))
	})
	if err != nil {
		s.log.Debug("api: GET /stats/ cut short", "err", err)
	}
	return http.StatusOK
}

// getHostStats answers GET /stats/HOST/: that host's counters, or {} when
// it has no rule (README: REST API); "unknown" gives the unmatched requests' unless
// a rule has that name.
func (s *Server) getHostStats(w http.ResponseWriter, r *http.Request, host string) int {
	key, err := hostmap.NormalizeKey(host)
	if err != nil {
		return writeError(w, &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: host})
	}
	if st, ok := s.localHostStats(key); ok {
		return writeJSON(w, st)
	}
	return writeBody(w, http.StatusOK, []byte("{}"))
}

// statsOf converts counters to their wire form.
func statsOf(c actions.Counts) api.Stats {
	return api.Stats{
		OpenRequests:      c.OpenRequests,
		CompletedRequests: c.CompletedRequests,
		BytesSent:         c.BytesSent,
		BytesReceived:     c.BytesReceived,
	}
}
