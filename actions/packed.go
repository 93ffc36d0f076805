package actions

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Packed is a rule in Mantrid's compact binary form: what the rule table
// keeps per host instead of a Rule, and what the store writes to disk. It
// holds no pointers, so a million of them in one byte arena cost the
// garbage collector nothing. Backends are not spelled out but named by
// uint32 ids into a table of dial addresses kept by whoever packed the rule
// (the rule table's interned addresses, or a store file's own list).
//
// Layout, little-endian, durations in nanoseconds:
//
//	[0]      Kind
//	[1]      options given (the canonical encoding keeps only those)
//	[2:4]    proxy: number of backends; redirect, static: text length
//	[4:8]    empty: code; proxy: attempts
//	[8:...]  proxy: delay if given, then the backend ids, 4 bytes each;
//	         spin: timeout if given, then check_interval if given;
//	         redirect: redirect_to; static: type
//
// An option left to its default takes no room: a proxy rule to two
// backends is 16 bytes.
// The subdomains flag is not part of a Packed rule: the table keeps it with
// the host, where matching needs it. A Packed value aliases the memory it
// was read from; the methods only read it. Methods assume a rule that
// CheckPacked accepted or AppendPacked wrote.
type Packed []byte

// Offsets of the packed layout.
const (
	packedKind  = 0
	packedGiven = 1
	packedLen   = 2
	packedArg   = 4
	packedBody  = 8
	packedHead  = 8 // bytes every packed rule has
)

// ErrPacked is returned, wrapped with the reason, by CheckPacked for bytes
// that are not a valid packed rule (a damaged store file).
var ErrPacked = errors.New("actions: invalid packed rule")

// PackedSize returns the length of r in packed form.
func PackedSize(r *Rule) int {
	switch r.Kind {
	case Proxy:
		return r.given.durations(givenDelay) + 4*len(r.Backends)
	case Spin:
		return r.given.durations(givenTimeout | givenCheckInterval)
	case Redirect:
		return packedBody + len(r.RedirectTo)
	case Static:
		return packedBody + len(r.Type)
	}
	return packedHead
}

// AppendPacked appends r in packed form to dst and returns the extended
// slice. backend gives the id of a backend's dial address (Backend.Addr);
// it is called once per backend, in order, with a string that is valid only
// during the call (backend copies what it keeps). It does not allocate
// when dst has room and backend does not.
func AppendPacked(dst []byte, r *Rule, backend func(addr string) uint32) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, PackedSize(r))...)
	if r.Kind == Proxy {
		dst = r.packBackends(dst, start, backend)
	}
	p := dst[start:]
	p[packedKind], p[packedGiven] = byte(r.Kind), byte(r.given)
	le := binary.LittleEndian
	switch r.Kind {
	case Empty:
		le.PutUint32(p[packedArg:], uint32(r.Code))
	case Proxy:
		le.PutUint16(p[packedLen:], uint16(len(r.Backends)))
		le.PutUint32(p[packedArg:], uint32(r.Attempts))
		if r.given&givenDelay != 0 {
			le.PutUint64(p[packedBody:], uint64(r.Delay))
		}

	case Spin:
		at := packedBody
		if r.given&givenTimeout != 0 {
			le.PutUint64(p[at:], uint64(r.Timeout))
			at += 8
		}
		if r.given&givenCheckInterval != 0 {
			le.PutUint64(p[at:], uint64(r.CheckInterval))
		}
	case Redirect:
		le.PutUint16(p[packedLen:], uint16(len(r.RedirectTo)))
		copy(p[packedBody:], r.RedirectTo)
	case Static:
		le.PutUint16(p[packedLen:], uint16(len(r.Type)))
		copy(p[packedBody:], r.Type)
	}
	return dst
}

// durations returns where the data after the packed durations of the
// options in set starts: 8 bytes for each of them that was given.
func (g optionSet) durations(set optionSet) int {
	n := packedBody
	for b := optionSet(1); b != 0; b <<= 1 {
		if g&set&b != 0 {
			n += 8
		}
	}
	return n
}

// packBackends writes the backend ids of proxy rule r, packed at
// dst[start:]. An address the parser did not keep is spelled out after the
// packed rule, in dst's spare room, for the time of the call.
func (r *Rule) packBackends(dst []byte, start int, backend func(addr string) uint32) []byte {
	ids := start + r.given.durations(givenDelay)
	for i := range r.Backends {
		var id uint32
		if i < len(r.addrs) {
			id = backend(r.addrs[i])
		} else {
			end := len(dst)
			dst = r.Backends[i].appendAddr(dst)
			id = backend(unsafe.String(&dst[end], len(dst)-end))
			dst = dst[:end]
		}
		binary.LittleEndian.PutUint32(dst[ids+4*i:], id)
	}
	return dst
}

// Kind returns the rule's action.
func (p Packed) Kind() Kind { return Kind(p[packedKind]) }

func (p Packed) given() optionSet { return optionSet(p[packedGiven]) }

// duration returns the packed duration at offset at when option opt was
// given, else def.
func (p Packed) duration(opt optionSet, at int, def time.Duration) time.Duration {
	if p.given()&opt == 0 {
		return def
	}
	return time.Duration(binary.LittleEndian.Uint64(p[at:]))
}

// Code returns empty's status code.
func (p Packed) Code() int { return int(binary.LittleEndian.Uint32(p[packedArg:])) }

// Attempts returns proxy's number of connection attempts.
func (p Packed) Attempts() int { return int(binary.LittleEndian.Uint32(p[packedArg:])) }

// Delay returns proxy's wait between attempts.
func (p Packed) Delay() time.Duration { return p.duration(givenDelay, packedBody, DefaultDelay) }

// Backends returns the number of proxy's backends.
func (p Packed) Backends() int { return int(binary.LittleEndian.Uint16(p[packedLen:])) }

// Backend returns the id of proxy's i-th backend.
func (p Packed) Backend(i int) uint32 {
	return binary.LittleEndian.Uint32(p[p.given().durations(givenDelay)+4*i:])
}

// SetBackend changes the id of proxy's i-th backend in place, for a store
// that maps the ids of its file to those of a table.
func (p Packed) SetBackend(i int, id uint32) {
	binary.LittleEndian.PutUint32(p[p.given().durations(givenDelay)+4*i:], id)
}

// Timeout returns spin's timeout.
func (p Packed) Timeout() time.Duration { return p.duration(givenTimeout, packedBody, DefaultTimeout) }

// CheckInterval returns spin's check_interval.
func (p Packed) CheckInterval() time.Duration {
	return p.duration(givenCheckInterval, p.given().durations(givenTimeout), DefaultCheckInterval)
}

// Text returns redirect's redirect_to or static's type. The string shares
// p's memory (no copy, no allocation), which must therefore never change
// while the string is in use: the rule table's arenas are append-only.
func (p Packed) Text() string {
	n := int(binary.LittleEndian.Uint16(p[packedLen:]))
	if n == 0 {
		return ""
	}
	return unsafe.String(&p[packedBody], n)
}

// Len returns the length of the packed rule at the start of p.
func (p Packed) Len() int {
	switch p.Kind() {
	case Proxy:
		return p.given().durations(givenDelay) + 4*p.Backends()
	case Spin:
		return p.given().durations(givenTimeout | givenCheckInterval)
	case Redirect, Static:
		return packedBody + int(binary.LittleEndian.Uint16(p[packedLen:]))
	}
	return packedHead
}

// AppendRedirect appends redirect's response for a request with the given
// path, as Rule.AppendRedirect does.
func (p Packed) AppendRedirect(dst, path []byte, https, keepAlive bool) []byte {
	return appendRedirect(dst, p.Text(), path, https, keepAlive)
}

// Unpack fills r with the rule p holds and subdomains; addr gives the dial
// address of a backend id, as the table that packed it keeps it. r's
// Backends slice is reused when it has room, so unpacking a million rules
// into one Rule to encode them allocates nothing per rule; r shares the
// strings addr returns and p's text. r must not be used as a parsed rule
// afterwards (its strings may alias reused memory): encode it and let it go.
func (p Packed) Unpack(r *Rule, subdomains bool, addr func(uint32) string) {
	backends := r.Backends[:0]
	*r = Rule{Kind: p.Kind(), Subdomains: subdomains, given: optionSet(p[packedGiven])}
	switch r.Kind {
	case Empty:
		r.Code = p.Code()
	case Proxy:
		r.Attempts, r.Delay = p.Attempts(), p.Delay()
		for i := range p.Backends() {
			backends = append(backends, splitAddr(addr(p.Backend(i))))
		}
		r.Backends = backends
	case Spin:
		r.Timeout, r.CheckInterval = p.Timeout(), p.CheckInterval()
	case Redirect:
		r.RedirectTo = p.Text()
	case Static:
		r.Type = p.Text()
	}
}

// Rule returns the rule p holds as a new Rule that shares nothing with p.
func (p Packed) Rule(subdomains bool, addr func(uint32) string) *Rule {
	r := &Rule{}
	p.Unpack(r, subdomains, func(id uint32) string { return strings.Clone(addr(id)) })
	r.RedirectTo, r.Type = strings.Clone(r.RedirectTo), strings.Clone(r.Type)
	if r.Kind == Proxy {
		r.addrs = make([]string, len(r.Backends))
		for i := range r.Backends {
			r.addrs[i] = r.Backends[i].Addr()
		}
	}
	return r
}

// splitAddr splits a dial address that Backend.Addr wrote back into its
// host and port.
func splitAddr(addr string) Backend {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return Backend{Host: addr}
	}
	port, _ := strconv.Atoi(addr[i+1:])
	host := addr[:i]
	if len(host) >= 2 && host[0] == '[' {
		host = host[1 : len(host)-1]
	}
	return Backend{Host: host, Port: port}
}

// CheckBackendAddr reports whether addr is a dial address as Backend.Addr
// writes it for a valid backend: "host:port" or "[v6]:port". A store
// checks the addresses of its file with it.
// A store checks a million of them at a start, so it allocates nothing.
func CheckBackendAddr(addr string) bool {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return false
	}
	if _, ok := portDigits(addr[i+1:]); !ok {
		return false
	}
	host := addr[:i]
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		v6 := host[1 : len(host)-1]
		return strings.IndexByte(v6, ':') >= 0 && validIPv6(v6)
	}
	return strings.IndexByte(host, ':') < 0 && validHostName(host)
}

// CheckPacked checks that b starts with a valid packed rule whose backend
// ids are below backends, as AppendPacked writes them for a rule that
// ParseRule accepts: the same bounds, option defaults where an option was
// not given, and no stray bytes. It returns the rule's length. Errors wrap
// ErrPacked. It never panics, whatever b holds.
func CheckPacked(b []byte, backends uint32) (int, error) {
	if len(b) < packedHead {
		return 0, packedError("truncated")
	}
	p := Packed(b)
	k := p.Kind()
	if k < Empty || k > Unknown {
		return 0, packedError("unknown action " + strconv.Itoa(int(k)))
	}
	n := p.Len()
	if len(b) < n {
		return 0, packedError("truncated")
	}
	if why := p.checkFields(backends); why != "" {
		return 0, packedError(k.String() + ": " + why)
	}
	return n, nil
}

func packedError(why string) error { return errors.Join(ErrPacked, errors.New(why)) }

// checkFields checks the fields of a packed rule whose kind and length are
// known good, and returns why they are not valid, or "".
func (p Packed) checkFields(backends uint32) string {
	given := optionSet(p[packedGiven])
	arg := binary.LittleEndian.Uint32(p[packedArg:])
	n := binary.LittleEndian.Uint16(p[packedLen:])
	switch p.Kind() {
	case Empty:
		return p.check(given == 0 && n == 0 && arg >= MinCode && arg <= MaxCode, "bad code or stray fields")
	case Proxy:
		return p.checkProxy(given, backends)
	case Spin:
		return p.checkSpin(given)
	case Redirect:
		if given != 0 || arg != 0 {
			return "stray fields"
		}
		return checkRedirectTo(p.Text())
	case Static:
		return p.check(given == 0 && arg == 0 && validStaticType(p.Text()), "bad type or stray fields")
	}
	return p.check(given == 0 && n == 0 && arg == 0, "stray fields")
}

// check returns why when ok is false.
func (p Packed) check(ok bool, why string) string {
	if ok {
		return ""
	}
	return why
}

func (p Packed) checkProxy(given optionSet, backends uint32) string {
	if given&^(givenAttempts|givenDelay) != 0 {
		return "stray options"
	}
	nb, attempts, delay := p.Backends(), p.Attempts(), p.Delay()
	switch {
	case nb < 1 || nb > MaxBackends:
		return "bad number of backends"
	case attempts < MinAttempts || attempts > MaxAttempts,
		given&givenAttempts == 0 && attempts != DefaultAttempts:
		return "bad attempts"
	case delay < 0 || delay > MaxDelay:
		return "bad delay"
	}
	for i := range nb {
		if p.Backend(i) >= backends {
			return "backend id out of range"
		}
	}
	return ""
}

func (p Packed) checkSpin(given optionSet) string {
	if given&^(givenTimeout|givenCheckInterval) != 0 ||
		binary.LittleEndian.Uint32(p[packedArg:]) != 0 || p.Backends() != 0 {
		return "stray fields"
	}
	t, c := p.Timeout(), p.CheckInterval()
	switch {
	case t <= 0 || t > MaxTimeout:
		return "bad timeout"
	case c <= 0 || c > MaxCheckInterval:
		return "bad check_interval"
	}
	return ""
}
