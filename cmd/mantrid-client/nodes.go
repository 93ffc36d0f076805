package main

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/urfave/cli/v2"
)

// nodesFormat is the row format of nodes: a longer value pushes the
// columns to its right.
const nodesFormat = "%-20s %-30s %-20s %-10s %s\n"

func nodesCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "nodes",
		Usage:       "list the live nodes of the fleet: NAME, URL, STARTED, REVISION, SELF",
		Description: nodesHelp,
		Action: func(c *cli.Context) error {
			s, ctx, cancel, err := begin(c, p, 0, 0, "no arguments", false)
			if err != nil {
				return err
			}
			defer cancel()
			nodes, err := s.client.Nodes(ctx)
			if err != nil {
				return err
			}
			if s.json {
				line, err := appendMarshal(nil, api.Fleet{Nodes: nodes})
				if err != nil {
					return err
				}
				_, err = p.stdout.Write(append(line, '\n'))
				return err
			}
			return writeNodesTable(p.stdout, nodes)
		},
	}
}

// writeNodesTable writes the nodes as a table, in the server's order (by
// name). STARTED is RFC 3339 in UTC; SELF marks the node that answered.
func writeNodesTable(out io.Writer, nodes []api.Node) error {
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, nodesFormat, "NAME", "URL", "STARTED", "REVISION", "SELF")
	for _, n := range nodes {
		self := "no"
		if n.Self {
			self = "yes"
		}
		url := n.URL
		if url == "" {
			url = "-"
		}
		fmt.Fprintf(bw, nodesFormat, printable(n.Name), printable(url), n.Started.UTC().Format(time.RFC3339),
			fmt.Sprint(n.Revision), self)
	}
	return bw.Flush()
}
