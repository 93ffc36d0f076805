package api

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorText(t *testing.T) {
	assert.Equal(t, "not_found", (&Error{Code: CodeNotFound}).Error())
	assert.Equal(t, "bad_json: x", (&Error{Code: CodeBadJSON, Detail: "x", Host: "h"}).Error())
}

// TestWireShapes pins the JSON names of the wire types: they are the first
// Mantrid's and never change.
func TestWireShapes(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{Error{Code: CodeNotFound}, `{"error":"not_found"}`},
		{Error{Code: "host_action_invalid", Detail: "d", Host: "ep.io"}, `{"error":"host_action_invalid","detail":"d","host":"ep.io"}`},
		{OK{OK: true}, `{"ok":true}`},
		{Stats{1, 2, 3, 4}, `{"open_requests":1,"completed_requests":2,"bytes_sent":3,"bytes_received":4}`},
	} {
		got, err := json.Marshal(tt.v)
		require.NoError(t, err)
		assert.JSONEq(t, tt.want, string(got), "value %#v", tt.v)
	}
}

func TestETag(t *testing.T) {
	for _, rev := range []uint64{1, 9, 10, 1 << 40, ^uint64(0)} {
		tag := string(AppendETag(nil, rev))
		got, ok := ParseETag(tag)
		assert.True(t, ok, "ParseETag(%s)", tag)
		assert.Equal(t, rev, got, "ParseETag(%s)", tag)
	}
	for _, tag := range []string{``, `"`, `""`, `"0"`, `"01"`, `1`, `W/"1"`, `"1 "`, `"-1"`, `"abc"`, `"18446744073709551616"`} {
		_, ok := ParseETag(tag)
		assert.False(t, ok, "ParseETag(%s)", tag)
	}
}
