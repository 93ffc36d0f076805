package actions

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEqual(t *testing.T) {
	parse := func(s string) *Rule { return requireRule(t, s) }
	base := `["proxy",{"backends":[["h",80],["i",81]],"attempts":2},true]`
	tests := []struct {
		name string
		a, b *Rule
		want bool
	}{
		{"same", parse(base), parse(base), true},
		{"other forms, same canonical", parse(base), parse(`["proxy",{"attempts":"2.0","backends":["h:80",["i","81"]]},true]`), true},
		{"subdomains differ", parse(base), parse(`["proxy",{"backends":[["h",80],["i",81]],"attempts":2},false]`), false},
		{"backend order differs", parse(base), parse(`["proxy",{"backends":[["i",81],["h",80]],"attempts":2},true]`), false},
		{"backend count differs", parse(base), parse(`["proxy",{"backends":[["h",80]],"attempts":2},true]`), false},
		{"option differs", parse(base), parse(`["proxy",{"backends":[["h",80],["i",81]],"attempts":3},true]`), false},
		{"default given vs left out", parse(`["spin",{},true]`), parse(`["spin",{"timeout":120},true]`), false},
		{"kind differs", parse(`["no_hosts",{},true]`), parse(`["unknown",{},true]`), false},
		{"both nil", nil, nil, true},
		{"one nil", parse(base), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.a.Equal(tt.b), "%+v Equal %+v", tt.a, tt.b)
			assert.Equal(t, tt.want, tt.b.Equal(tt.a), "%+v Equal %+v (reversed)", tt.b, tt.a)
			if tt.a != nil && tt.b != nil {
				same := string(tt.a.AppendJSON(nil)) == string(tt.b.AppendJSON(nil))
				assert.Equal(t, tt.want, same, "Equal must agree with the canonical encoding")
			}
		})
	}
}
