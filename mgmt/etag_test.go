package mgmt

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doWith is do with request headers.
func doWith(h http.Handler, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://localhost:8042"+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestAPIETags checks ETag on GET, PUT and DELETE of one host and the
// answers to If-Match and If-None-Match, each case against newTestServer's
// rules, all at revision 1: a refused write answers 412 or 400 and
// changes nothing.
func TestAPIETags(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code                     string // the error code, for a refusal
		detail                   string // the error detail, when checked
		etag                     string // the answer's ETag; "" for none
	}{
		{"get", "GET", "/hostname/ep.io/", "", nil, 200, "", "", `"1"`},
		{"head", "HEAD", "/hostname/ep.io/", "", nil, 200, "", "", `"1"`},
		{"get absent", "GET", "/hostname/nope.io/", "", nil, 200, "", "", ""},
		{"put", "PUT", "/hostname/ep.io/", emptyRule, nil, 200, "", "", `"2"`},
		{"put if-match current", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `"1"`}, 200, "", "", `"2"`},
		{"put if-match padded", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": ` "1"	`}, 200, "", "", `"2"`},
		{"put if-match any", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `*`}, 200, "", "", `"2"`},
		{"put if-none-match absent", "PUT", "/hostname/new.io/", emptyRule, map[string]string{"If-None-Match": `*`}, 200, "", "", `"2"`},
		{"put if-match stale", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `"7"`}, 412, api.CodePreconditionFailed,
			`the rule of ep.io is now at ETag "1"; nothing changed`, ""},
		{"put if-match absent", "PUT", "/hostname/new.io/", emptyRule, map[string]string{"If-Match": `*`}, 412, api.CodePreconditionFailed,
			"new.io has no rule; nothing changed", ""},
		{"put if-none-match present", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-None-Match": `*`}, 412, api.CodePreconditionFailed, "", ""},
		{"put if-match weak", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `W/"1"`}, 412, api.CodePreconditionFailed, "", ""},
		{"put if-match foreign tag", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `"abc"`}, 412, api.CodePreconditionFailed, "", ""},
		{"put if-match zero", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `"0"`}, 412, api.CodePreconditionFailed, "", ""},
		{"put if-match unquoted", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `1`}, 400, api.CodePreconditionInvalid, "", ""},
		{"put if-match empty", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": ``}, 400, api.CodePreconditionInvalid, "", ""},
		{"put if-match list", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": `"1", "2"`}, 400, api.CodePreconditionInvalid,
			"If-Match lists more than one entity-tag; Mantrid takes one", ""},
		{"put if-match control byte", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": "\"1\x01\""}, 400, api.CodePreconditionInvalid, "", ""},
		{"put if-none-match tag", "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-None-Match": `"1"`}, 400, api.CodePreconditionInvalid, "", ""},
		{"put bad rule first", "PUT", "/hostname/ep.io/", `["nope",{},true]`, map[string]string{"If-Match": `"7"`}, 400, "host_action_invalid", "", ""},
		{"delete", "DELETE", "/hostname/ep.io/", "", nil, 200, "", "", `"2"`},
		{"delete if-match current", "DELETE", "/hostname/ep.io/", "", map[string]string{"If-Match": `"1"`}, 200, "", "", `"2"`},
		{"delete absent", "DELETE", "/hostname/nope.io/", "", nil, 200, "", "", ""},
		{"delete absent if-none-match", "DELETE", "/hostname/nope.io/", "", map[string]string{"If-None-Match": "*"}, 200, "", "", ""},
		{"delete if-match stale", "DELETE", "/hostname/ep.io/", "", map[string]string{"If-Match": `"2"`}, 412, api.CodePreconditionFailed, "", ""},
		{"delete absent if-match", "DELETE", "/hostname/nope.io/", "", map[string]string{"If-Match": "*"}, 412, api.CodePreconditionFailed, "", ""},
		{"delete if-match malformed", "DELETE", "/hostname/ep.io/", "", map[string]string{"If-Match": `"1`}, 400, api.CodePreconditionInvalid, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, r := newTestServer(t, ServerOptions{})
			before := r.rules()
			w := doWith(s.Handler(), tt.method, tt.path, tt.body, tt.header)
			assert.Equal(t, tt.status, w.Code, "%s %s %v: status; body %s", tt.method, tt.path, tt.header, w.Body)
			assert.Equal(t, tt.etag, w.Header().Get("ETag"), "%s %s %v: ETag", tt.method, tt.path, tt.header)
			if tt.code == "" {
				return
			}
			var e api.Error
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), "body %s", w.Body)
			assert.Equal(t, tt.code, e.Code, "%s %s %v: code", tt.method, tt.path, tt.header)
			if tt.detail != "" {
				assert.Equal(t, tt.detail, e.Detail, "%s %s %v: detail", tt.method, tt.path, tt.header)
			}
			assert.Equal(t, before, r.rules(), "a refused write changes nothing")
		})
	}
}

// TestAPIETagLostUpdate plays the read-modify-write a client does: two
// clients read one ETag; the first write wins, the second gets 412, reads
// again and then wins. The ETag of each answer is the one a GET gives.
func TestAPIETagLostUpdate(t *testing.T) {
	s, r := newTestServer(t, ServerOptions{})
	h := s.Handler()
	etag := doWith(h, "GET", "/hostname/ep.io/", "", nil).Header().Get("ETag")
	require.NotEmpty(t, etag)

	w := doWith(h, "PUT", "/hostname/ep.io/", emptyRule, map[string]string{"If-Match": etag})
	require.Equal(t, 200, w.Code, "first writer: %s", w.Body)
	first := w.Header().Get("ETag")
	assert.NotEqual(t, etag, first, "a new ETag")
	assert.Equal(t, first, doWith(h, "GET", "/hostname/ep.io/", "", nil).Header().Get("ETag"), "GET gives the PUT's ETag")

	w = doWith(h, "PUT", "/hostname/ep.io/", redirectRule, map[string]string{"If-Match": etag})
	require.Equal(t, 412, w.Code, "second writer with the old ETag: %s", w.Body)
	assert.Equal(t, emptyRule, r.get("ep.io"), "the first writer's rule stays")

	w = doWith(h, "PUT", "/hostname/ep.io/", redirectRule, map[string]string{"If-Match": first})
	require.Equal(t, 200, w.Code, "second writer after a new GET: %s", w.Body)
	assert.Equal(t, redirectRule, r.get("ep.io"))
}

// TestAPIETagRace has many clients PUT or DELETE one host with the same
// If-Match at once: exactly one gets 200, the others 412.
func TestAPIETagRace(t *testing.T) {
	const clients = 16
	s, r := newTestServer(t, ServerOptions{})
	h := s.Handler()
	for round := range 10 {
		etag := doWith(h, "GET", "/hostname/ep.io/", "", nil).Header().Get("ETag")
		require.NotEmpty(t, etag, "round %d", round)
		codes := make([]int, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				method, body := "PUT", fmt.Sprintf(`["empty",{"code":%d},false]`, 300+i)
				if i == 0 {
					method, body = "DELETE", ""
				}
				codes[i] = doWith(h, method, "/hostname/ep.io/", body, map[string]string{"If-Match": etag}).Code
			})
		}
		wg.Wait()
		won := 0
		for i, c := range codes {
			switch c {
			case 200:
				won++
			case 412:
			default:
				t.Errorf("round %d: client %d got %d", round, i, c)
			}
		}
		assert.Equal(t, 1, won, "round %d: winners among %v", round, codes)
		r.replace(t, map[string]string{"ep.io": proxyRule})
	}
}

// TestAPIStoreUnavailable checks that a store that cannot commit gives
// 503 store_unavailable.
func TestAPIStoreUnavailable(t *testing.T) {
	s := NewServer(hostmap.New(1), downStore{}, ServerOptions{})
	for _, m := range []string{"PUT", "DELETE"} {
		w := doWith(s.Handler(), m, "/hostname/ep.io/", emptyRule, nil)
		assert.Equal(t, http.StatusServiceUnavailable, w.Code, "%s: %s", m, w.Body)
		assert.Contains(t, w.Body.String(), `"error":"store_unavailable"`, m)
		assert.Empty(t, w.Header().Get("ETag"), m)
	}
}
