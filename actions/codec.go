package actions

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The canonical encoding of a rule is compact JSON: the triple
// [action, options, subdomains], option names in byte order, only the
// options that were given (defaults are left out), integers as JSON
// integers, durations as seconds written exactly (0.5, 120, 0.000000001),
// backends as [host, port] pairs with IPv6 hosts bare. Parsing the canonical
// encoding gives an Equal rule, and Equal rules encode to the same bytes.

// MarshalJSON returns the rule's canonical encoding; a nil rule encodes as
// null. It implements json.Marshaler for encoding/json and sonic.
func (r *Rule) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, 96)), nil
}

// AppendJSON appends the rule's canonical encoding (as MarshalJSON) to dst
// and returns the extended slice. It does not allocate when dst has room,
// for streaming a million rules to a state file or an API answer.
func (r *Rule) AppendJSON(dst []byte) []byte {
	if r == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	dst = AppendJSONString(dst, r.Kind.String())
	dst = append(dst, ",{"...)
	switch r.Kind {
	case Empty:
		dst = appendKey(dst, true, optCode)
		dst = strconv.AppendInt(dst, int64(r.Code), 10)
	case Proxy:
		dst = r.appendProxyOptions(dst)
	case Redirect:
		dst = appendKey(dst, true, optRedirectTo)
		dst = AppendJSONString(dst, r.RedirectTo)
	case Spin:
		first := true
		if r.given&givenCheckInterval != 0 {
			dst = appendKey(dst, first, optCheckInterval)
			dst, first = appendSeconds(dst, r.CheckInterval), false
		}
		if r.given&givenTimeout != 0 {
			dst = appendKey(dst, first, optTimeout)
			dst = appendSeconds(dst, r.Timeout)
		}
	case Static:
		dst = appendKey(dst, true, optType)
		dst = AppendJSONString(dst, r.Type)
	}
	dst = append(dst, "},"...)
	dst = strconv.AppendBool(dst, r.Subdomains)
	return append(dst, ']')
}

func (r *Rule) appendProxyOptions(dst []byte) []byte {
	first := true
	if r.given&givenAttempts != 0 {
		dst = appendKey(dst, first, optAttempts)
		dst, first = strconv.AppendInt(dst, int64(r.Attempts), 10), false
	}
	dst = appendKey(dst, first, optBackends)
	dst = append(dst, '[')
	for i, b := range r.Backends {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		dst = AppendJSONString(dst, b.Host)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(b.Port), 10)
		dst = append(dst, ']')
	}
	dst = append(dst, ']')
	if r.given&givenDelay != 0 {
		dst = appendKey(dst, false, optDelay)
		dst = appendSeconds(dst, r.Delay)
	}
	return dst
}

// appendKey appends `"name":`, after a comma unless it is the first key.
func appendKey(dst []byte, first bool, name string) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = AppendJSONString(dst, name)
	return append(dst, ':')
}

// appendSeconds appends d as a JSON number of seconds, exactly: the whole
// seconds, then up to nine fraction digits without trailing zeros.
func appendSeconds(dst []byte, d time.Duration) []byte {
	u := uint64(d)
	if d < 0 {
		dst = append(dst, '-')
		u = -u
	}
	dst = strconv.AppendUint(dst, u/uint64(time.Second), 10)
	frac := u % uint64(time.Second)
	if frac == 0 {
		return dst
	}
	var digits [9]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := len(digits)
	for digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}

// AppendJSONString appends s as a JSON string (RFC 8259 §7): '"' and '\\'
// escaped, control characters and DEL as \u00XX, invalid UTF-8 as \ufffd.
// Plain ASCII (hostnames, the common case) is copied in one step.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	plain := 0
	for plain < len(s) && s[plain] >= 0x20 && s[plain] < 0x7f && s[plain] != '"' && s[plain] != '\\' {
		plain++
	}
	dst = append(dst, s[:plain]...)
	for i := plain; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0x0f])
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			rn, size := utf8.DecodeRuneInString(s[i:])
			if rn == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(dst, '"')
}
