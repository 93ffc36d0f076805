package mgmt

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseRoute(t *testing.T) {
	for _, tt := range []struct {
		path string
		want route
	}{
		{"/hostname/", route{res: resRules}},
		{"/hostname", route{res: resRules}},
		{"/HOSTNAME/", route{res: resRules}},
		{"/hostname/ep.io/", route{res: resRule, host: "ep.io"}},
		{"/hostname/ep.io", route{res: resRule, host: "ep.io"}},
		{"/hostname/EP.io./", route{res: resRule, host: "EP.io."}},
		{"/hostname/http://ep.io/", route{res: resRule, host: "http://ep.io"}},
		{"/hostname/http://ep.io", route{res: resRule, host: "http://ep.io"}},
		{"/hostname/http:%2F%2Fep.io/", route{res: resRule, host: "http://ep.io"}},
		{"/hostname/https:%2f%2fep.io", route{res: resRule, host: "https://ep.io"}},
		{"/hostname/HTTPS://ep.io/", route{res: resRule, host: "HTTPS://ep.io"}},
		{"/hostname/ep%2Eio/", route{res: resRule, host: "ep.io"}},
		{"/hostname/[::1]/", route{res: resRule, host: "[::1]"}},
		{"/hostname/a%20b/", route{res: resRule, host: "a b"}},
		{"/hostname/a%zzb/", route{res: resRule, host: "a%zzb"}},
		{"/hostname/a%00b/", route{res: resRule, host: "a\x00b"}},
		{"/stats/", route{res: resStats}},
		{"/stats", route{res: resStats}},
		{"/stats/unknown/", route{res: resHostStats, host: "unknown"}},
		{"/stats/http://ep.io", route{res: resHostStats, host: "http://ep.io"}},
		{"/fleet/", route{res: resFleet}},
		{"/Fleet", route{res: resFleet}},
		{"/fleet/a/", route{}},
		{"/fleets/", route{}},
		{"/", route{res: resRoot}},
		{"", route{}},
		{"//", route{}},
		{"*", route{}},
		{"/hostnames/", route{}},
		{"/hostname//", route{}},
		{"/hostname///", route{}},
		{"/hostname/ep.io/x/", route{}},
		{"/hostname/ep.io//", route{}},
		{"/hostname/http:/ep.io/", route{}},
		{"/hostname/http:///", route{}},
		{"/hostname/ep.io%2Fx/", route{}},
		{"/stats/a/b", route{}},
		{"/stat/", route{}},
		{"/hostname/../stats/", route{}},
	} {
		assert.Equal(t, tt.want, parseRoute(tt.path), "path %q", tt.path)
	}
}

func TestAllows(t *testing.T) {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPost, http.MethodPatch, http.MethodOptions, "get"}
	for _, tt := range []struct {
		res  resource
		want string
	}{
		{resRules, "GET HEAD PUT"},
		{resRule, "GET HEAD PUT DELETE"},
		{resStats, "GET HEAD"},
		{resHostStats, "GET HEAD"},
		{resRoot, ""},
	} {
		got := ""
		for _, m := range methods {
			if allows(tt.res, m) {
				if got != "" {
					got += " "
				}
				got += m
			}
		}
		assert.Equal(t, tt.want, got, "resource %d", tt.res)
	}
}
