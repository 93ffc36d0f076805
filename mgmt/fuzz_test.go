package mgmt

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/api"
)

// knownCodes are the codes a PUT may answer with.
func knownCodes() map[string]bool {
	return map[string]bool{
		api.CodeBadJSON: true, api.CodeBodyNotADict: true, api.CodeHostnameInvalid: true, api.CodeHostnameDuplicate: true,
		actions.CodeHostDetailsNotList: true, actions.CodeHostDetailsWrongLength: true, actions.CodeHostActionInvalid: true,
		actions.CodeHostKwargsNotDict: true, actions.CodeHostMatchSubdomainsNotBool: true, actions.CodeHostOptionUnknown: true,
		actions.CodeHostOptionMissing: true, actions.CodeHostOptionInvalid: true,
	}
}

// FuzzBulkPut sends any body to PUT /hostname/ and checks: the answer is
// 200 or a 400 with a known code and no control bytes; a refused body
// changes nothing; an accepted one holds exactly the rules that
// encoding/json and actions.ParseRuleValue read from it, and GET gives
// them back.
func FuzzBulkPut(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"a.io":["spin",{},true]}`, `{"A.io.":["spin",{},true],"a.io":["spin",{},true]}`,
		`{"http://a.io":["redirect",{"redirect_to":"b.io"},false],"a.io":["proxy",{"backends":["x:1"]},true]}`,
		`{"a\u0000":["spin",{},true]}`, `{"a.io":["empty",{"code":"200"},false]} `, `{"a.io":[`, bulkBody(7),
	} {
		f.Add(s)
	}
	codes := knownCodes()
	f.Fuzz(func(t *testing.T, body string) {
		s, store := newTestServer(t, ServerOptions{})
		before := store.rules()
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest("PUT", "http://localhost/hostname/", strings.NewReader(body)))
		if bytes.ContainsFunc(w.Body.Bytes(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("body %q: answer %q holds control bytes", body, w.Body)
		}
		if w.Code != 200 {
			var e api.Error
			if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &e) != nil || !codes[e.Code] {
				t.Fatalf("body %q: answer %d %s", body, w.Code, w.Body)
			}
			if got := store.rules(); len(got) != len(before) {
				t.Fatalf("body %q: refused, yet the rules changed to %v", body, got)
			}
			return
		}
		want := stdRules(t, body)
		got := store.rules()
		if len(got) != len(want) {
			t.Fatalf("body %q: %d rules stored, encoding/json reads %d", body, len(got), len(want))
		}
		for k, r := range want {
			if js := string(r.AppendJSON(nil)); got[k] != js {
				t.Fatalf("body %q: rule %q is %s, want %s", body, k, got[k], js)
			}
		}
		g := httptest.NewRecorder()
		s.Handler().ServeHTTP(g, httptest.NewRequest("GET", "http://localhost/hostname/", nil))
		back, _, e := s.decodeRules(httptest.NewRecorder(), httptest.NewRequest("PUT", "http://localhost/hostname/", strings.NewReader(g.Body.String())), nil)
		if e != nil || back.Len() != len(want) {
			t.Fatalf("body %q: GET gives %q, which reads back wrong (%v)", body, g.Body, e)
		}
	})
}

// stdRules reads a bulk body with encoding/json, which must accept it.
func stdRules(t *testing.T, body string) map[string]*actions.Rule {
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %q: accepted, but encoding/json says %v", body, err)
	}
	out := map[string]*actions.Rule{}
	for name, v := range m {
		key, err := hostmap.NormalizeKey(name)
		if err != nil {
			t.Fatalf("body %q: accepted with key %q: %v", body, name, err)
		}
		r, err := actions.ParseRuleValue(v)
		if err != nil {
			t.Fatalf("body %q: accepted with rule %q: %v", body, name, err)
		}
		out[key] = r
	}
	return out
}

// FuzzPath sends any escaped path with each method and checks: no panic;
// the status is one the API uses; the answer is JSON without control
// bytes; a 200 PUT stores the rule under the key the path names.
func FuzzPath(f *testing.F) {
	for _, p := range []string{
		"/hostname/", "/hostname/ep.io", "/hostname/http://EP.io/", "/hostname/http:%2F%2Fep.io", "/stats/unknown",
		"/hostname//", "/hostname/a%00b/", "/hostname/%zz", "/Stats/a/b", "/hostname/[::1]/", "*", "",
	} {
		f.Add(p, uint8(0))
	}
	f.Fuzz(func(t *testing.T, path string, m uint8) {
		method := [...]string{"GET", "PUT", "DELETE", "POST", "HEAD"}[int(m)%5]
		s, store := newTestServer(t, ServerOptions{})
		req := httptest.NewRequest(method, "http://localhost/", strings.NewReader(emptyRule))
		req.URL.Path, req.URL.RawPath = path, path
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		switch w.Code {
		case 200, 400, 404, 405:
		default:
			t.Fatalf("%s %q: status %d", method, path, w.Code)
		}
		if method != "HEAD" && (!json.Valid(w.Body.Bytes()) ||
			bytes.ContainsFunc(w.Body.Bytes(), func(r rune) bool { return r < 0x20 || r == 0x7f })) {
			t.Fatalf("%s %q: answer %q", method, path, w.Body)
		}
		rt := parseRoute(req.URL.EscapedPath())
		if method == "PUT" && w.Code == 200 && rt.res == resRule {
			key, _ := hostmap.NormalizeKey(rt.host)
			if store.get(key) == "" {
				t.Fatalf("PUT %q answered 200, but %q has no rule", path, rt.host)
			}
		}
	})
}
