package mgmt

import (
	"net/http"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/state"
)

// getStats answers GET /stats/: {host: stats} for every rule and
// "unknown", streamed, in no particular order.
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) int {
	list := s.store.hostList()
	shadowed := false
	for _, h := range list {
		shadowed = shadowed || h.Name == state.UnknownHost
	}
	extra := 1
	if shadowed {
		extra = 0
	}
	err := stream(w, r, len(list)+extra, func(dst []byte, i int) []byte {
		if i < extra {
			dst = appendKey(dst, state.UnknownHost)
			dst = append(dst, ':')
			return appendCounts(dst, s.store.unknown.Snapshot())
		}
		h := list[i-extra]
		dst = appendKey(dst, h.Name)
		dst = append(dst, ':')
		return appendCounts(dst, h.Stats.Snapshot())
	})
	if err != nil {
		s.log.Debug("api: GET /stats/ cut short", "err", err)
	}
	return http.StatusOK
}

// getHostStats answers GET /stats/HOST/: that host's counters, or {} when
// it has no rule (SPEC §7).
func (s *Server) getHostStats(w http.ResponseWriter, r *http.Request, host string) int {
	key, err := hostmap.NormalizeKey(host)
	if err != nil {
		return writeError(w, &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: host})
	}
	c, ok := s.store.Stats(key)
	if !ok {
		return writeBody(w, http.StatusOK, []byte("{}"))
	}
	return writeJSON(w, statsOf(c))
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
