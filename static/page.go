package static

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mantrid/mantrid/httpparse"
)

// MaxPageSize is the largest page file accepted, head and body, in bytes.
const MaxPageSize = 1 << 20

// maxPageFields bounds the header fields of a page file.
const maxPageFields = 1000

// Page is a parsed static response, ready to send.
type Page struct {
	// Status is the status code, 200 to 599.
	Status int

	head []byte // status line and fields, without Connection and the final CRLF
	body []byte
}

// errNoEmptyBody rejects a body on a status that cannot carry one.
var errNoEmptyBody = errors.New("a 204 or 304 response must not have a body")

// parse parses the contents of a page file.
func parse(data []byte) (*Page, error) {
	if len(data) > MaxPageSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxPageSize)
	}
	head, body := splitHead(data)
	p := httpparse.Parser{Limits: httpparse.Limits{MaxHeadSize: len(head) + 1, MaxHeaders: maxPageFields}}
	var resp httpparse.Response
	n, err := p.ParseResponse(head, &resp)
	switch {
	case err == httpparse.ErrNeedMore || (err == nil && n != len(head)):
		return nil, errors.New("invalid head")
	case err != nil:
		return nil, fmt.Errorf("invalid head: %w", err)
	case resp.Status < 200:
		return nil, fmt.Errorf("status %d is not a final response", resp.Status)
	case bodiless(resp.Status) && len(body) > 0:
		return nil, errNoEmptyBody
	}
	return &Page{Status: resp.Status, head: render(&resp, len(body)), body: bytes.Clone(body)}, nil
}

// splitHead returns the head of a page file with every line ending in
// CRLF and the final empty line added, and the body: the bytes after the
// first empty line (LF or CRLF), or nothing when there is none.
func splitHead(data []byte) (head, body []byte) {
	head = make([]byte, 0, min(len(data), 4096)+64)
	for len(data) > 0 {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		data = rest
		if len(line) == 0 && found {
			break
		}
		head = append(append(head, line...), "\r\n"...)
	}
	return append(head, "\r\n"...), data
}

// bodiless reports the statuses that never carry a body or Content-Length
// (RFC 9110 §8.6, §15.3.5, §15.4.5).
func bodiless(status int) bool { return status == 204 || status == 304 }

// render writes the canonical status line and fields of resp for a body of
// bodyLen bytes, leaving out the framing and hop-by-hop fields.
func render(resp *httpparse.Response, bodyLen int) []byte {
	out := []byte("HTTP/1.1 ")
	out = strconv.AppendInt(out, int64(resp.Status), 10)
	out = append(out, ' ')
	out = append(out, resp.Reason...)
	out = append(out, "\r\n"...)
	for _, h := range resp.Headers {
		if hopByHop(h.Name) || resp.ConnectionLists(h.Name) {
			continue
		}
		out = append(out, h.Name...)
		out = append(out, ": "...)
		out = append(out, h.Value...)
		out = append(out, "\r\n"...)
	}
	if !bodiless(resp.Status) {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(bodyLen), 10)
		out = append(out, "\r\n"...)
	}
	return out
}

// hopByHop reports the fields Mantrid writes itself: framing
// (Content-Length, Transfer-Encoding) and connection management
// (Connection, Keep-Alive).
func hopByHop(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "content-length", "transfer-encoding", "connection", "keep-alive":
		return true
	}
	return false
}

// AppendTo appends the full response to dst and returns the extended
// slice: the status line, the file's fields minus framing and hop-by-hop
// ones, Content-Length with the body's real length, "Connection: close"
// when !keepAlive, the empty line, and the body unless head (the answer to
// a HEAD request has the same fields and no body). It does not allocate
// when dst has room for Size(keepAlive, head) more bytes.
func (p *Page) AppendTo(dst []byte, keepAlive, head bool) []byte {
	dst = append(dst, p.head...)
	if !keepAlive {
		dst = append(dst, "Connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if !head {
		dst = append(dst, p.body...)
	}
	return dst
}

// Size returns how many bytes AppendTo appends with the same arguments.
func (p *Page) Size(keepAlive, head bool) int {
	n := len(p.head) + len("\r\n")
	if !keepAlive {
		n += len("Connection: close\r\n")
	}
	if !head {
		n += len(p.body)
	}
	return n
}
