package mgmt

import (
	"errors"
	"io"
	"net/http"
	"strconv"
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
// counters. The body is read and checked a member at a time, as bulk work
// (ServerOptions.Bulk), never held whole.
func (s *Server) putRules(w http.ResponseWriter, r *http.Request) int {
	start := time.Now()
	var b *hostmap.Builder
	var e *api.Error
	var size int64
	s.opts.Bulk.Run(func(p *store.Pacer) { b, size, e = s.decodeRules(w, r, p) })
	if e != nil {
		return writeError(w, e)
	}
	checked := time.Now()
	n := b.Len()
	if _, err := s.store.Replace(r.Context(), b); err != nil {
		return writeError(w, storeProblem(err))
	}
	s.log.Info("rules replaced", "rules", n, "bytes", size, "took", time.Since(start).Round(time.Millisecond),
		"checked", checked.Sub(start).Round(time.Millisecond), "committed", time.Since(checked).Round(time.Millisecond))
	s.afterBulk()
	return writeOK(w)
}

// decodeRules reads and validates a bulk body into a table builder, keys
// normalised, and returns it with the body's size. The answer is the one
// reading the whole body first gave: a body over the limit (413) or cut
// short (body_unreadable), then one that is not JSON (bad_json) or not an
// object (body_not_a_dict); then the first bad entry in document order,
// with its code and its name in Host; then the first key given twice.
// Plain rules go through actions.ParseRuleFast into one reused Rule,
// straight into the builder; the rest are decoded and checked in full, so
// the answers are those of ParseRule either way.
func (s *Server) decodeRules(w http.ResponseWriter, r *http.Request, p *store.Pacer) (*hostmap.Builder, int64, *api.Error) {
	limit := s.opts.MaxBodyBytes
	tooLarge := &api.Error{Code: api.CodeBodyTooLarge,
		Detail: "the body is over the limit of " + strconv.FormatInt(limit, 10) + " bytes"}
	if r.ContentLength > limit {
		return nil, 0, tooLarge
	}
	body := &countingReader{r: http.MaxBytesReader(w, r.Body, limit)}
	b := s.table.NewBuilder(int(max(r.ContentLength, 0)) / bulkEntryGuess)
	var bad *api.Error
	var scratch actions.Rule
	n := 0
	fast := func(name, raw string) bool {
		p.Pace()
		if n++; n%cancelCheckEvery == 0 && r.Context().Err() != nil {
			return false // the slow path says so
		}
		key, err := hostmap.NormalizeKey(name)
		if err != nil || !actions.ParseRuleFast(unsafe.Slice(unsafe.StringData(raw), len(raw)), &scratch) {
			return false
		}
		b.Add(key, &scratch)
		return true
	}
	err := state.ReadMembers(body, fast, func(name, raw string) error {
		p.Pace()
		if r.Context().Err() != nil {
			bad = &api.Error{Code: api.CodeBodyUnreadable, Detail: "the request was cancelled"}
			return errStop
		}
		key, err := hostmap.NormalizeKey(name)
		if err != nil {
			bad = &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: strings.Clone(name)}
			return errStop
		}
		v, err := state.DecodeValue(raw)
		if err != nil {
			return err
		}
		rule, err := actions.ParseRuleValue(v)
		if err != nil {
			bad = ruleProblem(err, strings.Clone(name))
			return errStop
		}
		b.Add(key, rule)
		return nil
	})
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, body.n, tooLarge
	}
	switch {
	case body.readErr != nil:
		return nil, body.n, unreadable(body.readErr)
	case errors.Is(err, state.ErrNotObject):
		return nil, body.n, &api.Error{Code: api.CodeBodyNotADict, Detail: "the body must be a JSON object {host: rule}"}
	case errors.Is(err, state.ErrSyntax), errors.Is(err, state.ErrTooDeep):
		return nil, body.n, &api.Error{Code: api.CodeBadJSON, Detail: "the body is " + err.Error()}
	case bad != nil:
		return nil, body.n, bad
	case err != nil && !errors.Is(err, errStop):
		return nil, body.n, &api.Error{Code: api.CodeBadJSON, Detail: "the body is " + err.Error()}
	}
	if de, ok := errors.AsType[*hostmap.DuplicateKeyError](b.Finish()); ok {
		return nil, body.n, &api.Error{Code: api.CodeHostnameDuplicate, Detail: "two entries name the same rule key", Host: de.Key}
	}
	return b, body.n, nil
}

// countingReader counts the bytes read through it and keeps the first
// read error.
type countingReader struct {
	r       io.Reader
	n       int64
	readErr error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.readErr == nil {
		c.readErr = err
	}
	return n, err
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

// storeProblem turns a store's refusal into an API error: 412 for a
// precondition that did not hold, else 503; nothing changed.
func storeProblem(err error) *api.Error {
	if errors.Is(err, store.ErrPrecondition) {
		return conditionFailed(err)
	}
	detail := "the rule store could not commit the change; nothing changed: " + err.Error()
	if errors.Is(err, store.ErrClosed) {
		detail = "Mantrid is stopping; nothing changed"
	}
	return &api.Error{Code: api.CodeStoreUnavailable, Detail: detail}
}

// oneRule answers GET, PUT and DELETE on /hostname/HOST/. A rule's
// answer carries its ETag, the revision of its last change; PUT and
// DELETE honour If-Match and If-None-Match (preconditions), checked by
// the store as it commits.
func (s *Server) oneRule(w http.ResponseWriter, r *http.Request, host string) int {
	key, err := hostmap.NormalizeKey(host)
	if err != nil {
		return writeError(w, &api.Error{Code: api.CodeHostnameInvalid, Detail: keyProblem(err), Host: host})
	}
	switch r.Method {
	case http.MethodPut:
		return s.putRule(w, r, key)
	case http.MethodDelete:
		return s.deleteRule(w, r, key)
	}
	h, ok := s.table.Get(key)
	if !ok {
		return writeBody(w, http.StatusOK, []byte("null"))
	}
	var rule actions.Rule
	h.UnpackInto(&rule)
	setETag(w, h.Rev)
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
	cond, e := preconditions(r.Header)
	if e != nil {
		return writeError(w, e)
	}
	rev, err := s.store.Set(r.Context(), key, rule, cond)
	if err != nil {
		return writeError(w, storeProblem(err))
	}
	s.log.Debug("rule set", "host", key, "action", rule.Kind.String(), "revision", rev)
	setETag(w, rev)
	return writeOK(w)
}

// deleteRule answers DELETE /hostname/HOST/: 200 even when the host has
// no rule (unless a precondition asks for one), with the ETag of the
// deletion's revision when there was one.
func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request, key string) int {
	cond, e := preconditions(r.Header)
	if e != nil {
		return writeError(w, e)
	}
	existed, rev, err := s.store.Delete(r.Context(), key, cond)
	if err != nil {
		return writeError(w, storeProblem(err))
	}
	if existed {
		setETag(w, rev)
	}
	return writeOK(w)
}
