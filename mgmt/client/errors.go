package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"

	"github.com/mantrid/mantrid/mgmt/api"
)

// ServerError is the API's refusal of a request: a non-2xx answer whose body
// is an API error, {"error": CODE, "detail": ..., "host": ...}.
//
// The api.Error is a named field rather than an embedded one because an
// embedded field called Error would hide the Error method.
type ServerError struct {
	// Status is the HTTP status of the answer, e.g. 400.
	Status int
	// API is the answer's body. API.Code is never empty.
	API api.Error
}

// Error returns "CODE: detail", followed by ` (host "HOST")` when the
// server named the rule at fault (a bulk replace).
func (e *ServerError) Error() string {
	msg := e.API.Error()
	if e.API.Host != "" {
		msg += " (host " + strconv.Quote(e.API.Host) + ")"
	}
	return msg
}

// Unwrap returns the API error, so that errors.As(err, &apiErr) with an
// apiErr of type *api.Error finds it.
func (e *ServerError) Unwrap() error { return &e.API }

// NetError reports that a request did not complete: Mantrid could not be
// reached, the connection failed, or the context ended first.
type NetError struct {
	// URL is the API base URL, with any password redacted.
	URL string
	// Reading is set when the answer had begun and reading it failed.
	Reading bool
	// Err is the error net/http returned.
	Err error
}

// Error returns "cannot reach Mantrid at URL: REASON" (or "lost the answer
// of Mantrid at URL: REASON" when Reading), where REASON is the short cause:
// "connection refused", "lookup HOST: no such host", "timed out", ….
func (e *NetError) Error() string {
	if e.Reading {
		return "lost the answer of Mantrid at " + e.URL + ": " + reason(e.Err)
	}
	return "cannot reach Mantrid at " + e.URL + ": " + reason(e.Err)
}

// Unwrap returns Err.
func (e *NetError) Unwrap() error { return e.Err }

// reason reduces a net/http error to its cause, without the "Get URL:" and
// "dial tcp ADDR: connect:" layers that NetError.Error already says.
func reason(err error) string {
	var errno syscall.Errno
	var dns *net.DNSError
	var uerr *url.Error
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &dns):
		return dns.Error()
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &uerr):
		return uerr.Err.Error()
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// ProtocolError reports an answer that is not Mantrid's API: a non-2xx
// status without an API error body, or a success whose body is not the JSON
// the API sends. It usually means the URL points at something else.
type ProtocolError struct {
	// URL is the API base URL, with any password redacted.
	URL string
	// Status is the HTTP status of the answer.
	Status int
	// Problem says what is wrong with the answer.
	Problem string
}

// Error returns "Mantrid at URL answered STATUS: PROBLEM (is the URL
// right?)".
func (e *ProtocolError) Error() string {
	return "Mantrid at " + e.URL + " answered " + strconv.Itoa(e.Status) + " " +
		http.StatusText(e.Status) + ": " + e.Problem + " (is the URL right?)"
}
