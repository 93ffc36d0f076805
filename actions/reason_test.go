package actions

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReasonPhrase(t *testing.T) {
	// Where RFC 9110 or IANA differ from net/http's table.
	differ := map[int]string{
		104: "",                      // temporary IANA registration
		306: "",                      // "(Unused)"
		413: "Content Too Large",     // RFC 9110 §15.5.14
		414: "URI Too Long",          // RFC 9110 §15.5.15
		416: "Range Not Satisfiable", // RFC 9110 §15.5.17
		418: "",                      // "(Unused)", RFC 9110 §15.5.19
		422: "Unprocessable Content", // RFC 9110 §15.5.21
	}
	for code := -1; code <= 1000; code++ {
		want, ok := differ[code]
		if !ok {
			want = http.StatusText(code)
		}
		assert.Equal(t, want, ReasonPhrase(code), "code %d", code)
	}
}
