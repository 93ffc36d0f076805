package hostmap

import (
	"strings"
	"unsafe"
)

// kind says which logical table a key lives in. Its value is the length of
// the key's protocol prefix, so a key's hostname is key[kind:].
type kind uint8

const (
	kindBare  kind = 0                     // "ep.io"
	kindHTTP  kind = kind(len("http://"))  // "http://ep.io"
	kindHTTPS kind = kind(len("https://")) // "https://ep.io"
)

// prefix returns the protocol prefix of keys of kind k.
func (k kind) prefix() string {
	switch k {
	case kindHTTP:
		return "http://"
	case kindHTTPS:
		return "https://"
	}
	return ""
}

// splitKey splits a normalised key into its kind and its hostname. All
// kinds of one hostname share its hash, so a lookup hashes a suffix once and
// finds both the protocol-qualified and the bare key in one probe sequence.
func splitKey(key string) (kind, string) {
	switch {
	case strings.HasPrefix(key, "https://"):
		return kindHTTPS, key[kindHTTPS:]
	case strings.HasPrefix(key, "http://"):
		return kindHTTP, key[kindHTTP:]
	}
	return kindBare, key
}

// code returns k as the two bits a slot keeps: 0 bare, 1 http, 2 https.
func (k kind) code() uint8 {
	switch k {
	case kindHTTP:
		return 1
	case kindHTTPS:
		return 2
	}
	return 0
}

// fromCode turns a slot's two kind bits back into a kind.
func (k kind) fromCode() kind {
	switch k {
	case 1:
		return kindHTTP
	case 2:
		return kindHTTPS
	}
	return kindBare
}

// bytesOf returns s's bytes without copying them, for lookups that take a
// []byte. The caller must not modify them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// view returns b as a string without copying it, for a call that does not
// keep the string.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
