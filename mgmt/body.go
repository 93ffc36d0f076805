package mgmt

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

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
		return "", unreadable(err)
	}
	return b.String(), nil
}

// errBodyStalled is the read error of a request body that paused for
// longer than ServerOptions.BodyTimeout.
var errBodyStalled = errors.New("no byte of the body arrived in time")

// unreadable returns the API error of a body that could not be read to
// its end because of err.
func unreadable(err error) *api.Error {
	detail := "the body could not be read to its end"
	if errors.Is(err, errBodyStalled) {
		detail += ": " + errBodyStalled.Error()
	}
	return &api.Error{Code: api.CodeBodyUnreadable, Detail: detail}
}

// watchBody bounds the pauses in r's body, if it has one: the connection's
// read deadline is BodyTimeout ahead from now, and moves BodyTimeout ahead
// of each read of the body, so that a body may take as long as it needs
// while its bytes keep coming, but one that stops is cut off (net/http's
// ReadTimeout would bound the whole body instead, and cut a large upload
// on a slow link). Once the body has been read to its end, the read
// deadline is lifted (net/http then watches the connection for a close,
// which must not time out under a long bulk replace), and the write
// deadline moves WriteTimeout ahead: the answer's time starts when the
// body is in. Outside a net/http server (a test's recorder), nothing is
// watched.
func (s *Server) watchBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout)) != nil {
		return
	}
	r.Body = &watchedBody{body: r.Body, rc: rc, pause: s.opts.BodyTimeout, write: s.opts.WriteTimeout}
}

// watchedBody is a request body whose reads each move the connection's
// read deadline (see watchBody). It is read by one goroutine, the
// handler's.
type watchedBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	pause time.Duration // BodyTimeout
	write time.Duration // WriteTimeout
	done  bool          // the body ended or failed: deadlines are no longer moved
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.done {
		return b.body.Read(p)
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(b.pause))
	n, err := b.body.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
		_ = b.rc.SetWriteDeadline(time.Now().Add(b.write))
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.done = true
		err = errBodyStalled
	default:
		b.done = true
	}
	return n, err
}

func (b *watchedBody) Close() error { return b.body.Close() }
