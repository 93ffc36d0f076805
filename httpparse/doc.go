// Package httpparse parses HTTP/1.1 messages strictly, incrementally and
// without allocating: request heads, response heads and the chunked transfer
// coding, following RFC 9110 and RFC 9112.
//
// The parser rejects instead of repairing. Anything that different HTTP/1.1
// implementations could frame differently (Content-Length together with
// Transfer-Encoding, bare CR or LF, obsolete line folding, whitespace before
// a colon, …) is an error carrying the HTTP status to answer with; see
// [Error]. [ErrNeedMore] asks the caller to come back with more bytes.
//
// Heads are parsed from a growing buffer: the caller passes the same message
// again and again, each time with more bytes appended, and the [Parser]
// remembers how far it has scanned, so a head trickling in byte by byte costs
// O(total) work. Chunked bodies are decoded by a [ChunkedDecoder] that
// consumes whatever bytes it is given and may be fed one byte at a time.
//
// Imports: the standard library only, and never net/http, fmt or
// encoding/json (the data path must not depend on them; a test at the module
// root enforces it).
//
// Concurrency: a [Parser], [Request], [Response] or [ChunkedDecoder] is used
// by one goroutine at a time, normally the event loop that owns the
// connection. Parsed fields alias the buffer that was passed in: they are
// valid only as long as that buffer is neither modified nor released, so
// copy what must outlive it. In steady state (values reused across
// messages) nothing allocates.
package httpparse
