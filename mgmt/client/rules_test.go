package client

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestClient(t *testing.T, answers ...answer) (*Client, *fakeAPI) {
	t.Helper()
	f := newFakeAPI(t, answers...)
	c, err := New(f.URL)
	require.NoError(t, err)
	return c, f
}

func TestRules(t *testing.T) {
	c, f := newTestClient(t, answer{Status: 200,
		Body: `{"ep.io": ["proxy", {"backends": [["10.0.0.2", 8000]]}, true], "http://ep.io": ["redirect",{"redirect_to":"https://ep.io"},true]}`})
	rules, err := c.Rules(t.Context())
	require.NoError(t, err)
	assert.Equal(t, map[string]json.RawMessage{
		"ep.io":        json.RawMessage(`["proxy", {"backends": [["10.0.0.2", 8000]]}, true]`),
		"http://ep.io": json.RawMessage(`["redirect",{"redirect_to":"https://ep.io"},true]`),
	}, rules)
	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, recorded{Method: "GET", URI: "/hostname/", Length: 0}, got[0])
}

func TestGet(t *testing.T) {
	tests := []struct {
		name, host, answer, wantURI, wantRule, wantErr string
	}{
		{name: "plain host", host: "ep.io", answer: `["empty",{"code":403},true]`,
			wantURI: "/hostname/ep.io/", wantRule: `["empty",{"code":403},true]`},
		{name: "protocol-qualified host", host: "http://ep.io", answer: ` ["spin",{},false] `,
			wantURI: "/hostname/http:%2F%2Fep.io/", wantRule: `["spin",{},false]`},
		{name: "no rule", host: "nope.io", answer: `null`, wantURI: "/hostname/nope.io/"},
		{name: "odd bytes are escaped", host: "a b?c#d%e", answer: `null`, wantURI: "/hostname/a%20b%3Fc%23d%25e/"},
		{name: "not a rule", host: "ep.io", answer: `{"x":1}`, wantURI: "/hostname/ep.io/", wantErr: "the rule is not a JSON array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newTestClient(t, answer{Status: 200, Body: tt.answer})
			rule, err := c.Get(t.Context(), tt.host)
			got := f.requests()
			require.Len(t, got, 1)
			assert.Equal(t, "GET", got[0].Method)
			assert.Equal(t, tt.wantURI, got[0].URI, "Get(%q): request target", tt.host)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err, "Get(%q)", tt.host)
			if tt.wantRule == "" {
				assert.Nil(t, rule, "Get(%q) with answer %s", tt.host, tt.answer)
				return
			}
			assert.Equal(t, tt.wantRule, string(rule), "Get(%q) with answer %s", tt.host, tt.answer)
		})
	}
}

func TestSet(t *testing.T) {
	parsed, err := actions.ParseRule([]byte(`["proxy",{"backends":["[::1]:8000"],"attempts":"3"},true]`))
	require.NoError(t, err)
	tests := []struct {
		name     string
		host     string
		rule     json.Marshaler
		wantURI  string
		wantBody string
	}{
		{name: "raw rule", host: "top-secret.com", rule: json.RawMessage(`["empty",{"code":"403"},true]`),
			wantURI: "/hostname/top-secret.com/", wantBody: `["empty",{"code":"403"},true]`},
		{name: "parsed rule", host: "http://ep.io", rule: parsed,
			wantURI: "/hostname/http:%2F%2Fep.io/", wantBody: `["proxy",{"attempts":3,"backends":[["::1",8000]]},true]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newTestClient(t)
			require.NoError(t, c.Set(t.Context(), tt.host, tt.rule), "Set(%q)", tt.host)
			got := f.requests()
			require.Len(t, got, 1)
			assert.Equal(t, recorded{Method: "PUT", URI: tt.wantURI, Body: tt.wantBody,
				ContentType: "application/json", Length: int64(len(tt.wantBody))}, got[0], "Set(%q)", tt.host)
		})
	}
}

func TestSetRefused(t *testing.T) {
	c, _ := newTestClient(t, answer{Status: 400, Body: `{"error":"host_option_missing","detail":"option \"code\" is required for action empty"}`})
	err := c.Set(t.Context(), "ep.io", json.RawMessage(`["empty",{},true]`))
	var se *ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "host_option_missing", se.API.Code)
	assert.Equal(t, `host_option_missing: option "code" is required for action empty`, err.Error())
}

func TestDelete(t *testing.T) {
	c, f := newTestClient(t)
	require.NoError(t, c.Delete(t.Context(), "http://ep.io"))
	got := f.requests()
	require.Len(t, got, 1)
	assert.Equal(t, recorded{Method: "DELETE", URI: "/hostname/http:%2F%2Fep.io/"}, got[0])
}

func TestReplace(t *testing.T) {
	const doc = `{"ep.io":["spin",{},true],"localhost":["empty",{"code":402},false]}`
	path := filepath.Join(t.TempDir(), "rules.json")
	require.NoError(t, os.WriteFile(path, []byte("xx"+doc), 0o600))
	tests := []struct {
		name       string
		body       func(t *testing.T) io.Reader
		wantLength int64
		wantChunks bool
	}{
		{name: "strings.Reader", body: func(*testing.T) io.Reader { return strings.NewReader(doc) }, wantLength: int64(len(doc))},
		{name: "file from its offset", body: func(t *testing.T) io.Reader {
			f, err := os.Open(path)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, f.Close(), "Replace must not close the file") })
			_, err = f.Seek(2, io.SeekStart)
			require.NoError(t, err)
			return f
		}, wantLength: int64(len(doc))},
		{name: "stream of unknown length", body: func(*testing.T) io.Reader {
			pr, pw := io.Pipe()
			go func() { _, _ = io.WriteString(pw, doc); _ = pw.Close() }()
			return pr
		}, wantLength: -1, wantChunks: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := newTestClient(t)
			require.NoError(t, c.Replace(t.Context(), tt.body(t)))
			got := f.requests()
			require.Len(t, got, 1)
			want := recorded{Method: "PUT", URI: "/hostname/", Body: doc, ContentType: "application/json", Length: tt.wantLength}
			if tt.wantChunks {
				want.Encoding = []string{"chunked"}
			}
			assert.Equal(t, want, got[0])
		})
	}
}

func TestReplaceRefused(t *testing.T) {
	c, _ := newTestClient(t, answer{Status: 400, Body: `{"error":"body_not_a_dict","detail":"the body must be a JSON object"}`})
	err := c.Replace(t.Context(), strings.NewReader(`[]`))
	var se *ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 400, se.Status)
	assert.Equal(t, "body_not_a_dict", se.API.Code)
}

// TestPreconditions checks that GetETag, SetIf and DeleteIf send
// If-Match / If-None-Match and return the answer's ETag, and that a 412
// comes back as a *ServerError with code precondition_failed.
func TestPreconditions(t *testing.T) {
	f := newFakeAPI(t,
		answer{Status: 200, Body: `["empty",{},true]`, ETag: `"4"`},
		answer{Status: 200, Body: `{"ok":true}`, ETag: `"5"`},
		answer{Status: 200, Body: `{"ok":true}`, ETag: `"6"`},
		answer{Status: 200, Body: `{"ok":true}`, ETag: `"7"`},
		answer{Status: 412, Body: `{"error":"precondition_failed","detail":"the rule of ep.io is now at ETag \"7\"; nothing changed"}`},
	)
	c, err := New(f.URL)
	require.NoError(t, err)
	rule, etag, err := c.GetETag(t.Context(), "ep.io")
	require.NoError(t, err)
	assert.JSONEq(t, `["empty",{},true]`, string(rule))
	assert.Equal(t, `"4"`, etag)
	etag, err = c.SetIf(t.Context(), "ep.io", json.RawMessage(`["empty",{},true]`), Precondition{IfMatch: etag})
	require.NoError(t, err)
	assert.Equal(t, `"5"`, etag, "SetIf returns the new ETag")
	etag, err = c.SetIf(t.Context(), "new.io", json.RawMessage(`["empty",{},true]`), Precondition{IfNoneMatch: true})
	require.NoError(t, err)
	assert.Equal(t, `"6"`, etag)
	etag, err = c.DeleteIf(t.Context(), "new.io", Precondition{IfMatch: "*"})
	require.NoError(t, err)
	assert.Equal(t, `"7"`, etag)
	_, err = c.SetIf(t.Context(), "ep.io", json.RawMessage(`["empty",{},true]`), Precondition{IfMatch: `"4"`})
	var se *ServerError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 412, se.Status)
	assert.Equal(t, api.CodePreconditionFailed, se.API.Code)

	got := f.requests()
	require.Len(t, got, 5)
	want := []struct{ method, ifMatch, ifNoneMatch string }{
		{"GET", "", ""}, {"PUT", `"4"`, ""}, {"PUT", "", "*"}, {"DELETE", "*", ""}, {"PUT", `"4"`, ""},
	}
	for i, w := range want {
		assert.Equal(t, w.method, got[i].Method, "request %d", i)
		assert.Equal(t, w.ifMatch, got[i].IfMatch, "request %d: If-Match", i)
		assert.Equal(t, w.ifNoneMatch, got[i].IfNoneMatch, "request %d: If-None-Match", i)
	}
}
