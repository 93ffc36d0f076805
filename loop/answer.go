package loop

import (
	"bytes"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/httpparse"
	"github.com/mantrid/mantrid/static"
)

// answer routes the parsed request (cc.req, head of headLen bytes) and
// serves it: a local answer is appended to the loop's output, a proxy rule
// starts the request on a backend, a spin rule holds it. It returns the
// bytes of input the caller is to consume: the head of a locally answered
// request; 0 for a held request (its bytes stay buffered until it is
// released) and for a proxied one (answer consumed its head itself).
func (cc *clientConn) answer(headLen int) int {
	el := cc.el
	req := &cc.req
	https := cc.internal && forwardedHTTPS(req)
	host, found, noRules := cc.route(https)
	slot := el.e.rules.Counters().Slot(el.idx, host.Stat) // stat 0 when nothing matched
	slot.Begin(headLen)
	var rule actions.Packed
	if found {
		rule = host.Rule
	}

	hasBody := req.Chunked || req.ContentLength > 0
	keepAlive := req.KeepAlive && !el.e.draining.Load()
	if found {
		switch rule.Kind() {
		case actions.Spin:
			if cc.park(&host, slot, headLen, https) {
				return 0
			}
			cc.sp.active = false
			cc.appendLocal(slot, actions.AppendEmpty(el.out, 503, keepAlive))
			cc.afterLocalAnswer(slot, keepAlive && !(hasBody && req.Expect100), req.Chunked, req.ContentLength)
			return headLen
		case actions.Proxy:
			cc.sp.active = false
			cc.flushOut() // earlier answers first, in order
			// Copy what the backend needs out of the head (it aliases the
			// input), then consume the head so the body follows it.
			cc.prepareProxy(slot, &host, keepAlive)
			cc.consume(headLen)
			cc.connect()
			return 0
		case actions.Empty:
			// An interim (1xx) code as the only answer can only end by closing.
			keepAlive = actions.EmptyKeepsAlive(rule.Code(), keepAlive)
		}
	}
	cc.sp.active = false
	// RFC 9110 §10.1.1: a client that asked 100-continue and got a final
	// answer may never send the body, so the next byte is not a boundary
	// we can find: close after this answer.
	keepAlive = keepAlive && !(hasBody && req.Expect100)
	out := cc.appendAnswer(el.out, rule, noRules, https, keepAlive)
	if keepAlive && req.Minor == 0 {
		out = insertKeepAlive(out, len(el.out))
	}
	cc.appendLocal(slot, out)
	cc.afterLocalAnswer(slot, keepAlive, req.Chunked, req.ContentLength)
	return headLen
}

// appendLocal records out as the loop's output, counting the bytes added
// since the last call as sent for slot, and ends the request.
func (cc *clientConn) appendLocal(slot *actions.Slot, out []byte) {
	slot.Sent(len(out) - len(cc.el.out))
	slot.End(true)
	cc.el.out = out
}

// afterLocalAnswer sets what follows a local answer: reading and dropping
// the request's unread body (chunked, or bodyLeft bytes) so that the
// connection stays usable, or closing.
func (cc *clientConn) afterLocalAnswer(slot *actions.Slot, keepAlive, chunked bool, bodyLeft int64) {
	switch {
	case chunked || bodyLeft > 0:
		cc.state = stateDiscard
		cc.slot = slot
		cc.closeAfter = !keepAlive
		cc.bodyChunked = chunked
		cc.bodyLeft = max(bodyLeft, 0)
		cc.chunked.Reset()
	case !keepAlive:
		cc.state = stateClosing
	default:
		cc.state = stateHead
	}
}

// flushOut writes the answers gathered so far in this callback.
func (cc *clientConn) flushOut() {
	if len(cc.el.out) > 0 {
		_, _ = cc.c.Write(cc.el.out)
		cc.el.out = cc.el.out[:0]
	}
}

// route finds the rule for the request. noRules reports an empty table
// (README: Rules: no_hosts); found false otherwise means no rule matched
// (unknown), and host is then the zero Hit, whose stat id counts unmatched
// requests. The normalised host is left in cc.el.host.
func (cc *clientConn) route(https bool) (host hostmap.Hit, found, noRules bool) {
	rules := cc.el.e.rules
	name, ok := hostmap.Normalize(cc.el.host[:0], cc.req.Host)
	cc.el.host = name
	if rules.Len() == 0 {
		return hostmap.Hit{}, false, true
	}
	if !ok {
		return hostmap.Hit{}, false, false
	}
	host, found = rules.Match(name, https)
	return host, found, false
}

// appendAnswer appends the response of a local action; rule is nil when
// no rule matched.
func (cc *clientConn) appendAnswer(dst []byte, rule actions.Packed, noRules, https, keepAlive bool) []byte {
	head := isHEAD(cc.req.Method)
	switch {
	case noRules:
		return cc.appendPage(dst, static.NoHosts, keepAlive, head)
	case rule == nil:
		return cc.appendPage(dst, static.Unknown, keepAlive, head)
	}
	switch rule.Kind() {
	case actions.Empty:
		return actions.AppendEmpty(dst, rule.Code(), keepAlive)
	case actions.Redirect:
		return rule.AppendRedirect(dst, cc.req.Path, https, keepAlive)
	case actions.Static:
		return cc.appendPage(dst, rule.Text(), keepAlive, head)
	case actions.NoHosts:
		return cc.appendPage(dst, static.NoHosts, keepAlive, head)
	default:
		return cc.appendPage(dst, static.Unknown, keepAlive, head)
	}
}

// appendPage appends static page name, or 500 when no such page exists
// (a static rule naming a file that is not in static_dir).
func (cc *clientConn) appendPage(dst []byte, name string, keepAlive, head bool) []byte {
	p, ok := cc.el.e.pages.Load().Get(name)
	if !ok {
		cc.el.e.log.Debug("static page not found", "type", name)
		return actions.AppendEmpty(dst, 500, keepAlive)
	}
	return p.AppendTo(dst, keepAlive, head)
}

var (
	headMethod    = []byte("HEAD")
	xfProto       = []byte("X-Forwarded-Proto")
	xfProtocol    = []byte("X-Forwarded-Protocol")
	protoHTTPS    = []byte("https")
	protoSSL      = []byte("ssl")
	headEnd       = []byte("\r\n\r\n")
	keepAliveLine = []byte("\r\nConnection: keep-alive")
)

// insertKeepAlive adds "Connection: keep-alive" to the response that starts
// at out[start:]: an HTTP/1.0 client assumes a close without it (RFC 9112
// §9.3). Our answers are well formed, so the head's end is always found.
func insertKeepAlive(out []byte, start int) []byte {
	i := bytes.Index(out[start:], headEnd)
	if i < 0 {
		return out
	}
	at := start + i
	n := len(out)
	out = append(out, keepAliveLine...)
	copy(out[at+len(keepAliveLine):], out[at:n])
	copy(out[at:], keepAliveLine)
	return out
}

func isHEAD(method []byte) bool { return bytes.Equal(method, headMethod) }

// forwardedHTTPS reports whether a trusted terminator marked the request as
// https: X-Forwarded-Proto or X-Forwarded-Protocol of "https" or "ssl"
// (README: Configuration, bind_internal).
func forwardedHTTPS(req *httpparse.Request) bool {
	for i := range req.Headers {
		h := &req.Headers[i]
		if !bytes.EqualFold(h.Name, xfProto) && !bytes.EqualFold(h.Name, xfProtocol) {
			continue
		}
		if bytes.EqualFold(h.Value, protoHTTPS) || bytes.EqualFold(h.Value, protoSSL) {
			return true
		}
	}
	return false
}
