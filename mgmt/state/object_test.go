package state

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type member struct {
	Name  string
	Value any
}

func collect(t *testing.T, data string) ([]member, error) {
	t.Helper()
	var got []member
	err := DecodeObject(data, func(name string, v any) error {
		got = append(got, member{name, v})
		return nil
	})
	return got, err
}

func TestDecodeObject(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []member
		err  error
	}{
		{"empty object", `{}`, nil, nil},
		{"whitespace around", " \n{ } \t", nil, nil},
		{"document order", `{"b":1,"a":2}`, []member{{"b", json.Number("1")}, {"a", json.Number("2")}}, nil},
		{"repeated name passed twice", `{"a":1,"a":true}`, []member{{"a", json.Number("1")}, {"a", true}}, nil},
		{"nested values", `{"x":["proxy",{"backends":[["h",80]],"delay":0.5},false]}`, []member{{"x", []any{
			"proxy", map[string]any{"backends": []any{[]any{"h", json.Number("80")}}, "delay": json.Number("0.5")}, false,
		}}}, nil},
		{"empty containers", `{"a":[],"b":{}}`, []member{{"a", []any{}}, {"b", map[string]any{}}}, nil},
		{"null and strings", `{"a":null,"b":"\u00e9\n"}`, []member{{"a", nil}, {"b", "é\n"}}, nil},
		{"escaped name", `{"a\u0041":1}`, []member{{"aA", json.Number("1")}}, nil},
		{"big number kept exact", `{"a":123456789012345678901234567890}`, []member{{"a", json.Number("123456789012345678901234567890")}}, nil},
		{"array", `[1]`, nil, ErrNotObject},
		{"null", `null`, nil, ErrNotObject},
		{"string", `"x"`, nil, ErrNotObject},
		{"number", `1`, nil, ErrNotObject},
		{"empty", ``, nil, ErrSyntax},
		{"truncated", `{"a":[1,`, nil, ErrSyntax},
		{"trailing garbage", `{} {}`, nil, ErrSyntax},
		{"raw control in string", "{\"a\":\"x\x01y\"}", nil, ErrSyntax},
		{"raw newline in string", "{\"a\":\"x\ny\"}", nil, ErrSyntax},
		{"raw tab in name", "{\"a\tb\":1}", nil, ErrSyntax},
		{"single quotes", `{'a':1}`, nil, ErrSyntax},
		{"too deep", `{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, nil, ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, tt.in)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err, "input %q", tt.in)
				return
			}
			require.NoError(t, err, "input %q", tt.in)
			assert.Equal(t, tt.want, got, "input %q", tt.in)
		})
	}
}

// TestDecodeObjectDepth checks MaxDepth at N-1, N and N+1 levels.
func TestDecodeObjectDepth(t *testing.T) {
	for _, tt := range []struct {
		levels int // total nesting, the outer object included
		err    error
	}{{MaxDepth - 1, nil}, {MaxDepth, nil}, {MaxDepth + 1, ErrTooDeep}} {
		inner := tt.levels - 1
		in := `{"a":` + strings.Repeat("[", inner) + strings.Repeat("]", inner) + `}`
		_, err := collect(t, in)
		if tt.err == nil {
			assert.NoError(t, err, "%d levels", tt.levels)
		} else {
			assert.ErrorIs(t, err, tt.err, "%d levels", tt.levels)
		}
	}
}

func TestDecodeObjectStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := DecodeObject(`{"a":1,"b":2,"c":3}`, func(name string, _ any) error {
		calls++
		if name == "b" {
			return stop
		}
		return nil
	})
	assert.Same(t, stop, err)
	assert.Equal(t, 2, calls, "calls after the error")
}

func TestRawControlInString(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{`{"a":"b"}`, false},
		{"{\n\t\"a\" : 1\r\n}", false},
		{`{"a":"\"\u0001\\"}`, false},
		{"{\"a\":\"\x1f\"}", true},
		{"{\"a\\\"\x00\":1}", true},
	} {
		assert.Equal(t, tt.want, rawControlInString(tt.in), "input %q", tt.in)
	}
}
