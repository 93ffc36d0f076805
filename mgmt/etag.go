package mgmt

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/mantrid/mantrid/mgmt/store"
)

// setETag sets the ETag of a rule at revision rev on an answer.
func setETag(w http.ResponseWriter, rev uint64) {
	w.Header().Set("ETag", string(api.AppendETag(make([]byte, 0, 24), rev)))
}

// preconditions reads the If-Match and If-None-Match headers of a PUT or
// DELETE of one host (RFC 9110 sections 13.1.1 and 13.1.2) into the
// store.Cond the change is committed under. Mantrid takes one entity-tag
// or "*" in If-Match and only "*" in If-None-Match; anything else it
// cannot evaluate is a 400 precondition_invalid. An If-Match whose tag no
// rule of Mantrid's can have (a weak tag, which strong comparison never
// matches, or one Mantrid never sent) is false whatever the host has: the
// answer is the 412 at once.
func preconditions(h http.Header) (store.Cond, *api.Error) {
	var c store.Cond
	if vs, ok := h["If-Match"]; ok {
		tag, e := oneTag("If-Match", vs)
		if e != nil {
			return c, e
		}
		if tag == "*" {
			c.IfMatch = store.AnyRev
		} else if rev, ok := api.ParseETag(tag); ok {
			c.IfMatch = rev
		} else {
			return c, &api.Error{Code: api.CodePreconditionFailed,
				Detail: "If-Match names an entity-tag no rule has (Mantrid's ETags are strong, \"REV\")"}
		}
	}
	if vs, ok := h["If-None-Match"]; ok {
		tag, e := oneTag("If-None-Match", vs)
		if e != nil {
			return c, e
		}
		if tag != "*" {
			return c, &api.Error{Code: api.CodePreconditionInvalid,
				Detail: "If-None-Match on a write takes only *: create the rule only if the host has none"}
		}
		c.IfNoneMatch = true
	}
	return c, nil
}

// oneTag returns the one member of the header name: "*" or an
// entity-tag, [W/]"etagc*" (RFC 9110 section 8.8.3).
func oneTag(name string, values []string) (string, *api.Error) {
	v := strings.Trim(strings.Join(values, ","), " \t")
	if v == "*" || validTag(v) {
		return v, nil
	}
	detail := name + " is not \"*\" nor one entity-tag (\"REV\", as an ETag gives it)"
	if listOfTags(v) {
		detail = name + " lists more than one entity-tag; Mantrid takes one"
	}
	return "", &api.Error{Code: api.CodePreconditionInvalid, Detail: detail}
}

// validTag reports whether s is one entity-tag: an optional W/ and a
// quoted string of etagc (0x21, 0x23–0x7E, 0x80–0xFF).
func validTag(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c < 0x21 || c == '"' || c == 0x7f {
			return false
		}
	}
	return true
}

// listOfTags reports whether s is a comma-separated list of entity-tags.
func listOfTags(s string) bool {
	n := 0
	for m := range strings.SplitSeq(s, ",") {
		if m = strings.Trim(m, " \t"); m == "" {
			continue
		}
		if !validTag(m) {
			return false
		}
		n++
	}
	return n > 1
}

// conditionFailed turns a store's ErrPrecondition into the 412 answer's
// error, saying what the host has now.
func conditionFailed(err error) *api.Error {
	detail := "the rule changed first; nothing changed"
	if pe, ok := errors.AsType[*store.PreconditionError](err); ok {
		if pe.Exists {
			detail = "the rule of " + pe.Key + " is now at ETag \"" + strconv.FormatUint(pe.Rev, 10) + "\"; nothing changed"
		} else {
			detail = pe.Key + " has no rule; nothing changed"
		}
	}
	return &api.Error{Code: api.CodePreconditionFailed, Detail: detail}
}
