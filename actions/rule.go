package actions

import (
	"slices"
	"time"
)

// Bounds and defaults of the rule options (SPEC §4). Every bound is
// inclusive unless its comment says otherwise.
const (
	// MinCode and MaxCode bound empty's code.
	MinCode, MaxCode = 100, 599
	// MaxBackends bounds the length of proxy's backends list.
	MaxBackends = 1024
	// MaxHostLen bounds a backend host or redirect host, in bytes (RFC 1035
	// §2.3.4 allows 253 for a name written without its final dot).
	MaxHostLen = 253
	// MaxLabelLen bounds one dot-separated label of a host name (RFC 1035).
	MaxLabelLen = 63
	// MinPort and MaxPort bound a backend or redirect port.
	MinPort, MaxPort = 1, 65535
	// DefaultAttempts is proxy's attempts when the option is not given;
	// MinAttempts and MaxAttempts bound it.
	DefaultAttempts, MinAttempts, MaxAttempts = 1, 1, 100
	// DefaultDelay is proxy's delay between attempts when not given.
	DefaultDelay = time.Second
	// MaxDelay bounds proxy's delay; 0 is allowed.
	MaxDelay = time.Hour
	// MaxRedirectLen bounds redirect's redirect_to, in bytes.
	MaxRedirectLen = 2048
	// DefaultTimeout is spin's timeout when not given.
	DefaultTimeout = 120 * time.Second
	// MaxTimeout bounds spin's timeout, which must also be above 0.
	MaxTimeout = 24 * time.Hour
	// DefaultCheckInterval is spin's check_interval when not given.
	DefaultCheckInterval = time.Second
	// MaxCheckInterval bounds spin's check_interval, which must also be
	// above 0.
	MaxCheckInterval = time.Hour
	// MaxTypeLen bounds static's type, in bytes.
	MaxTypeLen = 64
)

// Option names as they appear in the rule JSON.
const (
	optCode          = "code"
	optBackends      = "backends"
	optAttempts      = "attempts"
	optDelay         = "delay"
	optRedirectTo    = "redirect_to"
	optTimeout       = "timeout"
	optCheckInterval = "check_interval"
	optType          = "type"
)

// optionSet records which options with defaults were given in the JSON, so
// that the canonical encoding keeps what the operator set and nothing else.
type optionSet uint8

const (
	givenAttempts optionSet = 1 << iota
	givenDelay
	givenTimeout
	givenCheckInterval
)

// Rule is one validated rule: what to do with requests for a hostname
// (SPEC §3, §4). Only the fields of its Kind are set; the others are zero.
// A Rule returned by ParseRule or ParseRuleValue is immutable and safe for
// concurrent use: do not modify it or its Backends.
type Rule struct {
	// Kind is the action.
	Kind Kind
	// Subdomains reports whether the rule also matches subdomains of its
	// hostname.
	Subdomains bool

	// Code is empty's status code, MinCode–MaxCode.
	Code int

	// Backends are proxy's backends, 1–MaxBackends of them, in the order
	// given.
	Backends []Backend
	// Attempts is how many connection attempts proxy makes,
	// MinAttempts–MaxAttempts, default DefaultAttempts.
	Attempts int
	// Delay is proxy's wait between attempts, 0–MaxDelay, default
	// DefaultDelay.
	Delay time.Duration

	// RedirectTo is redirect's target as given: "http://…", "https://…" or
	// "host[:port][/path]", visible ASCII only, at most MaxRedirectLen bytes.
	RedirectTo string

	// Timeout is how long spin holds a request, above 0 and at most
	// MaxTimeout, default DefaultTimeout.
	Timeout time.Duration
	// CheckInterval is spin's check interval, above 0 and at most
	// MaxCheckInterval, default DefaultCheckInterval.
	CheckInterval time.Duration

	// Type is static's response name: 1–MaxTypeLen bytes of [A-Za-z0-9._-],
	// not starting with '.', never containing "..".
	Type string

	given optionSet

	addrs []string // Backends[i].Addr(), computed once by the parser
}

// Equal reports whether r and o are the same rule: the same action,
// subdomains flag and option values, with the same options given rather
// than defaulted. Two parsed rules are Equal exactly when their canonical
// encodings (MarshalJSON) are identical, so a proxy rule that says
// "attempts": 1 is not Equal to one that leaves attempts to its default.
// Two nil rules are Equal; a nil and a non-nil rule are not.
func (r *Rule) Equal(o *Rule) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.Kind == o.Kind &&
		r.Subdomains == o.Subdomains &&
		r.given == o.given &&
		r.Code == o.Code &&
		slices.Equal(r.Backends, o.Backends) &&
		r.Attempts == o.Attempts &&
		r.Delay == o.Delay &&
		r.RedirectTo == o.RedirectTo &&
		r.Timeout == o.Timeout &&
		r.CheckInterval == o.CheckInterval &&
		r.Type == o.Type
}

// BackendAddr returns the dial address of Backends[i] without allocating
// (computed when the rule was parsed).
func (r *Rule) BackendAddr(i int) string {
	if i < len(r.addrs) {
		return r.addrs[i]
	}
	return r.Backends[i].Addr()
}
