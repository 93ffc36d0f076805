package mgmt

import (
	"net/http"
	"strconv"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/api"
)

// streamChunk is how many bytes a streamed answer gathers before each
// write to the connection.
const streamChunk = 32 << 10

// maxSafeText bounds how much of an untrusted string an error or a log line
// shows.
const maxSafeText = 256

// statusOf maps an error code to its HTTP status. Every code that is not
// one of the API's own is a rule validation code from actions: 400.
func statusOf(code string) int {
	switch code {
	case api.CodeNotFound:
		return http.StatusNotFound
	case api.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case api.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case api.CodeUnsupportedType:
		return http.StatusUnsupportedMediaType
	case api.CodeInternal:
		return http.StatusInternalServerError
	case api.CodeUnauthorized:
		return http.StatusUnauthorized
	case api.CodeHostNotAllowed:
		return http.StatusForbidden
	case api.CodePreconditionFailed:
		return http.StatusPreconditionFailed
	case api.CodeStoreUnavailable, api.CodeFleetUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// jsonHeader sets the headers every answer carries.
func jsonHeader(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// writeBody sends a complete small answer and returns its status.
func writeBody(w http.ResponseWriter, status int, body []byte) int {
	jsonHeader(w)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	return status
}

// writeJSON sends v, encoded by sonic, with status 200.
func writeJSON(w http.ResponseWriter, v any) int {
	body, err := sonic.Marshal(v)
	if err != nil {
		return writeError(w, &api.Error{Code: api.CodeInternal, Detail: "cannot encode the answer"})
	}
	return writeBody(w, http.StatusOK, body)
}

// writeOK sends {"ok": true}, the answer to a successful write.
func writeOK(w http.ResponseWriter) int { return writeJSON(w, api.OK{OK: true}) }

// writeError sends e with its code's status. Detail and Host pass through
// safeText, so no raw byte of the request comes back.
func writeError(w http.ResponseWriter, e *api.Error) int {
	e.Detail, e.Host = safeText(e.Detail), safeText(e.Host)
	body, err := sonic.Marshal(e)
	if err != nil {
		body = []byte(`{"error":"` + api.CodeInternal + `"}`)
	}
	return writeBody(w, statusOf(e.Code), body)
}

// ruleError turns an actions.RuleError into an API error about host.
func ruleError(re actions.RuleError, host string) *api.Error {
	return &api.Error{Code: re.Code, Detail: re.Detail, Host: host}
}

// safeText returns s when it is short printable ASCII, else s quoted with
// strconv.QuoteToASCII and cut to maxSafeText bytes, so that no control or
// non-ASCII byte from a request reaches an answer or a log raw.
func safeText(s string) string {
	if len(s) <= maxSafeText {
		plain := true
		for i := 0; i < len(s) && plain; i++ {
			plain = s[i] >= 0x20 && s[i] < 0x7f
		}
		if plain {
			return s
		}
	}
	if len(s) > maxSafeText/4 {
		return strconv.QuoteToASCII(s[:maxSafeText/4]) + "..."
	}
	return strconv.QuoteToASCII(s)
}

// appendKey appends a normalised rule key as a JSON string. NormalizeKey
// output holds only letters, digits and "-_.:/[]", none of which JSON
// escapes.
func appendKey(dst []byte, key string) []byte {
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"')
}

// appendCounts appends c as the API's stats object.
func appendCounts(dst []byte, c actions.Counts) []byte {
	dst = append(dst, `{"open_requests":`...)
	dst = strconv.AppendInt(dst, c.OpenRequests, 10)
	dst = append(dst, `,"completed_requests":`...)
	dst = strconv.AppendInt(dst, c.CompletedRequests, 10)
	dst = append(dst, `,"bytes_sent":`...)
	dst = strconv.AppendInt(dst, c.BytesSent, 10)
	dst = append(dst, `,"bytes_received":`...)
	dst = strconv.AppendInt(dst, c.BytesReceived, 10)
	return append(dst, '}')
}

// stream writes a large 200 answer a chunk at a time: it calls each for
// every index below n, which appends to the buffer, and writes the buffer
// whenever it passes streamChunk. It returns the first write error (the
// client went away).
func stream(w http.ResponseWriter, r *http.Request, n int, each func(dst []byte, i int) []byte) error {
	jsonHeader(w)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	buf := make([]byte, 0, streamChunk+4096)
	buf = append(buf, '{')
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = each(buf, i)
		if len(buf) >= streamChunk {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, '}')
	_, err := w.Write(buf)
	return err
}
