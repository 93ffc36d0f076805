// Package static holds Mantrid's static responses: the built-in pages
// shipped inside the binary and the NAME.http files an operator puts in
// static_dir.
//
// A page file holds a raw HTTP response: status line, header fields, an
// empty line and the body. Lines of the head may end in LF or CRLF (files
// are edited by hand); the body is sent byte for byte. Whatever the file
// says about framing, Mantrid sends canonical HTTP/1.1: its own status
// line, the file's fields without Content-Length, Transfer-Encoding,
// Connection, Keep-Alive and the fields Connection names, and a
// Content-Length equal to the body's real length.
//
// Imports: httpparse and the standard library only; never net/http (the
// event loops import this package).
//
// Concurrency: Load runs once at start-up or on reload; the Pages and Page
// values it returns are immutable and safe for concurrent use.
package static
