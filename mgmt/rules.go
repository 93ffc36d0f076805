package mgmt

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unsafe"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/state"
	"github.com/mantrid/mantrid/mgmt/store"
)

// cancelCheckEvery is how many bulk entries are decoded between checks
// that the request is still wanted.
const cancelCheckEvery = 4096

// bulkEntryGuess is a typical size of one bulk entry in bytes, to size the
// table being built from the body's length.
const bulkEntryGuess = 80

// errStop ends a bulk decode early; the reason is kept beside it.
var errStop = errors.New("mgmt: stop decoding")

// getRules answers GET /hostname/: every rule as {host: rule}, streamed,
// in no particular order, from one cut of the table (no change half seen).
func (s *Server) getRules(w http.ResponseWriter, r *http.Request) int {
	cut := s.table.Cut()
	var rule actions.Rule
	err := stream(w, r, cut.Len(), func(dst []byte, i int) []byte {
		dst = appendKey(dst, cut.Key(i))
		dst = append(dst, ':')
		h := cut.Hit(i)
		h.UnpackInto(&rule)
		return rule.AppendJSON(dst)
	})
	if err != nil {
		s.log.Debug("api: GET /hostname/ cut short", "err", err)
	}
	return http.StatusOK
}

// putRules answers PUT /hostname/: the body {host: rule} replaces every
// rule at once, or nothing changes. Hosts that keep a rule keep their
// counters.
func (s *Server) putRules(w http.ResponseWriter, r *http.Request) int {
	start := time.Now()
	var body string
	var b *hostmap.Builder
	var e *api.Error
	var read time.Time
	store.LowPriority(func() {
		if body, e = readBody(w, r, s.opts.MaxBodyBytes); e == nil {
			read = time.Now()
			b, e = s.decodeRules(r.Context(), body)
		}
	})
	if e != nil {
		return writeError(w, e)
	}
	decoded := time.Now()
	n := b.Len()
	if err := s.store.Replace(r.Context(), b); err != nil {
		return writeError(w, storeProblem(err))
	}
	s.log.Info("rules replaced", "rules", n, "bytes", len(body), "took", time.Since(start).Round(time.Millisecond),
		"read", read.Sub(start).Round(time.Millisecond), "checked", decoded.Sub(read).Round(time.Millisecond),
		"committed", time.Since(decoded).Round(time.Millisecond))
	s.afterBulk()
	return writeOK(w)
}

// decodeRules validates a bulk body into a table builder, keys normalised.
// The first bad entry in document order is the error, with its code and
// its name in Host; then the first key given twice. Plain rules go
// through actions.ParseRuleFast into one reused Rule, straight into the
// builder; the rest are decoded and checked in full, so the answers are
// those of ParseRule either way.
func (s *Server) decodeRules(ctx context.Context, body string) (*hostmap.Builder, *api.Error) {
	b := s.table.NewBuilder(len(body) / bulkEntryGuess)
	var bad *api.Error
	var scratch actions.Rule
	n := 0
	err := state.EachMember(body, func(name, raw string) error {
		if n++; n%cancelCheckEvery == 0 && ctx.Err() != nil {
			bad = &api.Error{Code: api.CodeBodyUnreadable, Detail: "the request was cancelled"}
			return errStop
		}
		key, err := hostmap.NormalizeKey(name)
		if err != nil {
			bad = &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: name}
			return errStop
		}
		rule := &scratch
		if !actions.ParseRuleFast(unsafe.Slice(unsafe.StringData(raw), len(raw)), rule) {
			v, err := state.DecodeValue(raw)
			if err != nil {
				return err
			}
			if rule, err = actions.ParseRuleValue(v); err != nil {
				bad = ruleProblem(err, name)
				return errStop
			}
		}
		b.Add(key, rule)
		return nil
	})
	switch {
	case bad != nil:
		return nil, bad
	case errors.Is(err, state.ErrNotObject):
		return nil, &api.Error{Code: api.CodeBodyNotADict, Detail: "the body must be a JSON object {host: rule}"}
	case err != nil:
		return nil, &api.Error{Code: api.CodeBadJSON, Detail: "the body is " + err.Error()}
	}
	if de, ok := errors.AsType[*hostmap.DuplicateKeyError](b.Finish()); ok {
		return nil, &api.Error{Code: api.CodeHostnameDuplicate, Detail: "two entries name the same rule key", Host: de.Key}
	}
	return b, nil
}

// keyProblem says why NormalizeKey refused a key, without quoting it.
func keyProblem(err error) string {
	return strings.TrimPrefix(err.Error(), "hostmap: ")
}

// ruleProblem turns a rule validation error into an API error about host.
func ruleProblem(err error, host string) *api.Error {
	if re, ok := errors.AsType[actions.RuleError](err); ok {
		return ruleError(re, host)
	}
	return &api.Error{Code: actions.CodeHostDetailsNotList, Detail: "invalid rule", Host: host}
}

// storeProblem turns a store's refusal into an API error: 503, nothing
// changed.
func storeProblem(err error) *api.Error {
	detail := "the rule store could not commit the change; nothing changed: " + err.Error()
	if errors.Is(err, store.ErrClosed) {
		detail = "Mantrid is stopping; nothing changed"
	}
	return &api.Error{Code: api.CodeStoreUnavailable, Detail: detail}
}

// oneRule answers GET, PUT and DELETE on /hostname/HOST/.
func (s *Server) oneRule(w http.ResponseWriter, r *http.Request, host string) int {
	key, err := hostmap.NormalizeKey(host)
	if err != nil {
		return writeError(w, &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: host})
	}
	switch r.Method {
	case http.MethodPut:
		return s.putRule(w, r, key)
	case http.MethodDelete:
		if _, err := s.store.Delete(r.Context(), key); err != nil {
			return writeError(w, storeProblem(err))
		}
		return writeOK(w)
	}
	h, ok := s.table.Get(key)
	if !ok {
		return writeBody(w, http.StatusOK, []byte("null"))
	}
	var rule actions.Rule
	h.UnpackInto(&rule)
	return writeBody(w, http.StatusOK, rule.AppendJSON(make([]byte, 0, 128)))
}

// putRule answers PUT /hostname/HOST/: the body is one rule triple.
func (s *Server) putRule(w http.ResponseWriter, r *http.Request, key string) int {
	body, e := readBody(w, r, s.opts.MaxRuleBytes)
	if e != nil {
		return writeError(w, e)
	}
	rule, err := actions.ParseRule([]byte(body))
	if err != nil {
		return writeError(w, ruleProblem(err, key))
	}
	if err := s.store.Set(r.Context(), key, rule); err != nil {
		return writeError(w, storeProblem(err))
	}
	s.log.Debug("rule set", "host", key, "action", rule.Kind.String())
	return writeOK(w)
}
