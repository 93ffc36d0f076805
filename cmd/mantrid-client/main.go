// Command mantrid-client is the command-line client of Mantrid's REST API:
// it lists, shows, sets and deletes the rules that map hostnames to actions,
// exports and bulk-imports them, and shows the per-host statistics. It keeps
// the syntax and tables of the first Mantrid's client (list, set, delete,
// stats) and adds get, export, import and --json output.
//
// The API is at --url, else $MANTRID_URL, else http://localhost:8042, or on
// a Unix socket (--url unix:PATH); the token of a server with
// management_token_file comes from --token-file, else $MANTRID_TOKEN. Data
// goes to stdout, diagnostics to stderr. Exit status: 0 on success, 1 when
// the server refused the request (its error code is printed) or could not
// be reached, or a file could not be read, 2 on a usage error (with the
// usage line). Run `mantrid-client --help` for the commands and the options
// of each action.
//
// Layer 3 of STYLE.md: it talks to the server only through mgmt/client and
// may use actions, mgmt/api, urfave/cli/v2 and sonic; it must not import the
// server (mgmt), loop or gnet. A run is single-threaded apart from what
// net/http does inside the client; there is no package-level mutable state.
package main

import "os"

func main() {
	os.Exit(run(os.Args, process{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}))
}
