package mgmt

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mantrid/mantrid/mgmt/api"
)

// readChunk is the largest read from a request body.
const readChunk = 32 << 10

// readBody reads r's body, at most limit bytes, into a string without
// copying it twice (the bulk decoder reads strings). A body over limit,
// announced or not, gives 413 body_too_large; a body that cannot be read
// to its end gives 400 body_unreadable.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (string, *api.Error) {
	tooLarge := &api.Error{Code: api.CodeBodyTooLarge,
		Detail: "the body is over the limit of " + strconv.FormatInt(limit, 10) + " bytes"}
	if r.ContentLength > limit {
		return "", tooLarge
	}
	var b strings.Builder
	chunk := int64(readChunk)
	if r.ContentLength >= 0 {
		b.Grow(int(r.ContentLength))
		chunk = min(chunk, r.ContentLength+1) // +1 to see the end
	}
	if _, err := io.CopyBuffer(&b, http.MaxBytesReader(w, r.Body, limit), make([]byte, chunk)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "", tooLarge
		}
		return "", &api.Error{Code: api.CodeBodyUnreadable, Detail: "the body could not be read to its end"}
	}
	return b.String(), nil
}
