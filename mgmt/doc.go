// Package mgmt is Mantrid's management plane: the live rule table with its
// statistics (Store), the REST API on bind_management (Server, SPEC §7) and
// the state-file saver (Saver, SPEC §8).
//
// The event loops read the table through Store.Hosts, a hostmap.Map whose
// lookups are lock-free; they count unmatched requests in Store.Unknown.
// Everything that changes rules goes through the Store, which publishes
// each change to the map at once (a 200 from the API is live for the next
// request on every loop, SPEC §9.7) and then calls the onChange function it
// was given, so that cmd/mantrid can wake held (spin) requests without this
// package knowing about the loops.
//
// mgmt imports the standard library, actions, hostmap, mgmt/api,
// mgmt/state and sonic. It must never import gnet or loop (layout_test.go
// enforces it); what it needs from the loops arrives as a function.
//
// Concurrency: Store, Server and Saver are safe for concurrent use. Store
// writers serialise on one mutex that the event loops never take; readers
// of the map never block. A Server's handlers run on net/http's goroutines,
// which Shutdown stops and waits for. A Saver runs in the goroutine that
// calls Run, which returns when its context ends; Flush may be called from
// any goroutine. There is no package-level mutable state.
package mgmt
