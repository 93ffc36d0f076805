package httpparse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// classOf computes the classes of c from their RFC definitions.
func classOf(c int) uint8 {
	alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	digit := c >= '0' && c <= '9'
	var v uint8
	if alpha || digit || strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
		v |= cToken // RFC 9110 §5.6.2
	}
	if c >= 0x21 && c <= 0x7e && c != '#' {
		v |= cTarget
	}
	if c == '\t' || c >= 0x20 && c <= 0x7e || c >= 0x80 {
		v |= cValue // RFC 9110 §5.5
		if c != '"' && c != '\\' {
			v |= cQDText // RFC 9110 §5.6.4
		}
	}
	if digit || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' {
		v |= cHex
	}
	if alpha || digit || strings.ContainsRune("-._~!$&'()*+,;=", rune(c)) {
		v |= cRegName // RFC 3986 §3.2.2
	}
	return v
}

func TestCharClass(t *testing.T) {
	for c := range 256 {
		assert.Equal(t, classOf(c), charClass[c], "class of byte 0x%02x", c)
	}
}

func TestEqualFold(t *testing.T) {
	assert.True(t, equalFold([]byte("Content-LENGTH"), "content-length"))
	assert.False(t, equalFold([]byte("content-lengtH2"), "content-length"))
	assert.False(t, equalFold([]byte("host"), "hosT"), "lowerCase must be lower case")
	assert.False(t, equalFold([]byte("\x08ost"), "host"))
	assert.True(t, equalFoldBytes([]byte("Ab-1"), []byte("aB-1")))
	assert.False(t, equalFoldBytes([]byte("@"), []byte("`")))
	for c := range 256 {
		want := byte(c)
		if c >= 'A' && c <= 'Z' {
			want = byte(c) + 32
		}
		assert.Equal(t, want, lower(byte(c)), "lower(0x%02x)", c)
	}
	for c := range 256 {
		if isHex(byte(c)) {
			assert.Equal(t, strings.IndexByte("0123456789abcdef", lower(byte(c))), int(unhex(byte(c))), "unhex(%q)", c)
		}
	}
}

func TestSkipWordAtATime(t *testing.T) {
	// Every byte value at every position of a 20-byte run must stop both
	// scanners exactly where the byte-wise scan stops.
	for c := range 256 {
		for pos := range 20 {
			b := []byte(strings.Repeat("a", 20))
			b[pos] = byte(c)
			for start := range 3 {
				assert.Equal(t, skipClass(b, start, cValue), skipValue(b, start), "skipValue byte 0x%02x at %d from %d", c, pos, start)
				assert.Equal(t, skipClass(b, start, cTarget), skipTarget(b, start), "skipTarget byte 0x%02x at %d from %d", c, pos, start)
			}
		}
	}
}
