// Package client is a small Go client of Mantrid's REST API (SPEC §7): read,
// set, delete and bulk-replace rules, read the per-host statistics, and
// list the fleet's nodes and their summed statistics (Nodes, FleetStats). It
// is what cmd/mantrid-client is built on, and what other Go programs of a
// hosting platform can use to drive Mantrid.
//
// Rules travel as JSON: the client reads them as json.RawMessage (the
// triple [action, options, subdomains] exactly as the server sent it, to be
// parsed with actions.ParseRule when the fields are needed) and writes any
// json.Marshaler, such as an *actions.Rule or a json.RawMessage. Keeping the
// raw bytes lets the client list a million rules without building a million
// option maps, and lets it pass rules it does not know (a newer server's
// action) through unchanged. Validation is the server's job; the client
// does not second-guess it.
//
// The API may be on a TCP port ("http://localhost:8042") or a Unix socket
// ("unix:/run/mantrid/api.sock"); WithToken adds the bearer token a server
// with management_token_file needs.
//
// Errors are typed: *ServerError when the API refused the request (its
// error code, detail and the HTTP status), *NetError when Mantrid could not
// be reached or the connection failed, *ProtocolError when whatever
// answered did not speak the API (a wrong --url, a proxy's error page).
//
// Layer 2 of STYLE.md: the package imports only the standard library,
// github.com/bytedance/sonic and mgmt/api (actions may be used too; today
// only the tests do). It must not import the server (mgmt), loop or gnet —
// the client binary links none of them.
//
// Concurrency: a *Client is immutable after New and safe for concurrent use
// by any number of goroutines. There is no package-level mutable state.
package client
