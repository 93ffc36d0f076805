package mgmt

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/state"
)

// cancelCheckEvery is how many bulk entries are decoded between checks
// that the request is still wanted.
const cancelCheckEvery = 4096

// bulkEntryGuess is a typical size of one bulk entry in bytes, to size the
// list of rules from the body's length.
const bulkEntryGuess = 80

// errStop ends a bulk decode early; the reason is kept beside it.
var errStop = errors.New("mgmt: stop decoding")

// getRules answers GET /hostname/: every rule as {host: rule}, streamed,
// in no particular order.
func (s *Server) getRules(w http.ResponseWriter, r *http.Request) int {
	list := s.store.hostList()
	err := stream(w, r, len(list), func(dst []byte, i int) []byte {
		dst = appendKey(dst, list[i].Name)
		dst = append(dst, ':')
		return list[i].Rule.AppendJSON(dst)
	})
	if err != nil {
		s.log.Debug("api: GET /hostname/ cut short", "err", err)
	}
	return http.StatusOK
}

// putRules answers PUT /hostname/: the body {host: rule} replaces every
// rule at once, or nothing changes.
func (s *Server) putRules(w http.ResponseWriter, r *http.Request) int {
	start := time.Now()
	body, e := readBody(w, r, s.opts.MaxBodyBytes)
	if e != nil {
		return writeError(w, e)
	}
	list, e := decodeRules(r.Context(), body)
	if e != nil {
		return writeError(w, e)
	}
	s.store.replace(list)
	s.log.Info("rules replaced", "rules", len(list), "bytes", len(body), "took", time.Since(start))
	return writeOK(w)
}

// decodeRules validates a bulk body and returns its rules under normalised
// keys, in document order. The first bad entry in document order is the
// error, with its code and its name in Host; then a key given twice.
func decodeRules(ctx context.Context, body string) ([]named, *api.Error) {
	list := make([]named, 0, len(body)/bulkEntryGuess)
	var bad *api.Error
	err := state.DecodeObject(body, func(name string, v any) error {
		if len(list)%cancelCheckEvery == 0 && ctx.Err() != nil {
			bad = &api.Error{Code: api.CodeBodyUnreadable, Detail: "the request was cancelled"}
			return errStop
		}
		key, err := hostmap.NormalizeKey(name)
		if err != nil {
			bad = &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: name}
			return errStop
		}
		rule, err := actions.ParseRuleValue(v)
		if err != nil {
			bad = ruleProblem(err, name)
			return errStop
		}
		list = append(list, named{key: key, rule: rule})
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
	if dup, ok := duplicateKey(list); ok {
		return nil, &api.Error{Code: api.CodeHostnameDuplicate, Detail: "two entries name the same rule key", Host: dup}
	}
	return list, nil
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
		s.store.Delete(key)
		return writeOK(w)
	}
	rule, _ := s.store.Get(key)
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
	if err := s.store.Set(key, rule); err != nil {
		return writeError(w, &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: key})
	}
	s.log.Debug("rule set", "host", key, "action", rule.Kind.String())
	return writeOK(w)
}
