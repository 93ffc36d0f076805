package httpparse

import "errors"

// ErrNeedMore reports that the buffer holds an incomplete head: call again
// with more bytes. It carries no status and is never a protocol error.
var ErrNeedMore = errors.New("httpparse: need more data")

// HTTP status codes carried by the errors below (net/http is not imported).
const (
	statusBadRequest            = 400
	statusURITooLong            = 414
	statusExpectationFailed     = 417
	statusHeaderFieldsTooLarge  = 431
	statusNotImplemented        = 501
	statusVersionNotSupported   = 505
	statusBadGatewayForResponse = 502
)

// Error is a protocol error found while parsing. Status is the HTTP status
// code a server answers a faulty request with (for response parsing errors
// the caller answers its client with 502 Bad Gateway instead). Reason is a
// short fixed English phrase; it never contains bytes of the input, so it
// is safe to log and to send.
type Error struct {
	Status int
	Reason string
}

// Error returns "httpparse: " followed by the reason.
func (e *Error) Error() string { return "httpparse: " + e.Reason }

func newError(status int, reason string) *Error {
	return &Error{Status: status, Reason: reason}
}

// Errors carrying 400 Bad Request: malformed heads (RFC 9112 §2–§6) and
// chunked framing (RFC 9112 §7.1).
var (
	// ErrBareLF reports an LF not preceded by CR (RFC 9112 §2.2).
	ErrBareLF = newError(statusBadRequest, "bare LF")
	// ErrBareCR reports a CR not followed by LF (RFC 9112 §2.2).
	ErrBareCR = newError(statusBadRequest, "bare CR")
	// ErrObsFold reports a field line starting with whitespace: obsolete
	// line folding, or whitespace between the start line and the first
	// field (RFC 9112 §2.2, §5.2).
	ErrObsFold = newError(statusBadRequest, "obsolete line folding")
	// ErrSpaceBeforeColon reports whitespace between a field name and its
	// colon (RFC 9112 §5.1).
	ErrSpaceBeforeColon = newError(statusBadRequest, "whitespace before colon")
	// ErrBadHeaderName reports an empty field name or one with a byte that is
	// not a tchar (RFC 9110 §5.1).
	ErrBadHeaderName = newError(statusBadRequest, "invalid field name")
	// ErrMissingColon reports a field line without a colon (RFC 9112 §5).
	ErrMissingColon = newError(statusBadRequest, "field line without colon")
	// ErrBadHeaderValue reports a NUL or other control byte in a field value
	// (RFC 9110 §5.5).
	ErrBadHeaderValue = newError(statusBadRequest, "invalid byte in field value")
	// ErrBadRequestLine reports a malformed request line (RFC 9112 §3).
	ErrBadRequestLine = newError(statusBadRequest, "malformed request line")
	// ErrBadMethod reports a method that is not a token (RFC 9110 §9.1).
	ErrBadMethod = newError(statusBadRequest, "invalid method")
	// ErrBadTarget reports a request target that is not in origin-form,
	// absolute-form (http or https) or asterisk-form (OPTIONS only)
	// (RFC 9112 §3.2).
	ErrBadTarget = newError(statusBadRequest, "invalid request target")
	// ErrMissingHost reports an HTTP/1.1 request without Host (RFC 9112 §3.2).
	ErrMissingHost = newError(statusBadRequest, "missing Host")
	// ErrDuplicateHost reports more than one Host field (RFC 9112 §3.2).
	ErrDuplicateHost = newError(statusBadRequest, "more than one Host")
	// ErrBadHost reports a Host value or target authority that is not
	// uri-host [ ":" port ] without userinfo (RFC 9110 §7.2, RFC 3986 §3.2).
	ErrBadHost = newError(statusBadRequest, "invalid Host")
	// ErrHostMismatch reports a Host field that differs from the authority
	// of an absolute-form target (RFC 9112 §3.2.2).
	ErrHostMismatch = newError(statusBadRequest, "Host differs from target authority")
	// ErrBadContentLength reports a Content-Length that is not 1 to 18
	// digits (RFC 9110 §8.6).
	ErrBadContentLength = newError(statusBadRequest, "invalid Content-Length")
	// ErrDuplicateContentLength reports a second Content-Length field in a
	// request, or a second one with a different value in a response
	// (RFC 9110 §8.6, RFC 9112 §6.3).
	ErrDuplicateContentLength = newError(statusBadRequest, "more than one Content-Length")
	// ErrCLAndTE reports Content-Length together with Transfer-Encoding
	// (RFC 9112 §6.3).
	ErrCLAndTE = newError(statusBadRequest, "Content-Length with Transfer-Encoding")
	// ErrBadTransferEncoding reports a malformed Transfer-Encoding: an
	// empty element, an element that is not a token, a transfer parameter,
	// or any coding after chunked (chunked twice or not last)
	// (RFC 9112 §6.1, §6.3).
	ErrBadTransferEncoding = newError(statusBadRequest, "invalid Transfer-Encoding")
	// ErrHeadWithBody reports a HEAD request with Transfer-Encoding or a
	// Content-Length other than 0 (RFC 9110 §9.3.2, RFC 9112 §11.2).
	ErrHeadWithBody = newError(statusBadRequest, "HEAD request with a body")
	// ErrTEInHTTP10 reports Transfer-Encoding in an HTTP/1.0 message, whose
	// framing must be treated as faulty (RFC 9112 §6.1).
	ErrTEInHTTP10 = newError(statusBadRequest, "Transfer-Encoding in HTTP/1.0")
	// ErrBadConnection reports a Connection element that is not a token
	// (RFC 9110 §7.6.1).
	ErrBadConnection = newError(statusBadRequest, "invalid Connection")
	// ErrBadChunk reports a syntax error in chunked framing: chunk size,
	// extension, data CRLF or trailer section (RFC 9112 §7.1).
	ErrBadChunk = newError(statusBadRequest, "invalid chunked encoding")
	// ErrChunkLineTooLong reports a chunk-size line, extensions included,
	// longer than MaxChunkLine bytes.
	ErrChunkLineTooLong = newError(statusBadRequest, "chunk size line too long")
	// ErrTrailerTooLarge reports a trailer section longer than
	// MaxTrailerSize bytes.
	ErrTrailerTooLarge = newError(statusBadRequest, "trailer section too large")
)

// Errors with other statuses.
var (
	// ErrUnsupportedTransferEncoding reports a transfer coding other than
	// chunked (gzip, identity, …) in an otherwise well-formed
	// Transfer-Encoding: 501 Not Implemented (RFC 9112 §6.1).
	ErrUnsupportedTransferEncoding = newError(statusNotImplemented, "unsupported transfer coding")
	// ErrConnectNotSupported reports the CONNECT method or an
	// authority-form target: 501 Not Implemented (RFC 9112 §3.2.3).
	ErrConnectNotSupported = newError(statusNotImplemented, "CONNECT not supported")
	// ErrVersionNotSupported reports a well-formed HTTP version other than
	// 1.0 and 1.1: 505 HTTP Version Not Supported (RFC 9110 §15.6.6).
	ErrVersionNotSupported = newError(statusVersionNotSupported, "HTTP version not supported")
	// ErrURITooLong reports a request target longer than
	// Limits.MaxURILength: 414 URI Too Long (RFC 9112 §3).
	ErrURITooLong = newError(statusURITooLong, "request target too long")
	// ErrHeadTooLarge reports a head longer than Limits.MaxHeadSize: 431
	// Request Header Fields Too Large (RFC 6585 §5).
	ErrHeadTooLarge = newError(statusHeaderFieldsTooLarge, "message head too large")
	// ErrTooManyHeaders reports more than Limits.MaxHeaders field lines: 431
	// Request Header Fields Too Large (RFC 6585 §5).
	ErrTooManyHeaders = newError(statusHeaderFieldsTooLarge, "too many header fields")
	// ErrExpectationFailed reports an Expect value other than 100-continue:
	// 417 Expectation Failed (RFC 9110 §10.1.1).
	ErrExpectationFailed = newError(statusExpectationFailed, "unsupported expectation")
)

// Errors only returned by ParseResponse. Status is 502 Bad Gateway, the
// answer a proxy gives its client for a broken backend response; the
// field-level errors above are shared with requests and carry their request
// status, which a proxy maps to 502 as well.
var (
	// ErrBadStatusLine reports a malformed status line, a version other than
	// HTTP/1.0 or HTTP/1.1, or a status outside 100–599 (RFC 9112 §4).
	ErrBadStatusLine = newError(statusBadGatewayForResponse, "malformed status line")
)
