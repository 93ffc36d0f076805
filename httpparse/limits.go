package httpparse

// Default limits, see Limits.
const (
	DefaultMaxHeadSize  = 16 << 10
	DefaultMaxURILength = 8 << 10
	DefaultMaxHeaders   = 100
)

// Bounds of the chunked coding, see ChunkedDecoder.
const (
	// MaxChunkLine is the longest chunk-size line accepted, in bytes, from
	// the first hex digit through the terminating CRLF, extensions included.
	MaxChunkLine = 4 << 10
	// MaxTrailerSize is the longest trailer section accepted, in bytes, from
	// the byte after the last-chunk line through the final CRLF.
	MaxTrailerSize = 16 << 10
)

// maxLeadingEmptyLines is how many empty lines (CRLF) before a request line
// are skipped (RFC 9112 §2.2); they count toward MaxHeadSize.
const maxLeadingEmptyLines = 4

// Limits bounds what a Parser accepts. A zero or negative field means its
// default.
type Limits struct {
	// MaxHeadSize is the longest head accepted, in bytes, from the first
	// byte (leading empty lines included) through the final CRLF CRLF.
	// Beyond it: ErrHeadTooLarge (431). Default 16 KiB.
	MaxHeadSize int
	// MaxURILength is the longest request target accepted, in bytes.
	// Beyond it: ErrURITooLong (414). Default 8 KiB.
	MaxURILength int
	// MaxHeaders is the largest number of field lines accepted. Beyond it:
	// ErrTooManyHeaders (431). Default 100.
	MaxHeaders int
}

// DefaultLimits returns the default limits: MaxHeadSize 16 KiB,
// MaxURILength 8 KiB, MaxHeaders 100.
func DefaultLimits() Limits {
	return Limits{
		MaxHeadSize:  DefaultMaxHeadSize,
		MaxURILength: DefaultMaxURILength,
		MaxHeaders:   DefaultMaxHeaders,
	}
}

// orDefault returns l with every zero or negative field set to its default.
func (l Limits) orDefault() Limits {
	if l.MaxHeadSize <= 0 {
		l.MaxHeadSize = DefaultMaxHeadSize
	}
	if l.MaxURILength <= 0 {
		l.MaxURILength = DefaultMaxURILength
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	return l
}
