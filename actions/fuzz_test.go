package actions

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzParseRule checks, for any input: no panic; an error is a RuleError
// whose text holds no control bytes; an accepted rule round-trips through
// MarshalJSON (and through encoding/json's float64s) to an Equal rule; and
// an accepted redirect rule's AppendRedirect, for any path, is exactly one
// response that net/http.ReadResponse parses, with no header but Location
// and Content-Length.
func FuzzParseRule(f *testing.F) {
	for _, tt := range canonicalCases {
		f.Add([]byte(tt.in), []byte("/a?b=c"), false)
	}
	for _, s := range []string{
		`["redirect",{"redirect_to":"ep.io"},false]`,
		`["redirect",{"redirect_to":"https://ep.io///"},true]`,
		`["redirect",{"redirect_to":"http://[::1]:8080/x?y"},true]`,
		`["redirect",{"redirect_to":"https://ep.io/\r\nX: y"},true]`,
		`["proxy",{"backends":["[::1]:80",["a.b.",1]],"delay":"0.000000001"},false]`,
		`["spin",{"timeout":"86400","check_interval":1e-9},true]`,
		`["empty",{"code":"4.03e2"},false]`,
		`["static",{"type":"../etc/passwd"},false]`,
		`["empty",{"code":1e400},false]`,
		`[["empty"],{},false]`,
		`{"a":1}`,
		`[`,
	} {
		f.Add([]byte(s), []byte("//x y\r\n"), true)
	}
	f.Fuzz(func(t *testing.T, data, path []byte, https bool) {
		r, err := ParseRule(data)
		if err != nil {
			checkFuzzError(t, data, err)
			return
		}
		checkRoundTrip(t, data, r)
		if r.Kind == Redirect {
			checkRedirect(t, r, path, https)
		}
	})
}

func checkFuzzError(t *testing.T, data []byte, err error) {
	var re RuleError
	if !errors.As(err, &re) {
		t.Fatalf("input %q: error %T %v is not a RuleError", data, err, err)
	}
	if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Fatalf("input %q: error %q holds control characters", data, err)
	}
}

func checkRoundTrip(t *testing.T, data []byte, r *Rule) {
	enc, err := r.MarshalJSON()
	if err != nil {
		t.Fatalf("input %q: MarshalJSON: %v", data, err)
	}
	back, err := ParseRule(enc)
	if err != nil {
		t.Fatalf("input %q: canonical %q does not parse: %v", data, enc, err)
	}
	if !r.Equal(back) {
		t.Fatalf("input %q: canonical %q parses to %+v, want %+v", data, enc, back, r)
	}
	if again := back.AppendJSON(nil); !bytes.Equal(enc, again) {
		t.Fatalf("input %q: encoding not stable: %q then %q", data, enc, again)
	}
	var v any
	if err := json.Unmarshal(enc, &v); err != nil {
		t.Fatalf("input %q: canonical %q is not JSON for encoding/json: %v", data, enc, err)
	}
	viaValue, err := ParseRuleValue(v)
	if err != nil || !r.Equal(viaValue) {
		t.Fatalf("input %q: canonical %q via encoding/json: got %+v, %v; want %+v", data, enc, viaValue, err, r)
	}
}

func checkRedirect(t *testing.T, r *Rule, path []byte, https bool) {
	raw := r.AppendRedirect(nil, path, https, false)
	br := bufio.NewReader(bytes.NewReader(raw))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("to %q path %q: response %q does not parse: %v", r.RedirectTo, path, raw, err)
	}
	resp.Body.Close()
	if br.Buffered() != 0 || resp.StatusCode != 302 || !resp.Close || resp.ContentLength != 0 || len(resp.Header) != 2 {
		t.Fatalf("to %q path %q: response %q: status %d close %v length %d headers %v, %d bytes left",
			r.RedirectTo, path, raw, resp.StatusCode, resp.Close, resp.ContentLength, resp.Header, br.Buffered())
	}
	if bytes.ContainsFunc(path, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return
	}
	want := strings.TrimRight(r.RedirectTo, "/") + "/" + strings.TrimLeft(string(path), "/")
	if l := strings.ToLower(want); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
		want = map[bool]string{true: "https://", false: "http://"}[https] + want
	}
	if got := resp.Header.Get("Location"); got != want {
		t.Fatalf("to %q path %q https %v: Location %q, want %q", r.RedirectTo, path, https, got, want)
	}
}
