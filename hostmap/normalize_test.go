package hostmap

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// normalizeCase is one input of Normalize or NormalizeKey and its
// expected canonical form; want "" means the input is rejected.
type normalizeCase struct {
	name string
	in   string
	want string
}

// longNames returns a label of MaxLabelLen bytes and a hostname of
// MaxHostLen bytes.
func longNames() (label63, host253 string) {
	label63 = strings.Repeat("a", MaxLabelLen)
	return label63, strings.Repeat(label63+".", 3) + strings.Repeat("b", 61) // 3*64+61 = 253
}

func normalizeCases() []normalizeCase {
	label63, host253 := longNames()
	return []normalizeCase{
		{"plain", "ep.io", "ep.io"},
		{"upper case", "EP.Io", "ep.io"},
		{"port", "ep.io:8080", "ep.io"},
		{"empty port", "ep.io:", "ep.io"},
		{"trailing dot", "ep.io.", "ep.io"},
		{"trailing dot and port", "Ep.IO.:80", "ep.io"},
		{"single label", "localhost", "localhost"},
		{"hyphen and underscore", "My-App_1.ep.io", "my-app_1.ep.io"},
		{"IPv4", "10.0.0.1:80", "10.0.0.1"},
		{"IPv6 with port", "[::1]:80", "[::1]"},
		{"IPv6 bare", "[::1]", "[::1]"},
		{"IPv6 upper case", "[2001:DB8::A]:443", "[2001:db8::a]"},
		{"IPv6 with IPv4 tail", "[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]"},
		{"IPv6 empty port", "[::1]:", "[::1]"},
		{"label of 63", label63 + ".io", label63 + ".io"},
		{"host of 253", host253, host253},
		{"host of 253 with trailing dot", host253 + ".", host253},
		{"empty", "", ""},
		{"only port", ":80", ""},
		{"only dot", ".", ""},
		{"two trailing dots", "ep.io..", ""},
		{"empty label", "a..b", ""},
		{"leading dot", ".ep.io", ""},
		{"space", "ep io", ""},
		{"letter in port", "ep.io:8o", ""},
		{"two colons", "a:b:80", ""},
		{"path", "ep.io/x", ""},
		{"userinfo", "user@ep.io", ""},
		{"NUL", "ep\x00.io", ""},
		{"CR", "ep.io\r", ""},
		{"UTF-8", "\xc3\xa9.com", ""},
		{"high byte", "\xff", ""},
		{"star", "*.ep.io", ""},
		{"label of 64", strings.Repeat("a", 64) + ".io", ""},
		{"host of 254", host253 + "b", ""},
		{"IPv6 unclosed", "[::1", ""},
		{"IPv6 junk after bracket", "[::1]x", ""},
		{"IPv6 bad port", "[::1]:8a", ""},
		{"IPv6 bad char", "[::g]", ""},
		{"IPv6 empty", "[]", ""},
		{"IPv6 without colon", "[1.2.3.4]", ""},
		{"IPv6 zone", "[fe80::1%25eth0]", ""},
		{"IPv6 unbracketed", "::1", ""},
		{"IPv6 trailing dot", "[::1].", ""},
		{"IPv6 too long", "[" + strings.Repeat("1", 50) + ":]", ""},
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeCases() {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("keep:")
			got, ok := Normalize(prefix, []byte(tc.in))
			if tc.want == "" {
				assert.False(t, ok, "Normalize(%q) = %q, want rejection", tc.in, got)
				assert.Equal(t, "keep:", string(got), "Normalize(%q) must leave dst unchanged on rejection", tc.in)
				return
			}
			assert.True(t, ok, "Normalize(%q) rejected, want %q", tc.in, tc.want)
			assert.Equal(t, "keep:"+tc.want, string(got), "Normalize(%q)", tc.in)
		})
	}
}

func normalizeKeyCases() []normalizeCase {
	label63, host253 := longNames()
	return []normalizeCase{
		{"bare", "ep.io", "ep.io"},
		{"label of 63", "http://" + label63 + ".io", "http://" + label63 + ".io"},
		{"upper case", "EP.IO", "ep.io"},
		{"trailing dot", "ep.io.", "ep.io"},
		{"http", "http://ep.io", "http://ep.io"},
		{"https", "https://ep.io", "https://ep.io"},
		{"prefix case", "HtTpS://Ep.Io.", "https://ep.io"},
		{"HTTP prefix", "HTTP://ep.io", "http://ep.io"},
		{"single label", "localhost", "localhost"},
		{"IPv4", "10.0.0.1", "10.0.0.1"},
		{"IPv6", "[::1]", "[::1]"},
		{"IPv6 with prefix", "http://[2001:DB8::1]", "http://[2001:db8::1]"},
		{"IPv4-mapped IPv6", "[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]"},
		{"host of 253", host253, host253},
		{"host of 253 with prefix", "https://" + host253 + ".", "https://" + host253},
		{"empty", "", ""},
		{"prefix only", "http://", ""},
		{"port", "ep.io:80", ""},
		{"path", "ep.io/path", ""},
		{"trailing slash", "http://ep.io/", ""},
		{"userinfo", "user@ep.io", ""},
		{"space", "ep io", ""},
		{"leading space", " ep.io", ""},
		{"newline", "ep.io\n", ""},
		{"control byte", "ep\x7f.io", ""},
		{"other scheme", "ftp://ep.io", ""},
		{"double prefix", "http://http://ep.io", ""},
		{"scheme without slashes", "http:ep.io", ""},
		{"IPv6 with port", "[::1]:80", ""},
		{"IPv6 not canonical", "[0::1]", ""},
		{"IPv6 leading zeros", "[2001:0db8::1]", ""},
		{"IPv6 zone", "[fe80::1%eth0]", ""},
		{"IPv6 invalid", "[1:2]", ""},
		{"IPv4 in brackets", "[1.2.3.4]", ""},
		{"IPv6 unbracketed", "::1", ""},
		{"empty label", "a..b", ""},
		{"two trailing dots", "ep.io..", ""},
		{"wildcard", "*.ep.io", ""},
		{"label of 64", strings.Repeat("a", 64) + ".io", ""},
		{"host of 254", host253 + "b", ""},
	}
}

func TestNormalizeKey(t *testing.T) {
	for _, tc := range normalizeKeyCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeKey(tc.in)
			if tc.want == "" {
				require.Error(t, err, "NormalizeKey(%q) = %q, want ErrBadKey", tc.in, got)
				assert.ErrorIs(t, err, ErrBadKey, "NormalizeKey(%q)", tc.in)
				assert.Empty(t, got, "NormalizeKey(%q) result on error", tc.in)
				if len(tc.in) > 3 {
					assert.NotContains(t, err.Error(), tc.in, "the error must not echo the key")
				}
				return
			}
			require.NoError(t, err, "NormalizeKey(%q), want %q", tc.in, tc.want)
			assert.Equal(t, tc.want, got, "NormalizeKey(%q)", tc.in)
			again, err := NormalizeKey(got)
			require.NoError(t, err, "NormalizeKey(%q) of its own output", got)
			assert.Equal(t, got, again, "NormalizeKey is not idempotent on %q", got)
		})
	}
}

// TestNormalizeAgreesWithNormalizeKey checks that a request host and the
// rule key written the same way meet in one canonical string.
func TestNormalizeAgreesWithNormalizeKey(t *testing.T) {
	for _, in := range []string{"Ep.IO.", "localhost", "[2001:DB8::1]", "10.0.0.1", "My_App.EP.io"} {
		key, err := NormalizeKey(in)
		require.NoError(t, err, "NormalizeKey(%q)", in)
		host, ok := Normalize(nil, []byte(in))
		require.True(t, ok, "Normalize(%q)", in)
		assert.Equal(t, key, string(host), "input %q", in)
	}
}
