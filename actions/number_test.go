package actions

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNumericStrings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want func(*Rule) any
		val  any
	}{
		{"code string", emptyRule(`"403"`), true, func(r *Rule) any { return r.Code }, 403},
		{"code string float", emptyRule(`"403.0"`), true, func(r *Rule) any { return r.Code }, 403},
		{"code string exponent", emptyRule(`"4.03e2"`), true, func(r *Rule) any { return r.Code }, 403},
		{"code string fraction", emptyRule(`"403.5"`), false, nil, nil},
		{"code string space", emptyRule(`" 403"`), false, nil, nil},
		{"code string plus", emptyRule(`"+403"`), false, nil, nil},
		{"code string leading zero", emptyRule(`"0403"`), false, nil, nil},
		{"code string hex", emptyRule(`"0x193"`), false, nil, nil},
		{"code string empty", emptyRule(`""`), false, nil, nil},
		{"code string underscore", emptyRule(`"4_03"`), false, nil, nil},
		{"delay string", proxyRule(`,"delay":"0.5"`), true, func(r *Rule) any { return r.Delay }, 500 * time.Millisecond},
		{"delay string NaN", proxyRule(`,"delay":"NaN"`), false, nil, nil},
		{"delay string Inf", proxyRule(`,"delay":"Inf"`), false, nil, nil},
		{"delay string huge", proxyRule(`,"delay":"1e999"`), false, nil, nil},
		{"delay string dot", proxyRule(`,"delay":".5"`), false, nil, nil},
		{"delay string trailing dot", proxyRule(`,"delay":"5."`), false, nil, nil},
		{"delay string bare exponent", proxyRule(`,"delay":"5e"`), false, nil, nil},
		{"attempts string", proxyRule(`,"attempts":"3"`), true, func(r *Rule) any { return r.Attempts }, 3},
		{"timeout string", spinRule(`"timeout":"60"`), true, func(r *Rule) any { return r.Timeout }, time.Minute},
		{"check_interval string", spinRule(`"check_interval":"0.25"`), true, func(r *Rule) any { return r.CheckInterval }, 250 * time.Millisecond},
		{"check_interval string 0", spinRule(`"check_interval":"0"`), false, nil, nil},
		{"port string", backendRule(`["h","8000"]`), true, func(r *Rule) any { return r.Backends[0].Port }, 8000},
		{"port string fraction", backendRule(`["h","80.5"]`), false, nil, nil},
		{"code float", emptyRule(`403.0`), true, func(r *Rule) any { return r.Code }, 403},
		{"code exponent", emptyRule(`4.03e2`), true, func(r *Rule) any { return r.Code }, 403},
		{"code negative zero fraction", emptyRule(`-0.0`), false, nil, nil},
		{"attempts float", proxyRule(`,"attempts":3.0`), true, func(r *Rule) any { return r.Attempts }, 3},
		{"attempts fraction", proxyRule(`,"attempts":2.5`), false, nil, nil},
		{"port float", backendRule(`["h",80.0]`), true, func(r *Rule) any { return r.Backends[0].Port }, 80},
		{"delay fractional", proxyRule(`,"delay":0.1`), true, func(r *Rule) any { return r.Delay }, 100 * time.Millisecond},
		{"delay nanoseconds exact", proxyRule(`,"delay":3599.999999999`), true, func(r *Rule) any { return r.Delay }, time.Hour - time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRule([]byte(tt.in))
			if !tt.ok {
				require.Error(t, err, "input %q: got %+v, want rejected", tt.in, r)
				assert.Equal(t, CodeHostOptionInvalid, err.(RuleError).Code, "input %q", tt.in)
				return
			}
			require.NoError(t, err, "input %q", tt.in)
			assert.Equal(t, tt.val, tt.want(r), "input %q", tt.in)
		})
	}
}
