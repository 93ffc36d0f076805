package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/mgmt/api"
)

// ErrNoHost is returned for an empty hostname, or one ("." or "..") that
// could not travel as a path segment.
var ErrNoHost = errors.New("hostname must not be empty, \".\" or \"..\"")

// hostPath returns prefix + HOST + "/", with HOST escaped as one path
// segment so that the server receives it intact: "http://ep.io" travels as
// "http:%2F%2Fep.io".
func hostPath(prefix, host string) (string, error) {
	if host == "" || host == "." || host == ".." {
		return "", ErrNoHost
	}
	return prefix + url.PathEscape(host) + "/", nil
}

// Rules returns every rule, keyed by hostname (GET /hostname/). Each value
// is the rule's JSON triple [action, options, subdomains] as the server sent
// it; parse it with actions.ParseRule to read its fields. The map is the
// caller's.
func (c *Client) Rules(ctx context.Context) (map[string]json.RawMessage, error) {
	var rules map[string]json.RawMessage
	if err := c.do(ctx, request{method: http.MethodGet, path: api.HostnamesPath, out: &rules}); err != nil {
		return nil, err
	}
	if rules == nil { // the answer was null
		return nil, &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the rules are not a JSON object"}
	}
	return rules, nil
}

// Get returns host's rule as its JSON triple (GET /hostname/HOST/), or nil
// when host has no rule. host is a rule key: "ep.io" or a
// protocol-qualified "http://ep.io".
func (c *Client) Get(ctx context.Context, host string) (json.RawMessage, error) {
	rule, _, err := c.GetETag(ctx, host)
	return rule, err
}

// GetETag returns host's rule as Get does, with its ETag (`"REV"`, the
// revision of its last change; "" when host has no rule), for a later
// SetIf or DeleteIf with IfMatch.
func (c *Client) GetETag(ctx context.Context, host string) (json.RawMessage, string, error) {
	path, err := hostPath(api.HostnamesPath, host)
	if err != nil {
		return nil, "", err
	}
	var rule json.RawMessage
	var etag string
	if err := c.do(ctx, request{method: http.MethodGet, path: path, out: &rule, etag: &etag}); err != nil {
		return nil, "", err
	}
	rule = bytes.TrimSpace(rule)
	switch {
	case string(rule) == "null":
		return nil, "", nil
	case len(rule) == 0 || rule[0] != '[':
		return nil, "", &ProtocolError{URL: c.display, Status: http.StatusOK, Problem: "the rule is not a JSON array"}
	}
	return rule, etag, nil
}

// Precondition makes a SetIf or DeleteIf conditional (RFC 9110 section
// 13.1). The zero Precondition always holds. When it does not hold the
// server changes nothing and the error is a *ServerError with status 412
// and code api.CodePreconditionFailed.
type Precondition struct {
	// IfMatch, when set, is sent as If-Match: an ETag as GetETag, SetIf
	// or DeleteIf returned it (the rule must not have changed since), or
	// "*" (host must have a rule).
	IfMatch string
	// IfNoneMatch sends If-None-Match: * (host must have no rule).
	IfNoneMatch bool
}

// Set sets host's rule (PUT /hostname/HOST/). rule encodes to the triple
// [action, options, subdomains]: an *actions.Rule, or a json.RawMessage
// such as `["empty",{"code":"403"},true]` (the server accepts numeric
// strings and validates everything). The server's refusal is a
// *ServerError with a code such as host_action_invalid.
func (c *Client) Set(ctx context.Context, host string, rule json.Marshaler) error {
	_, err := c.SetIf(ctx, host, rule, Precondition{})
	return err
}

// SetIf sets host's rule as Set does, if p holds when the server commits
// the change, and returns the rule's new ETag.
func (c *Client) SetIf(ctx context.Context, host string, rule json.Marshaler, p Precondition) (string, error) {
	path, err := hostPath(api.HostnamesPath, host)
	if err != nil {
		return "", err
	}
	body, err := sonic.Marshal(rule)
	if err != nil {
		return "", errors.New("cannot encode the rule: " + err.Error())
	}
	var etag string
	err = c.do(ctx, request{method: http.MethodPut, path: path, body: bytes.NewReader(body), size: int64(len(body)), cond: p, etag: &etag})
	return etag, err
}

// Delete removes host's rule (DELETE /hostname/HOST/), and with it the
// host's statistics.
func (c *Client) Delete(ctx context.Context, host string) error {
	_, err := c.DeleteIf(ctx, host, Precondition{})
	return err
}

// DeleteIf removes host's rule as Delete does, if p holds when the server
// commits the change, and returns the ETag of the deletion ("" when host
// had no rule).
func (c *Client) DeleteIf(ctx context.Context, host string, p Precondition) (string, error) {
	path, err := hostPath(api.HostnamesPath, host)
	if err != nil {
		return "", err
	}
	var etag string
	err = c.do(ctx, request{method: http.MethodDelete, path: path, cond: p, etag: &etag})
	return etag, err
}

// Replace replaces every rule at once with the JSON object {host: rule, …}
// read from body (PUT /hostname/). The body is streamed, never held whole,
// so a million rules need no more memory than a few; it is sent with a
// Content-Length when body is a regular file (from its current offset), a
// *bytes.Reader, *bytes.Buffer or *strings.Reader, else chunked. Replace
// does not close body. The server applies all rules or none: on a refusal
// (a *ServerError naming the host at fault) the old rules stay.
//
// An empty object {} deletes every rule. Check a document with CheckRules
// before sending it.
func (c *Client) Replace(ctx context.Context, body io.Reader) error {
	if body == nil {
		return errors.New("replace: no body")
	}
	return c.do(ctx, request{method: http.MethodPut, path: api.HostnamesPath, body: body, size: bodySize(body)})
}
