package actions

import "strconv"

// AppendEmpty appends a complete response with status code, its reason
// phrase (ReasonPhrase; the status line keeps its space before an empty
// phrase, RFC 9112 §4) and no body to dst, and returns the extended slice.
// It is the empty action's answer (SPEC §4) and Mantrid's own error answers
// (400, 408, 431, …). It does not allocate when dst has room.
//
// Framing, by code class:
//   - most codes: "Content-Length: 0", and "Connection: close" when
//     keepAlive is false (RFC 9112 §9.6);
//   - 204 and 304: no Content-Length (RFC 9110 §8.6, §15.3.5, §15.4.5);
//     their framing ends at the blank line;
//   - 1xx: no Content-Length and always "Connection: close". A 1xx is an
//     interim response (RFC 9110 §15.2): the client keeps waiting for a final
//     one, so the only way to end the exchange the operator asked for is to
//     close the connection after it. EmptyKeepsAlive reports this.
//
// A code outside MinCode–MaxCode cannot be written as three digits of a
// valid class and is answered as 500 Internal Server Error.
func AppendEmpty(dst []byte, code int, keepAlive bool) []byte {
	if code < MinCode || code > MaxCode {
		code = 500
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, ReasonPhrase(code)...)
	dst = append(dst, "\r\n"...)
	if code >= 200 && code != 204 && code != 304 {
		dst = append(dst, "Content-Length: 0\r\n"...)
	}
	if !EmptyKeepsAlive(code, keepAlive) {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// EmptyKeepsAlive reports whether the connection may stay open after
// AppendEmpty(dst, code, keepAlive): keepAlive, except for 1xx codes, after
// which the connection must be closed (see AppendEmpty).
func EmptyKeepsAlive(code int, keepAlive bool) bool {
	return keepAlive && (code >= 200 || code < MinCode)
}
