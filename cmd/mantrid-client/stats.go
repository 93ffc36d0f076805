package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/mantrid/mantrid/mgmt/api"
	"github.com/urfave/cli/v2"
)

// statsFormat is the first Mantrid's row format for stats
// ("%-35s %-11s %-11s %-11s %-11s" in Python).
const statsFormat = "%-35s %-11s %-11s %-11s %-11s\n"

func statsCommand(p process) *cli.Command {
	return &cli.Command{
		Name:        "stats",
		Usage:       "show request and byte counts per hostname",
		ArgsUsage:   "[hostname]",
		Description: statsHelp,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "fleet",
			Usage: "sum the counters of every live node of the fleet; exit status 1 when a node does not answer"}},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 1, "at most one hostname"); err != nil {
				return err
			}
			if c.NArg() == 1 {
				if err := checkHost(c, c.Args().First()); err != nil {
					return err
				}
			}
			s, err := settingsOf(c, p)
			if err != nil {
				return err
			}
			ctx, cancel := s.ctx(c.Context)
			defer cancel()
			if c.Bool("fleet") {
				return fleetStats(ctx, p, s, c.Args().First())
			}
			stats, err := fetchStats(ctx, s, c.Args().First())
			if err != nil {
				return err
			}
			if s.json && c.NArg() == 1 {
				return writeHostStatsJSON(p.stdout, stats, c.Args().First())
			}
			if s.json {
				return writeObject(p.stdout, stats, appendMarshal)
			}
			return writeStatsTable(p.stdout, stats)
		},
	}
}

// fetchStats returns every host's stats, or host's alone (none when the
// server has none) when host is not empty.
func fetchStats(ctx context.Context, s *settings, host string) (map[string]api.Stats, error) {
	if host == "" {
		return s.client.Stats(ctx)
	}
	st, ok, err := s.client.HostStats(ctx, host)
	if err != nil || !ok {
		return map[string]api.Stats{}, err
	}
	return map[string]api.Stats{host: st}, nil
}

// writeHostStatsJSON writes one host's stats as the API gives them: the
// counters object, or {} when there are none.
func writeHostStatsJSON(out io.Writer, stats map[string]api.Stats, host string) error {
	st, ok := stats[host]
	if !ok {
		return writeString(out, "{}\n")
	}
	line, err := appendMarshal(nil, st)
	if err != nil {
		return err
	}
	_, err = out.Write(append(line, '\n'))
	return err
}

// writeStatsTable writes the stats as the first Mantrid's stats table,
// sorted by host. BYTES IN is bytes_received (from clients), BYTES OUT is
// bytes_sent (to clients).
func writeStatsTable(out io.Writer, stats map[string]api.Stats) error {
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, statsFormat, "HOST", "OPEN", "COMPLETED", "BYTES IN", "BYTES OUT")
	for _, host := range slices.Sorted(maps.Keys(stats)) {
		st := stats[host]
		fmt.Fprintf(bw, statsFormat, host, itoa(st.OpenRequests), itoa(st.CompletedRequests),
			itoa(st.BytesReceived), itoa(st.BytesSent))
	}
	return bw.Flush()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
