package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/mgmt/api"
)

// request is one request as the fake API received it.
type request struct {
	Method string
	URI    string // the request target as sent, escapes intact
	Body   string
	Auth   string // Authorization
}

// fakeAPI is a small working stand-in for Mantrid's REST API (SPEC §7): it
// keeps rules (validated with actions, stored canonically) and canned
// stats, and records every request.
type fakeAPI struct {
	*httptest.Server
	mu    sync.Mutex
	rules map[string]json.RawMessage
	stats map[string]api.Stats
	got   []request
	// nodes is the answer to GET /fleet/; with ?fleet=1 the stats are
	// those above, from the nodes not in missing.
	nodes   []api.Node
	missing []api.MissingNode
}

func newFakeAPI(t *testing.T, rules map[string]string, stats map[string]api.Stats) *fakeAPI {
	t.Helper()
	f := &fakeAPI{rules: make(map[string]json.RawMessage), stats: stats}
	for host, rule := range rules {
		f.rules[host] = json.RawMessage(rule)
	}
	if f.stats == nil {
		f.stats = make(map[string]api.Stats)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.got...)
}

func (f *fakeAPI) snapshot() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(f.rules))
	for host, rule := range f.rules {
		out[host] = string(rule)
	}
	return out
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, request{Method: r.Method, URI: r.RequestURI, Body: string(body), Auth: r.Header.Get("Authorization")})
	path := r.URL.EscapedPath()
	switch {
	case path == api.FleetPath && r.Method == http.MethodGet:
		reply(w, 200, api.Fleet{Nodes: f.nodes})
	case r.URL.RawQuery == api.FleetQuery && r.Method == http.MethodGet:
		f.fleetStats(w, path)
	case path == api.HostnamesPath:
		f.hostnames(w, r.Method, body)
	case path == api.StatePath:
		f.state(w, r.Method, body)
	case strings.HasPrefix(path, api.HostnamesPath):
		f.hostname(w, r.Method, segment(path, api.HostnamesPath), body)
	case path == api.StatsPath && r.Method == http.MethodGet:
		reply(w, 200, f.stats)
	case strings.HasPrefix(path, api.StatsPath) && r.Method == http.MethodGet:
		if st, ok := f.stats[segment(path, api.StatsPath)]; ok {
			reply(w, 200, st)
		} else {
			reply(w, 200, struct{}{})
		}
	default:
		reply(w, 404, api.Error{Code: api.CodeNotFound})
	}
}

// fleetStats answers GET /stats/?fleet=1 and /stats/HOST/?fleet=1.
func (f *fakeAPI) fleetStats(w http.ResponseWriter, path string) {
	var names []string
	for _, n := range f.nodes {
		if !slices.ContainsFunc(f.missing, func(m api.MissingNode) bool { return m.Node == n.Name }) {
			names = append(names, n.Name)
		}
	}
	missing := f.missing
	if missing == nil {
		missing = []api.MissingNode{}
	}
	if path == api.StatsPath {
		reply(w, 200, api.FleetStats{Stats: f.stats, Nodes: names, Missing: missing})
		return
	}
	body := json.RawMessage("{}")
	if st, ok := f.stats[segment(path, api.StatsPath)]; ok {
		body, _ = sonic.Marshal(st)
	}
	reply(w, 200, api.FleetHostStats{Stats: body, Nodes: names, Missing: missing})
}

// segment returns the unescaped HOST of prefix + HOST + "/".
func segment(path, prefix string) string {
	host, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(path, prefix), "/"))
	if err != nil {
		return "\x00"
	}
	return host
}

func (f *fakeAPI) hostnames(w http.ResponseWriter, method string, body []byte) {
	switch method {
	case http.MethodGet:
		reply(w, 200, f.rules)
	case http.MethodPut:
		var all map[string]json.RawMessage
		if err := sonic.Unmarshal(body, &all); err != nil || all == nil {
			reply(w, 400, api.Error{Code: api.CodeBodyNotADict, Detail: "the body must be a JSON object"})
			return
		}
		next := make(map[string]json.RawMessage, len(all))
		for host, raw := range all {
			rule, err := parse(raw)
			if err != nil {
				reply(w, 400, api.Error{Code: err.Code, Detail: err.Detail, Host: host})
				return
			}
			next[host] = rule
		}
		f.rules = next
		reply(w, 200, api.OK{OK: true})
	default:
		reply(w, 405, api.Error{Code: api.CodeMethodNotAllowed})
	}
}

func (f *fakeAPI) state(w http.ResponseWriter, method string, body []byte) {
	switch method {
	case http.MethodGet:
		reply(w, 200, api.State{Hosts: f.rules, Stats: f.stats})
	case http.MethodPut:
		var st api.State
		if err := sonic.Unmarshal(body, &st); err != nil || st.Hosts == nil {
			reply(w, 400, api.Error{Code: api.CodeStateNotADict, Detail: "not a state document"})
			return
		}
		next := make(map[string]json.RawMessage, len(st.Hosts))
		for host, raw := range st.Hosts {
			rule, err := parse(raw)
			if err != nil {
				reply(w, 400, api.Error{Code: err.Code, Detail: err.Detail, Host: host})
				return
			}
			next[host] = rule
		}
		f.rules, f.stats = next, st.Stats
		if f.stats == nil {
			f.stats = map[string]api.Stats{}
		}
		reply(w, 200, api.OK{OK: true})
	default:
		reply(w, 405, api.Error{Code: api.CodeMethodNotAllowed})
	}
}

func (f *fakeAPI) hostname(w http.ResponseWriter, method, host string, body []byte) {
	switch method {
	case http.MethodGet:
		if rule, ok := f.rules[host]; ok {
			reply(w, 200, rule)
		} else {
			reply(w, 200, nil)
		}
	case http.MethodPut:
		rule, err := parse(body)
		if err != nil {
			reply(w, 400, api.Error{Code: err.Code, Detail: err.Detail})
			return
		}
		f.rules[host] = rule
		reply(w, 200, api.OK{OK: true})
	case http.MethodDelete:
		delete(f.rules, host)
		delete(f.stats, host)
		reply(w, 200, api.OK{OK: true})
	default:
		reply(w, 405, api.Error{Code: api.CodeMethodNotAllowed})
	}
}

// parse validates a rule as the server does and returns its canonical
// encoding.
func parse(raw []byte) (json.RawMessage, *actions.RuleError) {
	rule, err := actions.ParseRule(raw)
	var re actions.RuleError
	if errors.As(err, &re) {
		return nil, &re
	}
	out, _ := rule.MarshalJSON()
	return out, nil
}

func reply(w http.ResponseWriter, status int, v any) {
	data, _ := sonic.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
