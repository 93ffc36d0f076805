// Package api holds the wire contract of Mantrid's REST API (SPEC §7),
// shared by the server (mgmt) and the client (mgmt/client): paths, error
// codes and the JSON shapes that are not rules (rules are actions.Rule).
//
// It imports only the standard library. Everything here is constant or
// immutable and safe for concurrent use.
package api

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// DefaultURL is the API base URL mantrid-client uses without --url or
// MANTRID_URL.
const DefaultURL = "http://localhost:8042"

// EnvURL names the environment variable that overrides DefaultURL.
const EnvURL = "MANTRID_URL"

// EnvToken names the environment variable from which mantrid-client takes
// the API's bearer token when no --token-file is given.
const EnvToken = "MANTRID_TOKEN"

// UnixPrefix starts an API address that is a Unix socket rather than a
// URL: "unix:/run/mantrid/api.sock", in bind_management and in
// mantrid-client's --url alike.
const UnixPrefix = "unix:"

// Paths. Each also answers without its trailing slash; HOST is the path
// segment after the prefix.
const (
	// HostnamesPath is GET all rules / PUT replace all rules.
	HostnamesPath = "/hostname/"
	// StatsPath is GET all stats; StatsPath + HOST + "/" one host's.
	StatsPath = "/stats/"
	// StatePath is GET (export) and PUT (import) of every rule and every
	// host's counters at once, as the first Mantrid's state file holds
	// them: {"hosts": {host: rule}, "stats": {host: stats}}.
	StatePath = "/state/"
	// FleetPath is GET of the live nodes of the fleet (Fleet).
	FleetPath = "/fleet/"
)

// FleetQuery is the query that makes GET StatsPath and StatsPath + HOST +
// "/" answer for the whole fleet (FleetStats, FleetHostStats):
// "/stats/?fleet=1".
const FleetQuery = "fleet=1"

// Error codes of API errors, in Error.Code. Rule validation codes come from
// actions (host_action_invalid, host_details_not_list, …) and are passed
// through unchanged with status 400; so is actions' bad_json for the body
// of a single-rule PUT. The strings are part of the API and never change.
const (
	CodeNotFound         = "not_found"          // 404: no such path
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeBadJSON          = "bad_json"           // 400: the body is not JSON
	CodeBodyNotADict     = "body_not_a_dict"    // 400: a bulk PUT body that is not an object
	CodeBodyTooLarge     = "body_too_large"     // 413
	CodeHostnameInvalid  = "hostname_invalid"   // 400: a rule key (path or bulk body) that is not a hostname
	// CodeUnsupportedType (415) is reserved: the server accepts any
	// Content-Type, as the first Mantrid's client sent none.
	CodeUnsupportedType = "unsupported_media_type"
	// CodeHostnameDuplicate (400) means a bulk PUT body names one rule key
	// twice, possibly in two spellings ("EP.io" and "ep.io."); Host says
	// which.
	CodeHostnameDuplicate = "hostname_duplicate"
	// CodeBodyUnreadable (400) means the request body could not be read to
	// its end (the client went away or was too slow).
	CodeBodyUnreadable = "body_unreadable"
	// CodeInternal (500) means the server failed; it is never the answer
	// to bad input.
	CodeInternal = "internal_error"
	// CodeStoreUnavailable (503) means a change could not be committed to
	// the rule store (its disk fails writes); nothing changed, and the
	// rules in force keep serving. Detail says why.
	CodeStoreUnavailable = "store_unavailable"
	// CodeStateNotADict (400) means an import (PUT /state/) body is not an
	// object with a "hosts" object.
	CodeStateNotADict = "state_not_a_dict"
	// CodeUnauthorized (401) means the server has a token
	// (management_token_file) and the request did not carry it in
	// "Authorization: Bearer TOKEN"; the answer has a WWW-Authenticate
	// header (RFC 6750 section 3).
	CodeUnauthorized = "unauthorized"
	// CodeHostNotAllowed (403) means the request's Host is neither a
	// loopback name or address nor one of management_hosts: the defence
	// against DNS rebinding, where a web page in a browser on the same
	// machine reaches the API under a name of the attacker's.
	CodeHostNotAllowed = "host_not_allowed"
	// CodePreconditionFailed (412) means a PUT or DELETE of one host sent
	// If-Match or If-None-Match and the rule did not meet it when the
	// change came to commit (RFC 9110 section 13.1): another write came
	// first. Nothing changed; Detail says what the host has.
	CodePreconditionFailed = "precondition_failed"
	// CodePreconditionInvalid (400) means an If-Match or If-None-Match
	// header that Mantrid cannot evaluate: not an entity-tag, a list of
	// more than one, or an If-None-Match other than "*" on a write.
	CodePreconditionInvalid = "precondition_invalid"
	// CodeQueryInvalid (400) means a query parameter has a value the path
	// does not take, e.g. "/stats/?fleet=yes" (fleet takes 1 or 0).
	CodeQueryInvalid = "query_invalid"
	// CodeFleetUnavailable (503) means the fleet's registry (etcd) could
	// not be read, so the live nodes are not known; Detail says why.
	CodeFleetUnavailable = "fleet_unavailable"
)

// AppendETag appends the ETag of a rule at revision rev: the revision in
// decimal as a strong entity-tag, "REV" (RFC 9110 section 8.8.3).
func AppendETag(dst []byte, rev uint64) []byte {
	dst = append(dst, '"')
	dst = strconv.AppendUint(dst, rev, 10)
	return append(dst, '"')
}

// ParseETag returns the revision of an ETag that AppendETag wrote; ok is
// false for any other entity-tag (a weak one among them).
func ParseETag(tag string) (rev uint64, ok bool) {
	if len(tag) < 3 || tag[0] != '"' || tag[len(tag)-1] != '"' || tag[1] == '0' {
		return 0, false
	}
	digits := tag[1 : len(tag)-1]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	rev, err := strconv.ParseUint(digits, 10, 64)
	return rev, err == nil
}

// CheckToken reports whether tok can be sent as a bearer token: one or
// more visible ASCII characters (0x21 to 0x7e), so no space, no line break
// and nothing a header could not carry. Tokens from "openssl rand -hex 32"
// or "-base64 32" qualify.
func CheckToken(tok string) error {
	if tok == "" {
		return errors.New("the token is empty")
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x21 || tok[i] > 0x7e {
			return errors.New("the token holds a space, a line break or a character other than visible ASCII")
		}
	}
	return nil
}

// Error is the body of every non-200 answer: {"error": CODE, "detail": ...}.
// Host names the rule the error is about: the refused entry of a bulk PUT
// as it was sent, or the key of /hostname/HOST/. The server quotes Host and
// Detail (strconv.QuoteToASCII) when they hold anything but printable
// ASCII, so no raw byte of a request comes back.
type Error struct {
	Code   string `json:"error"`
	Detail string `json:"detail,omitempty"`
	Host   string `json:"host,omitempty"`
	// Refused lists, for an import (PUT /state/) with entries Mantrid
	// refuses, the first MaxRefusals of them in document order; Detail
	// says how many there are.
	Refused []Refusal `json:"refused,omitempty"`
}

// MaxRefusals bounds Error.Refused, so that an error answer stays small.
const MaxRefusals = 50

// Refusal is one refused entry of an import: its key as written, the
// error code, and why in words.
type Refusal struct {
	Host   string `json:"host"`
	Code   string `json:"error"`
	Detail string `json:"detail,omitempty"`
}

// Error returns "CODE: detail".
func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Code
	}
	return e.Code + ": " + e.Detail
}

// OK is the body of a successful write: {"ok": true}.
type OK struct {
	OK bool `json:"ok"`
}

// Stats is one host's counters as the API and the state file write them.
type Stats struct {
	OpenRequests      int64 `json:"open_requests"`
	CompletedRequests int64 `json:"completed_requests"`
	BytesSent         int64 `json:"bytes_sent"`
	BytesReceived     int64 `json:"bytes_received"`
}

// State is the body of GET and PUT /state/: every rule and every host's
// counters, the first Mantrid's state file format. "unknown" in Stats
// counts requests that matched no rule, unless a rule has that name.
type State struct {
	Hosts map[string]json.RawMessage `json:"hosts"`
	Stats map[string]Stats           `json:"stats"`
}

// Node is one live Mantrid of the fleet, as GET /fleet/ lists it and as it
// registers itself in etcd (PREFIX + "nodes/" + Name).
type Node struct {
	// Name is the node's node_name, unique in the fleet.
	Name string `json:"name"`
	// URL is the base URL of the node's REST API, as its peers reach it.
	URL string `json:"url"`
	// Started is when the node started, RFC 3339 in UTC.
	Started time.Time `json:"started"`
	// Revision is the rule store revision the node has applied.
	Revision uint64 `json:"revision"`
	// Self is set on the node that answered.
	Self bool `json:"self"`
}

// Fleet is the body of GET /fleet/: the live nodes, sorted by name.
type Fleet struct {
	Nodes []Node `json:"nodes"`
}

// FleetStats is the body of GET /stats/?fleet=1: every host's counters
// summed over the nodes that answered.
type FleetStats struct {
	// Stats has the shape of GET /stats/: {host: stats}.
	Stats map[string]Stats `json:"stats"`
	// Nodes names the nodes whose counters are in Stats, sorted.
	Nodes []string `json:"nodes"`
	// Missing lists the live nodes that did not answer in time, sorted
	// by name; their counters are not in Stats. Never null.
	Missing []MissingNode `json:"missing"`
}

// FleetHostStats is the body of GET /stats/HOST/?fleet=1: that host's
// counters summed over the nodes that answered.
type FleetHostStats struct {
	// Stats has the shape of GET /stats/HOST/: the counters, or {} when
	// no node that answered has any for the host.
	Stats json.RawMessage `json:"stats"`
	// Nodes and Missing are those of FleetStats.
	Nodes   []string      `json:"nodes"`
	Missing []MissingNode `json:"missing"`
}

// MissingNode is a live node whose counters could not be fetched.
type MissingNode struct {
	Node  string `json:"node"`
	URL   string `json:"url"`
	Error string `json:"error"`
}
