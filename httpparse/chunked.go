package httpparse

import "strconv"

// LastChunk is the last-chunk and empty trailer section that end a chunked
// body (RFC 9112 §7.1).
const LastChunk = "0\r\n\r\n"

// CRLF ends a chunk's data (RFC 9112 §7.1).
const CRLF = "\r\n"

// AppendChunkHeader appends the chunk-size line for a chunk of size bytes
// (lower-case hex, no extensions, CRLF) to dst and returns the extended
// slice. The chunk's data and CRLF follow it; size must be positive, as a
// zero size is the last chunk.
func AppendChunkHeader(dst []byte, size int) []byte {
	dst = strconv.AppendUint(dst, uint64(size), 16)
	return append(dst, CRLF...)
}

// maxChunkSizeDigits bounds the chunk-size so that it cannot overflow.
const maxChunkSizeDigits = 15

// chunkState is where a ChunkedDecoder stands in the chunked coding
// (RFC 9112 §7.1):
//
//	chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk = 1*("0") [ chunk-ext ] CRLF
//	chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	chunked-body = *chunk last-chunk trailer-section CRLF
type chunkState uint8

const (
	csSize          chunkState = iota // chunk-size hex digits
	csSizeBWS                         // BWS after the size, before ";"
	csExtStart                        // BWS after ";", before a name
	csExtName                         // chunk-ext-name
	csExtNameBWS                      // BWS after a name, before "=" or ";"
	csExtValueStart                   // BWS after "=", before a value
	csExtToken                        // token chunk-ext-val
	csExtQuoted                       // quoted-string chunk-ext-val
	csExtQuotedPair                   // the byte after a backslash
	csExtValueEnd                     // just after a value
	csExtValueBWS                     // BWS after a value, before ";"
	csSizeLF                          // LF ending the chunk-size line
	csData                            // chunk-data
	csDataCR                          // CR after chunk-data
	csDataLF                          // LF after chunk-data
	csTrailerStart                    // a trailer field line or the final CRLF
	csTrailerName                     // trailer field-name
	csTrailerValue                    // trailer field-value
	csTrailerLF                       // LF ending a trailer field line
	csEndLF                           // LF of the final CRLF
	csDone                            // the body is complete
	csFailed                          // an error was returned
)

// ChunkedDecoder decodes the chunked transfer coding (RFC 9112 §7.1). It
// consumes whatever bytes it is given, keeping its place between calls, so
// it may be fed one byte at a time. Chunk extensions and trailer fields are
// checked and discarded, so a proxy can re-emit the payload as canonical
// chunks with AppendChunkHeader and LastChunk. The zero value is ready to
// decode a body; Reset it before the next. A ChunkedDecoder is used by one
// goroutine.
type ChunkedDecoder struct {
	state     chunkState
	digits    int    // hex digits of the chunk-size so far
	size      uint64 // the chunk-size so far
	remaining uint64 // bytes of chunk-data still due
	line      int    // bytes of the current chunk-size line so far
	trailer   int    // bytes of the trailer section so far
	err       error  // the error returned, once failed
}

// Reset prepares d for the next body.
func (d *ChunkedDecoder) Reset() { *d = ChunkedDecoder{} }

// Decode consumes bytes from the start of buf. It returns how many it
// consumed, the payload bytes among them (data aliases buf; it may be empty
// even when n > 0) and done once the last chunk and the trailer section have
// been consumed; bytes after that belong to the next message. Call it in a
// loop, passing buf[n:], until it returns n == 0 (more bytes needed), done
// or an error: ErrBadChunk for a syntax error, ErrChunkLineTooLong or
// ErrTrailerTooLarge beyond MaxChunkLine or MaxTrailerSize. After an error
// every call returns it again.
func (d *ChunkedDecoder) Decode(buf []byte) (n int, data []byte, done bool, err error) {
	for n < len(buf) {
		switch d.state {
		case csDone:
			return n, nil, true, nil
		case csFailed:
			return n, nil, false, d.err
		case csData:
			take := min(uint64(len(buf)-n), d.remaining)
			data = buf[n : n+int(take)]
			n += int(take)
			d.remaining -= take
			if d.remaining == 0 {
				d.state = csDataCR
			}
			return n, data, false, nil
		}
		k, err := d.step(buf[n:])
		n += k
		if err != nil {
			d.state, d.err = csFailed, err
			return n, nil, false, err
		}
	}
	return n, nil, d.state == csDone, nil
}

// step consumes framing bytes from the non-empty b, applying the bound of
// the line or section it belongs to.
func (d *ChunkedDecoder) step(b []byte) (int, error) {
	switch d.state {
	case csDataCR, csDataLF:
		return d.dataEnd(b[0])
	case csTrailerStart, csTrailerName, csTrailerValue, csTrailerLF, csEndLF:
		room := MaxTrailerSize - d.trailer
		if room <= 0 {
			return 0, ErrTrailerTooLarge
		}
		k, err := d.trailerStep(b[:min(len(b), room)])
		d.trailer += k
		return k, err
	}
	room := MaxChunkLine - d.line
	if room <= 0 {
		return 0, ErrChunkLineTooLong
	}
	k, err := d.lineStep(b[:min(len(b), room)])
	d.line += k
	return k, err
}

// dataEnd consumes the CRLF after chunk-data.
func (d *ChunkedDecoder) dataEnd(c byte) (int, error) {
	switch {
	case d.state == csDataCR && c == '\r':
		d.state = csDataLF
	case d.state == csDataLF && c == '\n':
		d.state, d.digits, d.size, d.line = csSize, 0, 0, 0
	default:
		return 0, ErrBadChunk
	}
	return 1, nil
}

// lineStep consumes bytes of a chunk-size line from the non-empty b.
func (d *ChunkedDecoder) lineStep(b []byte) (int, error) {
	switch d.state {
	case csSize:
		return d.sizeDigits(b)
	case csExtName:
		i := skipClass(b, 0, cToken)
		if i < len(b) {
			return d.afterName(b[i], i)
		}
		return i, nil
	case csExtToken:
		i := skipClass(b, 0, cToken)
		if i < len(b) {
			d.state = csExtValueEnd
		}
		return i, nil
	case csExtQuoted:
		i := skipClass(b, 0, cQDText)
		if i < len(b) {
			return d.quoteEnd(b[i], i)
		}
		return i, nil
	case csSizeLF:
		if b[0] != '\n' {
			return 0, ErrBadChunk
		}
		d.state = csData
		if d.size == 0 {
			d.state = csTrailerStart
		}
		d.remaining = d.size
		return 1, nil
	}
	return d.extByte(b[0])
}

// sizeDigits consumes chunk-size hex digits and the byte ending them.
func (d *ChunkedDecoder) sizeDigits(b []byte) (int, error) {
	i := 0
	for ; i < len(b) && isHex(b[i]); i++ {
		if d.digits == maxChunkSizeDigits {
			return i, ErrBadChunk
		}
		d.digits++
		d.size = d.size<<4 | uint64(unhex(b[i]))
	}
	if i == len(b) {
		return i, nil
	}
	if d.digits == 0 {
		return i, ErrBadChunk
	}
	switch b[i] {
	case ';':
		d.state = csExtStart
	case ' ', '\t':
		d.state = csSizeBWS
	case '\r':
		d.state = csSizeLF
	default:
		return i, ErrBadChunk
	}
	return i + 1, nil
}

// afterName consumes the byte c ending a chunk-ext-name at offset i.
func (d *ChunkedDecoder) afterName(c byte, i int) (int, error) {
	switch c {
	case '=':
		d.state = csExtValueStart
	case ';':
		d.state = csExtStart
	case ' ', '\t':
		d.state = csExtNameBWS
	case '\r':
		d.state = csSizeLF
	default:
		return i, ErrBadChunk
	}
	return i + 1, nil
}

// quoteEnd consumes the byte c ending a run of qdtext at offset i.
func (d *ChunkedDecoder) quoteEnd(c byte, i int) (int, error) {
	switch c {
	case '"':
		d.state = csExtValueEnd
	case '\\':
		d.state = csExtQuotedPair
	default:
		return i, ErrBadChunk
	}
	return i + 1, nil
}

// extByte consumes one byte in the single-byte extension states.
func (d *ChunkedDecoder) extByte(c byte) (int, error) {
	next := extNext(d.state, c)
	if next == csFailed {
		return 0, ErrBadChunk
	}
	d.state = next
	return 1, nil
}

// extNext is the transition on byte c from a single-byte extension state;
// csFailed means c is not allowed there.
func extNext(s chunkState, c byte) chunkState {
	switch {
	case s == csExtQuotedPair:
		if isValue(c) {
			return csExtQuoted
		}
		return csFailed
	case isOWS(c):
		switch s {
		case csSizeBWS, csExtStart, csExtNameBWS, csExtValueStart, csExtValueBWS:
			return s
		case csExtValueEnd:
			return csExtValueBWS
		}
	case c == ';':
		switch s {
		case csSizeBWS, csExtNameBWS, csExtValueEnd, csExtValueBWS:
			return csExtStart
		}
	case c == '=':
		if s == csExtNameBWS {
			return csExtValueStart
		}
	case c == '"':
		if s == csExtValueStart {
			return csExtQuoted
		}
	case c == '\r':
		if s == csExtValueEnd {
			return csSizeLF
		}
	case isToken(c):
		switch s {
		case csExtStart:
			return csExtName
		case csExtValueStart:
			return csExtToken
		}
	}
	return csFailed
}

// trailerStep consumes bytes of the trailer section from the non-empty b;
// the field rules are those of a head (RFC 9112 §7.1.2, §5).
func (d *ChunkedDecoder) trailerStep(b []byte) (int, error) {
	switch d.state {
	case csTrailerName:
		i := skipClass(b, 0, cToken)
		if i == len(b) {
			return i, nil
		}
		if b[i] != ':' {
			return i, ErrBadChunk
		}
		d.state = csTrailerValue
		return i + 1, nil
	case csTrailerValue:
		i := skipClass(b, 0, cValue)
		if i == len(b) {
			return i, nil
		}
		if b[i] != '\r' {
			return i, ErrBadChunk
		}
		d.state = csTrailerLF
		return i + 1, nil
	case csTrailerStart:
		switch c := b[0]; {
		case c == '\r':
			d.state = csEndLF
		case isToken(c):
			d.state = csTrailerName
		default:
			// Includes obs-fold, a bare LF and an empty field name.
			return 0, ErrBadChunk
		}
	case csTrailerLF, csEndLF:
		if b[0] != '\n' {
			return 0, ErrBadChunk
		}
		if d.state == csEndLF {
			d.state = csDone
		} else {
			d.state = csTrailerStart
		}
	}
	return 1, nil
}

// unhex returns the value of the hex digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
