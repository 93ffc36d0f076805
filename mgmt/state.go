package mgmt

import (
	"errors"
	"fmt"
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
// none (mantrid-client import of an export). A document with any entry
// that Mantrid refuses changes nothing, and the answer lists the refused
// entries: importing the rest would delete the rules in force for the
// refused hosts.
func (s *Server) putState(w http.ResponseWriter, r *http.Request) int {
	start := time.Now()
	body, e := readBody(w, r, s.opts.MaxBodyBytes)
	if e != nil {
		return writeError(w, e)
	}
	b := s.table.NewBuilder(len(body) / (2 * bulkEntryGuess))
	var imp *state.Imported
	var err error
	s.opts.Bulk.Run(func(*store.Pacer) { imp, err = state.Import(body, b) })
	if err != nil {
		return writeError(w, importProblem(err))
	}
	if len(imp.Refused) > 0 {
		return writeError(w, refusedProblem(imp.Refused))
	}
	n, stats := imp.Rules, imp.Stats
	if _, err := s.store.Replace(r.Context(), b); err != nil {
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
	return &api.Error{Code: ImportCode(err), Detail: "the body is not a state document: " + err.Error()}
}

// refusedProblem turns the refused entries of an import into an API error:
// 400 with the code and host of the first, and the first
// api.MaxRefusals of them in Refused.
func refusedProblem(refused []state.Refused) *api.Error {
	first := refused[0]
	e := &api.Error{
		Code: ImportCode(first.Err),
		Host: first.Host,
		Detail: fmt.Sprintf("nothing was imported: %d %s refused (see refused); the first: %s",
			len(refused), plural(len(refused), "entry is", "entries are"), ImportReason(first.Err)),
		Refused: make([]api.Refusal, 0, min(len(refused), api.MaxRefusals)),
	}
	for _, r := range refused[:min(len(refused), api.MaxRefusals)] {
		e.Refused = append(e.Refused, api.Refusal{Host: safeText(r.Host), Code: ImportCode(r.Err), Detail: safeText(ImportReason(r.Err))})
	}
	return e
}

func plural(n int, one, more string) string {
	if n == 1 {
		return one
	}
	return more
}

// ImportCode returns the API error code of a problem state.Import found,
// in a document or in one of its entries (state.Refused.Err): the rule
// validation code, hostname_invalid, hostname_duplicate, bad_json, or
// state_not_a_dict for the rest (a counter, the document's shape).
func ImportCode(err error) string {
	if re, ok := errors.AsType[actions.RuleError](err); ok {
		return re.Code
	}
	switch {
	case errors.Is(err, state.ErrSyntax):
		return api.CodeBadJSON
	case errors.Is(err, hostmap.ErrBadKey):
		return api.CodeHostnameInvalid
	case errors.Is(err, hostmap.ErrDuplicateKey):
		return api.CodeHostnameDuplicate
	}
	return api.CodeStateNotADict
}

// ImportReason words err, a problem state.Import found, for an operator,
// without the code ImportCode gives it.
func ImportReason(err error) string {
	if re, ok := errors.AsType[actions.RuleError](err); ok && re.Detail != "" {
		return re.Detail
	}
	if errors.Is(err, hostmap.ErrBadKey) {
		return keyProblem(err)
	}
	return err.Error()
}
