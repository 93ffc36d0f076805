package actions

import (
	"math"
	"time"
	"unsafe"
)

// ParseRuleFast parses the rule triple in data into r, as ParseRule would,
// for rules written plainly — as programs write them, and as a bulk PUT of
// a million rules carries them — without decoding into generic values and
// without allocating when r.Backends has room. It reports false for
// anything it does not take on itself: a string with a backslash escape, a
// repeated or unknown option, a value of the wrong type, anything invalid.
// The caller then parses with ParseRule, whose answer, a rule or an error,
// is the authoritative one; what ParseRuleFast accepts, ParseRule accepts
// as an Equal rule (FuzzParseRuleFast holds them to it). r's strings alias
// data, so r is for packing or encoding before data changes; r's
// previous content is overwritten either way.
func ParseRuleFast(data []byte, r *Rule) bool {
	p := fastParser{b: data}
	backends := r.Backends[:0]
	*r = Rule{Backends: backends}
	if !p.rule(r) {
		return false
	}
	p.ws()
	return p.i == len(p.b)
}

// fastParser reads one rule triple from b.
type fastParser struct {
	b []byte
	i int
}

// The options an object may give, as bits, to find repeats.
const (
	seenCode = 1 << iota
	seenBackends
	seenAttempts
	seenDelay
	seenRedirectTo
	seenTimeout
	seenCheckInterval
	seenType
)

func (p *fastParser) rule(r *Rule) bool {
	if !p.next('[') {
		return false
	}
	name, ok := p.str()
	if !ok {
		return false
	}
	if r.Kind, ok = ParseKind(name); !ok || !p.next(',') || !p.next('{') {
		return false
	}
	seen := 0
	if !p.next('}') {
		for {
			key, ok := p.str()
			if !ok || !p.next(':') || !p.option(r, key, &seen) {
				return false
			}
			if p.next('}') {
				break
			}
			if !p.next(',') {
				return false
			}
		}
	}
	if !p.next(',') {
		return false
	}
	subs, ok := p.boolean()
	r.Subdomains = subs
	return ok && p.next(']') && p.finish(r, seen)
}

// finish checks the required options and fills in the defaults.
func (p *fastParser) finish(r *Rule, seen int) bool {
	switch r.Kind {
	case Empty:
		return seen&seenCode != 0
	case Proxy:
		if seen&seenAttempts == 0 {
			r.Attempts = DefaultAttempts
		}
		if seen&seenDelay == 0 {
			r.Delay = DefaultDelay
		}
		return seen&seenBackends != 0
	case Spin:
		if seen&seenTimeout == 0 {
			r.Timeout = DefaultTimeout
		}
		if seen&seenCheckInterval == 0 {
			r.CheckInterval = DefaultCheckInterval
		}
	case Redirect:
		return seen&seenRedirectTo != 0
	case Static:
		return seen&seenType != 0
	}
	return true
}

// option reads the value of option key and sets it in r.
func (p *fastParser) option(r *Rule, key string, seen *int) bool {
	if !optionOf(r.Kind, key) {
		return false
	}
	var bit int
	ok := false
	switch key {
	case optCode:
		bit = seenCode
		r.Code, ok = p.integer(MinCode, MaxCode)
	case optAttempts:
		bit, r.given = seenAttempts, r.given|givenAttempts
		r.Attempts, ok = p.integer(MinAttempts, MaxAttempts)
	case optDelay:
		bit, r.given = seenDelay, r.given|givenDelay
		r.Delay, ok = p.duration(false, MaxDelay)
	case optTimeout:
		bit, r.given = seenTimeout, r.given|givenTimeout
		r.Timeout, ok = p.duration(true, MaxTimeout)
	case optCheckInterval:
		bit, r.given = seenCheckInterval, r.given|givenCheckInterval
		r.CheckInterval, ok = p.duration(true, MaxCheckInterval)
	case optRedirectTo:
		bit = seenRedirectTo
		r.RedirectTo, ok = p.str()
		ok = ok && checkRedirectTo(r.RedirectTo) == ""
	case optType:
		bit = seenType
		r.Type, ok = p.str()
		ok = ok && validStaticType(r.Type)
	case optBackends:
		bit = seenBackends
		ok = p.backends(r)
	}
	if !ok || *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// backends reads proxy's list of [host, port] pairs and "host:port"
// strings.
func (p *fastParser) backends(r *Rule) bool {
	if !p.next('[') {
		return false
	}
	for {
		var b Backend
		if p.next('[') {
			host, ok := p.str()
			if !ok || !p.next(',') {
				return false
			}
			if b.Host, ok = backendHost(host); !ok {
				return false
			}
			if b.Port, ok = p.integer(MinPort, MaxPort); !ok || !p.next(']') {
				return false
			}
		} else {
			s, ok := p.str()
			if !ok {
				return false
			}
			var why string
			if b.Host, b.Port, why = splitHostPort(s, true); why != "" {
				return false
			}
		}
		r.Backends = append(r.Backends, b)
		if p.next(']') {
			return len(r.Backends) <= MaxBackends
		}
		if !p.next(',') {
			return false
		}
	}
}

// ws skips JSON white space (RFC 8259 §2).
func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next consumes c after white space, if it is there.
func (p *fastParser) next(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters; the result
// aliases b.
func (p *fastParser) str() (string, bool) {
	if !p.next('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if len(s) == 0 {
				return "", true
			}
			return unsafe.String(&s[0], len(s)), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

// number reads a number, or a string, as text: an option that takes a
// number takes a numeric string too (README: Rules).
func (p *fastParser) number() (string, bool) {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '"' {
		return p.str()
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if !('0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			break
		}
		p.i++
	}
	if p.i == start {
		return "", false
	}
	return unsafe.String(&p.b[start], p.i-start), true
}

func (p *fastParser) integer(lo, hi int) (int, bool) {
	s, ok := p.number()
	if !ok {
		return 0, false
	}
	n, ok := numericStringToInt(s, int64(lo), int64(hi))
	return int(n), ok
}

func (p *fastParser) duration(positive bool, limit time.Duration) (time.Duration, bool) {
	s, ok := p.number()
	if !ok {
		return 0, false
	}
	sec, ok := numericStringToFloat(s)
	if !ok || math.IsInf(sec, 0) {
		return 0, false
	}
	return secondsToDuration(sec, positive, limit)
}

// boolean reads true or false.
func (p *fastParser) boolean() (bool, bool) {
	p.ws()
	rest := p.b[p.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		p.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		p.i += 5
		return false, true
	}
	return false, false
}
