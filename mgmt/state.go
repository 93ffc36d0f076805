package mgmt

import (
	"errors"
	"net/http"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/mantrid/mantrid/mgmt/store"
)

// getState answers GET /state/: every rule and every host's counters in
// the first Mantrid's state file format, from one cut of the table, so
// that an operator can always go back (mantrid-client export). Counters of
// unmatched requests come under "unknown", unless a rule has that name.
func (s *Server) getState(w http.ResponseWriter, r *http.Request) int {
	jsonHeader(w)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return http.StatusOK
	}
	cut := s.table.Cut()
	enc := state.NewEncoder(w)
	var rule actions.Rule
	shadowed := false
	for i := range cut.Len() {
		h := cut.Hit(i)
		h.UnpackInto(&rule)
		enc.Host(cut.Key(i), &rule)
		shadowed = shadowed || cut.Key(i) == state.UnknownHost
	}
	if !shadowed {
		enc.Stats(state.UnknownHost, s.table.Counts(0))
	}
	for i := range cut.Len() {
		h := cut.Hit(i)
		enc.Stats(cut.Key(i), s.table.Counts(h.Stat))
	}
	if err := enc.Close(); err != nil {
		s.log.Debug("api: GET /state/ cut short", "err", err)
	}
	return http.StatusOK
}

// putState answers PUT /state/: the body, a state document, replaces every
// rule at once, or nothing changes; then every host's counters (and the
// unmatched requests') become those of the document, 0 for a host it gives
// none (mantrid-client import of an export).
func (s *Server) putState(w http.ResponseWriter, r *http.Request) int {
	start := time.Now()
	body, e := readBody(w, r, s.opts.MaxBodyBytes)
	if e != nil {
		return writeError(w, e)
	}
	b := s.table.NewBuilder(len(body) / (2 * bulkEntryGuess))
	var stats map[string]actions.Counts
	var err error
	s.opts.Bulk.Run(func(*store.Pacer) { stats, err = state.Import(body, b) })
	if err != nil {
		return writeError(w, importProblem(err))
	}
	n := b.Len()
	if err := s.store.Replace(r.Context(), b); err != nil {
		return writeError(w, storeProblem(err))
	}
	s.table.SetUnmatchedCounts(stats[""])
	s.table.Range(func(key string, _ hostmap.Hit) bool {
		s.table.SetCounts(key, stats[key])
		return true
	})
	if s.opts.SaveStats != nil {
		if err := s.opts.SaveStats(); err != nil {
			s.log.Error("imported counters not saved yet; the next save will retry", "err", err)
		}
	}
	s.log.Info("state imported", "rules", n, "counters", len(stats), "bytes", len(body), "took", time.Since(start))
	s.afterBulk()
	return writeOK(w)
}

// importProblem turns an import error into an API error: 400, with the
// code of the problem where there is one.
func importProblem(err error) *api.Error {
	code := api.CodeStateNotADict
	if re, ok := errors.AsType[actions.RuleError](err); ok {
		code = re.Code
	} else {
		switch {
		case errors.Is(err, state.ErrSyntax):
			code = api.CodeBadJSON
		case errors.Is(err, hostmap.ErrBadKey):
			code = api.CodeHostnameInvalid
		case errors.Is(err, hostmap.ErrDuplicateKey):
			code = api.CodeHostnameDuplicate
		}
	}
	return &api.Error{Code: code, Detail: "the body is not a state document: " + err.Error()}
}
