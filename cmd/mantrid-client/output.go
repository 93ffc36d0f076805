package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"

	"github.com/bytedance/sonic"
	"github.com/mantrid/mantrid/mgmt/api"
)

// wireJSON encodes what the command sends and prints: map keys sorted, so
// that output and requests are the same from run to run; no HTML escaping.
// It is read-only after initialisation.
var wireJSON = sonic.Config{SortMapKeys: true}.Froze()

// okJSON is what set, delete and import print with --json.
const okJSON = `{"ok":true}` + "\n"

// writeObject writes m to out as one JSON object, keys sorted, one member
// per line (`  "key": value`), so that the output diffs well and stays
// readable for a million members. encode appends the JSON of a value to
// dst.
func writeObject[V any](out io.Writer, m map[string]V, encode func(dst []byte, v V) ([]byte, error)) error {
	bw := bufio.NewWriter(out)
	if err := writeMembers(bw, "", m, encode); err != nil {
		return err
	}
	_, _ = bw.WriteString("\n")
	return bw.Flush()
}

// writeMembers writes m as writeObject does, each line indented by indent
// and no newline after the closing brace.
func writeMembers[V any](bw *bufio.Writer, indent string, m map[string]V, encode func(dst []byte, v V) ([]byte, error)) error {
	keys := slices.Sorted(maps.Keys(m))
	if len(keys) == 0 {
		_, _ = bw.WriteString("{}")
		return nil
	}
	_, _ = bw.WriteString("{\n")
	var line []byte
	for i, key := range keys {
		k, err := wireJSON.Marshal(key)
		if err != nil {
			return err
		}
		line = append(append(append(append(line[:0], indent...), "  "...), k...), ": "...)
		if line, err = encode(line, m[key]); err != nil {
			return err
		}
		if i < len(keys)-1 {
			line = append(line, ',')
		}
		_, _ = bw.Write(append(line, '\n'))
	}
	_, _ = bw.WriteString(indent + "}")
	return nil
}

// writeState writes a state document as export prints it: hosts then
// stats, keys sorted, one member per line.
func writeState(out io.Writer, st *api.State) error {
	bw := bufio.NewWriter(out)
	_, _ = bw.WriteString("{\"hosts\": ")
	if err := writeMembers(bw, "", st.Hosts, appendCompact); err != nil {
		return err
	}
	_, _ = bw.WriteString(",\n\"stats\": ")
	if err := writeMembers(bw, "", st.Stats, appendMarshal[api.Stats]); err != nil {
		return err
	}
	_, _ = bw.WriteString("}\n")
	return bw.Flush()
}

// appendCompact appends the JSON raw without insignificant space.
func appendCompact(dst []byte, raw json.RawMessage) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// appendMarshal appends the JSON encoding of v.
func appendMarshal[V any](dst []byte, v V) ([]byte, error) {
	b, err := wireJSON.Marshal(v)
	return append(dst, b...), err
}

// writeString writes s to out, returning any write error.
func writeString(out io.Writer, s string) error {
	_, err := io.WriteString(out, s)
	return err
}
