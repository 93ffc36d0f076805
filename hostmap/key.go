package hostmap

import "strings"

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
