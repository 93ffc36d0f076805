package httpparse

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// reqView is a comparable summary of a parsed request.
type reqView struct {
	Method, Target, Path, Host string
	Minor                      int
	Headers                    []string
	ContentLength              int64
	Chunked, KeepAlive         bool
	Upgrade, Expect100         bool
	AbsoluteForm               bool
}

// reqOutcome is the result of one ParseRequest call.
type reqOutcome struct {
	N   int
	Err error
	Req *reqView
}

func viewHeaders(hs []Header) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, string(h.Name)+": "+string(h.Value))
	}
	return out
}

func viewRequest(r *Request) *reqView {
	return &reqView{
		Method: string(r.Method), Target: string(r.Target), Path: string(r.Path), Host: string(r.Host),
		Minor: r.Minor, Headers: viewHeaders(r.Headers), ContentLength: r.ContentLength,
		Chunked: r.Chunked, KeepAlive: r.KeepAlive, Upgrade: r.Upgrade, Expect100: r.Expect100,
		AbsoluteForm: r.AbsoluteForm,
	}
}

// parseRequestCopy parses a fresh copy of in, so that anything kept from an
// earlier call into an older buffer would show.
func parseRequestCopy(p *Parser, req *Request, in []byte) reqOutcome {
	buf := append([]byte(nil), in...)
	n, err := p.ParseRequest(buf, req)
	out := reqOutcome{N: n, Err: err}
	if err == nil {
		out.Req = viewRequest(req)
		for i := range buf { // the result must alias buf, and only buf
			buf[i] = '!'
		}
		if n > 0 && len(req.Method) > 0 && req.Method[0] != '!' {
			out.Err = errAliasing
		}
	}
	return out
}

var errAliasing = &Error{Status: 0, Reason: "test: result does not alias the buffer"}

// wholeRequest parses in at once with limits lim.
func wholeRequest(in []byte, lim Limits) reqOutcome {
	p := Parser{Limits: lim}
	return parseRequestCopy(&p, new(Request), in)
}

// checkRequestSplits checks that in gives the same outcome fed whole, in
// every 2-way split and byte by byte.
func checkRequestSplits(t *testing.T, in []byte, lim Limits) {
	t.Helper()
	want := wholeRequest(in, lim)
	for k := 0; k <= len(in); k++ {
		p, req := Parser{Limits: lim}, new(Request)
		got := parseRequestCopy(&p, req, in[:k])
		if got.Err == ErrNeedMore {
			got = parseRequestCopy(&p, req, in)
		}
		if !assert.Equal(t, want, got, "split at %d of %q", k, in) {
			return
		}
	}
	p, req := Parser{Limits: lim}, new(Request)
	for i := 0; i <= len(in); i++ {
		got := parseRequestCopy(&p, req, in[:i])
		if got.Err == ErrNeedMore && i < len(in) {
			// The scanner must have examined every byte but a pending CR.
			if !assert.GreaterOrEqual(t, p.pos, i-1, "scan position after %d bytes of %q", i, in) {
				return
			}
			continue
		}
		assert.Equal(t, want, got, "byte by byte, %d bytes of %q", i, in)
		return
	}
}

// respView is a comparable summary of a parsed response.
type respView struct {
	Minor, Status int
	Reason        string
	Headers       []string
	ContentLength int64
	Chunked       bool
	KeepAlive     bool
}

type respOutcome struct {
	N    int
	Err  error
	Resp *respView
}

func parseResponseCopy(p *Parser, resp *Response, in []byte) respOutcome {
	buf := append([]byte(nil), in...)
	n, err := p.ParseResponse(buf, resp)
	out := respOutcome{N: n, Err: err}
	if err == nil {
		out.Resp = &respView{
			Minor: resp.Minor, Status: resp.Status, Reason: string(resp.Reason),
			Headers: viewHeaders(resp.Headers), ContentLength: resp.ContentLength,
			Chunked: resp.Chunked, KeepAlive: resp.KeepAlive,
		}
	}
	return out
}

func wholeResponse(in []byte, lim Limits) respOutcome {
	p := Parser{Limits: lim}
	return parseResponseCopy(&p, new(Response), in)
}

func checkResponseSplits(t *testing.T, in []byte, lim Limits) {
	t.Helper()
	want := wholeResponse(in, lim)
	for k := 0; k <= len(in); k++ {
		p, resp := Parser{Limits: lim}, new(Response)
		got := parseResponseCopy(&p, resp, in[:k])
		if got.Err == ErrNeedMore {
			got = parseResponseCopy(&p, resp, in)
		}
		if !assert.Equal(t, want, got, "split at %d of %q", k, in) {
			return
		}
	}
	p, resp := Parser{Limits: lim}, new(Response)
	for i := 0; i <= len(in); i++ {
		got := parseResponseCopy(&p, resp, in[:i])
		if got.Err == ErrNeedMore && i < len(in) {
			if !assert.GreaterOrEqual(t, p.pos, i-1, "scan position after %d bytes of %q", i, in) {
				return
			}
			continue
		}
		assert.Equal(t, want, got, "byte by byte, %d bytes of %q", i, in)
		return
	}
}

// chunkOutcome is the result of decoding a whole chunked body.
type chunkOutcome struct {
	Payload string
	N       int // bytes consumed in all
	Done    bool
	Err     error
}

var errStall = &Error{Status: 0, Reason: "test: Decode consumed nothing from a non-empty buffer"}

// decodePieces decodes the body fed as the given pieces, each in a fresh
// buffer, until done, an error or the end of the pieces.
func decodePieces(pieces ...[]byte) chunkOutcome {
	var d ChunkedDecoder
	var out chunkOutcome
	var payload []byte
	for _, piece := range pieces {
		buf := append([]byte(nil), piece...)
		for len(buf) > 0 {
			n, data, done, err := d.Decode(buf)
			payload = append(payload, data...)
			out.N += n
			buf = buf[n:]
			if done || err != nil {
				out.Done, out.Err = done, err
				out.Payload = string(payload)
				return out
			}
			if n == 0 {
				out.Err = errStall
				out.Payload = string(payload)
				return out
			}
		}
	}
	out.Payload = string(payload)
	return out
}

// bytesOf splits in into one-byte pieces.
func bytesOf(in []byte) [][]byte {
	pieces := make([][]byte, len(in))
	for i := range in {
		pieces[i] = in[i : i+1]
	}
	return pieces
}

// checkChunkSplits checks that in decodes the same whole, in every 2-way
// split and byte by byte.
func checkChunkSplits(t *testing.T, in []byte) {
	t.Helper()
	want := decodePieces(in)
	assert.Equal(t, want, decodePieces(bytesOf(in)...), "byte by byte: %q", in)
	for k := 1; k < len(in); k++ {
		if !assert.Equal(t, want, decodePieces(in[:k], in[k:]), "split at %d of %q", k, in) {
			return
		}
	}
}
