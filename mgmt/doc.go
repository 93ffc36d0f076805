// Package mgmt is Mantrid's management plane: the REST API on
// bind_management (Server, README: REST API). It reads the rule table
// (hostmap.Table) directly, without locks, and writes every change through
// a store (mgmt/store), which makes it durable and then applies it to the
// table, so that a 200 is on disk and live on every loop when it is sent
// (README: Rule store). The store calls the function it was given after each
// applied change, so that cmd/mantrid can wake held (spin) requests
// without this package knowing about the loops. Before a request reaches
// its route, the Server checks its Host (loopback or configured names,
// against DNS rebinding; any Host over a Unix socket) and, when a token is
// configured, its "Authorization: Bearer" field; a request body must keep
// arriving (ServerOptions.BodyTimeout) or it is cut off.
//
// mgmt imports the standard library, actions, hostmap, mgmt/api,
// mgmt/state, mgmt/store and sonic. It must never import gnet or loop
// (layout_test.go enforces it); what it needs from the loops arrives as a
// function.
//
// Concurrency: a Server is safe for concurrent use. Its handlers run on
// net/http's goroutines, which Shutdown stops and waits for. There is no
// package-level mutable state.
package mgmt
