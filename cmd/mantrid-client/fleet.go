package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mantrid/mantrid/mgmt/api"
)

// fleetStats runs stats --fleet: the counters of every host, or of host
// alone, summed over the fleet's live nodes. It prints the table (or the
// API's JSON) and then returns an error naming the nodes that did not
// answer, if any, so that the command exits with status 1.
func fleetStats(ctx context.Context, p process, s *settings, host string) error {
	var fs *api.FleetStats
	var err error
	if host == "" {
		fs, err = s.client.FleetStats(ctx)
	} else {
		fs, err = s.client.FleetHostStats(ctx, host)
	}
	if err != nil {
		return err
	}
	switch {
	case s.json:
		err = writeFleetJSON(p.stdout, fs, host)
	default:
		err = writeStatsTable(p.stdout, fs.Stats)
	}
	if err != nil {
		return err
	}
	return missingError(fs.Missing)
}

// writeFleetJSON writes the fleet's stats as the API gives them:
// {"stats": ..., "nodes": [...], "missing": [...]}, stats as stats --json
// prints them.
func writeFleetJSON(out io.Writer, fs *api.FleetStats, host string) error {
	bw := bufio.NewWriter(out)
	_, _ = bw.WriteString("{\"stats\": ")
	if host == "" {
		if err := writeMembers(bw, "", fs.Stats, appendMarshal[api.Stats]); err != nil {
			return err
		}
	} else {
		var line []byte
		var err error
		if st, ok := fs.Stats[host]; ok {
			line, err = appendMarshal(line, st)
		} else {
			line = append(line, "{}"...)
		}
		if err != nil {
			return err
		}
		_, _ = bw.Write(line)
	}
	rest, err := appendMarshal(nil, struct {
		Nodes   []string          `json:"nodes"`
		Missing []api.MissingNode `json:"missing"`
	}{fs.Nodes, fs.Missing})
	if err != nil {
		return err
	}
	_, _ = bw.WriteString(",\n")
	_, _ = bw.Write(rest[1:]) // the members, without the opening brace
	_, _ = bw.WriteString("\n")
	return bw.Flush()
}

// missingError returns nil when no node is missing, else an error naming
// each with its URL and why, on one line.
func missingError(missing []api.MissingNode) error {
	if len(missing) == 0 {
		return nil
	}
	parts := make([]string, len(missing))
	for i, m := range missing {
		parts[i] = fmt.Sprintf("%s (%s): %s", m.Node, m.URL, m.Error)
	}
	noun := "node"
	if len(missing) > 1 {
		noun = "nodes"
	}
	return fmt.Errorf("the sum leaves out %d %s that did not answer: %s", len(missing), noun, strings.Join(parts, "; "))
}
