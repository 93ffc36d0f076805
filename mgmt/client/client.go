package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/mgmt/api"
)

// Timeouts of the client's HTTP transport. A whole request has no deadline
// of its own: give one through the context (mantrid-client's --timeout).
const (
	// DialTimeout bounds connecting to Mantrid.
	DialTimeout = 5 * time.Second
	// ResponseHeaderTimeout bounds the wait for an answer once the request
	// has been sent; a bulk replace of a million rules answers well within
	// it.
	ResponseHeaderTimeout = 2 * time.Minute
	// MaxErrorBody bounds how much of a non-2xx answer is read, in bytes.
	MaxErrorBody = 64 << 10
)

// Client talks to one Mantrid's REST API. It is safe for concurrent use.
type Client struct {
	base    string // base URL without trailing slash, as sent
	display string // base URL for messages, password redacted
	token   string // the bearer token, or ""
	hc      *http.Client
}

// Option changes a Client made by New.
type Option func(*Client)

// WithToken makes every request carry "Authorization: Bearer token", the
// token of the server's management_token_file. token must pass
// api.CheckToken; New refuses it otherwise.
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// New returns a Client of the API at baseURL, e.g. api.DefaultURL
// ("http://localhost:8042"), or at a Unix socket,
// "unix:/run/mantrid/api.sock" (api.UnixPrefix and the socket's path). A
// URL must be absolute http or https, may carry a path prefix (when the
// API sits behind a reverse proxy), and must not carry a query or
// fragment.
//
// The client does not use HTTP_PROXY and friends (the management API is a
// local or internal listener) and does not follow redirects (the API never
// sends any), so the token goes nowhere but to baseURL.
func New(baseURL string, opts ...Option) (*Client, error) {
	var c *Client
	var err error
	if path, ok := strings.CutPrefix(baseURL, api.UnixPrefix); ok {
		c, err = newUnix(path)
	} else {
		c, err = newHTTP(baseURL)
	}
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(c)
	}
	if c.token != "" {
		if err := api.CheckToken(c.token); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// newUnix returns a Client of the API on the Unix socket at path. Its
// requests carry "Host: localhost".
func newUnix(path string) (*Client, error) {
	if path == "" {
		return nil, errors.New("invalid address " + quoteURL(api.UnixPrefix) + ": the socket's path is missing (unix:/run/mantrid/api.sock)")
	}
	dialer := &net.Dialer{Timeout: DialTimeout}
	transport := newTransport(func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, "unix", path)
	})
	return &Client{base: "http://localhost", display: api.UnixPrefix + path, hc: newHTTPClient(transport)}, nil
}

// newHTTP returns a Client of the API at the http or https URL baseURL.
func newHTTP(baseURL string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, errors.New("invalid URL " + quoteURL(baseURL) + ": " + reason(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("invalid URL " + quoteURL(baseURL) + ": it must start with http:// or https://")
	case u.Host == "" || u.Opaque != "":
		return nil, errors.New("invalid URL " + quoteURL(baseURL) + ": it has no host")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("invalid URL " + quoteURL(baseURL) + ": it must not have a query or fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	transport := newTransport((&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext)
	return &Client{base: u.String(), display: u.Redacted(), hc: newHTTPClient(transport)}, nil
}

// newTransport returns the client's HTTP transport, which connects with
// dial.
func newTransport(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		DialContext:           dial,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: ResponseHeaderTimeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
}

// newHTTPClient returns an http.Client on transport that follows no
// redirect.
func newHTTPClient(transport *http.Transport) *http.Client {
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// URL returns the base URL the client talks to, with any password
// redacted, or "unix:PATH" for a Unix socket.
func (c *Client) URL() string { return c.display }

// quoteURL quotes a URL given by the user for an error message.
func quoteURL(s string) string {
	const max = 200
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s) + `"`
}

// request is one API call: method and path (already escaped, from the
// base URL on), an optional body of size bytes (-1: unknown), its
// precondition, where to decode a 2xx answer (nil: discard it) and where
// to keep the answer's ETag (nil: drop it).
type request struct {
	method, path string
	body         io.Reader
	size         int64
	cond         Precondition
	out          any
	etag         *string
}

// do sends req and handles its answer: a 2xx answer is decoded into req.out;
// anything else becomes a *ServerError, *ProtocolError or *NetError.
func (c *Client) do(ctx context.Context, req request) error {
	hreq, err := c.newRequest(ctx, req)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return &NetError{URL: c.display, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.errorAnswer(resp)
	}
	if req.etag != nil {
		*req.etag = resp.Header.Get("ETag")
	}
	if req.out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
		return nil
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return &NetError{URL: c.display, Reading: true, Err: err}
	}
	if err := sonic.Unmarshal(data, req.out); err != nil {
		return &ProtocolError{URL: c.display, Status: resp.StatusCode, Problem: "the answer is not the JSON the API sends"}
	}
	return nil
}

// newRequest builds the HTTP request of req. The body is never closed by
// the transport: the caller owns it.
func (c *Client) newRequest(ctx context.Context, req request) (*http.Request, error) {
	var body io.Reader
	switch {
	case req.body == nil:
	case req.size == 0:
		body = http.NoBody
	default:
		body = io.NopCloser(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, c.base+req.path, body)
	if err != nil {
		return nil, err
	}
	if req.body != nil && req.size > 0 {
		hreq.ContentLength = req.size
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "mantrid-client")
	if c.token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if req.cond.IfMatch != "" {
		hreq.Header.Set("If-Match", req.cond.IfMatch)
	}
	if req.cond.IfNoneMatch {
		hreq.Header.Set("If-None-Match", "*")
	}
	return hreq, nil
}

// errorAnswer turns a non-2xx answer into a *ServerError when its body is
// an API error, else into a *ProtocolError.
func (c *Client) errorAnswer(resp *http.Response) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	if err != nil {
		return &NetError{URL: c.display, Reading: true, Err: err}
	}
	var e api.Error
	if sonic.Unmarshal(data, &e) == nil && e.Code != "" {
		return &ServerError{Status: resp.StatusCode, API: e}
	}
	return &ProtocolError{URL: c.display, Status: resp.StatusCode, Problem: "the body is not an API error"}
}

// bodySize returns how many bytes r will yield, or -1 when it cannot tell:
// it knows *bytes.Reader, *strings.Reader, *bytes.Buffer and regular files.
func bodySize(r io.Reader) int64 {
	switch b := r.(type) {
	case *bytes.Reader:
		return int64(b.Len())
	case *strings.Reader:
		return int64(b.Len())
	case *bytes.Buffer:
		return int64(b.Len())
	case *os.File:
		fi, err := b.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		off, err := b.Seek(0, io.SeekCurrent)
		if err != nil || off > fi.Size() {
			return -1
		}
		return fi.Size() - off
	}
	return -1
}
