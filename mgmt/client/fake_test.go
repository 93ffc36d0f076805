package client

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// recorded is one request as the fake API received it.
type recorded struct {
	Method      string
	URI         string // the request target as sent, escapes intact
	Body        string
	ContentType string
	Length      int64    // Content-Length; -1 when the body came chunked
	Encoding    []string // Transfer-Encoding
	IfMatch     string
	IfNoneMatch string
}

// answer is what the fake API sends back.
type answer struct {
	Status int
	Body   string
	ETag   string
}

// fakeAPI is a scripted stand-in for Mantrid's REST API: it records every
// request and answers each with the next scripted answer (the last one
// repeats).
type fakeAPI struct {
	*httptest.Server
	mu      sync.Mutex
	answers []answer
	got     []recorded
}

func newFakeAPI(t *testing.T, answers ...answer) *fakeAPI {
	t.Helper()
	f := &fakeAPI{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, recorded{
		Method: r.Method, URI: r.RequestURI, Body: string(body),
		ContentType: r.Header.Get("Content-Type"), Length: r.ContentLength,
		Encoding: r.TransferEncoding, IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match"),
	})
	a := answer{Status: http.StatusOK, Body: `{"ok":true}`}
	if len(f.answers) > 0 {
		a = f.answers[0]
		if len(f.answers) > 1 {
			f.answers = f.answers[1:]
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if a.ETag != "" {
		w.Header().Set("ETag", a.ETag)
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// requests returns the requests received so far.
func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.got...)
}
