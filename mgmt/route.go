package mgmt

import (
	"net/http"
	"net/url"
	"strings"
)

// resource is what a request path names (SPEC §7).
type resource uint8

const (
	resNone      resource = iota // no such path: 404
	resRules                     // /hostname/
	resRule                      // /hostname/HOST/
	resStats                     // /stats/
	resHostStats                 // /stats/HOST/
	resState                     // /state/
	resRoot                      // /: no method, 405 as in the first Mantrid
	resFleet                     // /fleet/
)

// allowHeader returns res's methods, as sent in Allow with a 405. For
// resRoot it is empty: RFC 9110 section 10.2.1 reads an empty Allow as "no
// method is allowed".
func allowHeader(res resource) string {
	switch res {
	case resRoot:
		return ""
	case resRules, resState:
		return "GET, HEAD, PUT"
	case resRule:
		return "GET, HEAD, PUT, DELETE"
	}
	return "GET, HEAD"
}

// allows reports whether res answers method. HEAD is GET without a body.
func allows(res resource, method string) bool {
	if res == resRoot {
		return false
	}
	switch method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPut:
		return res == resRules || res == resRule || res == resState
	case http.MethodDelete:
		return res == resRule
	}
	return false
}

// notAllowedDetail is the detail of a 405 for res.
func notAllowedDetail(res resource) string {
	if res == resRoot {
		return "the API is under /hostname/, /stats/, /state/, /fleet/ and /process/"
	}
	return "this path allows " + allowHeader(res)
}

// route is a parsed request path.
type route struct {
	res resource
	// host is the HOST segment, percent-decoded but not yet normalised;
	// only for resRule and resHostStats.
	host string
}

// parseRoute parses an escaped request path (URL.EscapedPath). The
// collections are /hostname/ and /stats/; one host is /hostname/HOST/ or
// /stats/HOST/; /state/ is both at once (export and import); "/" itself
// is a path that answers every method with 405, as the first Mantrid's
// did. The trailing slash is optional, and the prefixes match
// case-insensitively, as the first Mantrid lower-cased paths. HOST is one
// percent-decoded segment, or a protocol-qualified key whose "//" may be
// written as is or as %2F%2F ("/hostname/http://ep.io/" and
// "/hostname/http:%2F%2Fep.io"); anything else with a '/' is not a path of
// the API. Routing by hand, rather than with http.ServeMux, keeps the "//"
// that ServeMux would clean away.
func parseRoute(escaped string) route {
	if escaped == "/" {
		return route{res: resRoot}
	}
	if rest, ok := cutPrefixFold(escaped, "/state"); ok && (rest == "" || rest == "/") {
		return route{res: resState}
	}
	if rest, ok := cutPrefixFold(escaped, "/fleet"); ok && (rest == "" || rest == "/") {
		return route{res: resFleet}
	}
	for _, p := range [...]struct {
		prefix   string
		all, one resource
	}{{"/hostname", resRules, resRule}, {"/stats", resStats, resHostStats}} {
		if len(escaped) < len(p.prefix) || !strings.EqualFold(escaped[:len(p.prefix)], p.prefix) {
			continue
		}
		rest := escaped[len(p.prefix):]
		if rest == "" || rest == "/" {
			return route{res: p.all}
		}
		if rest[0] != '/' {
			return route{}
		}
		host, ok := hostSegment(rest[1:])
		if !ok {
			return route{}
		}
		return route{res: p.one, host: host}
	}
	return route{}
}

// hostSegment decodes the HOST part of a path, with its optional trailing
// slash. It refuses an empty host and any '/' but the two after "http:" or
// "https:". A segment that is not valid percent-encoding is returned as is,
// for the caller's hostname check to refuse.
func hostSegment(seg string) (string, bool) {
	seg = strings.TrimSuffix(seg, "/")
	host, err := url.PathUnescape(seg)
	if err != nil {
		host = seg
	}
	if host == "" {
		return "", false
	}
	rest := host
	for _, scheme := range [...]string{"http://", "https://"} {
		if len(rest) >= len(scheme) && strings.EqualFold(rest[:len(scheme)], scheme) {
			rest = rest[len(scheme):]
			break
		}
	}
	if rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return host, true
}

// cutPrefixFold cuts prefix, matched case-insensitively, off s.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
