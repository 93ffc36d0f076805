// Package fleet is the node registry of a fleet of Mantrids that share one
// etcd: each node keeps a key PREFIX + "nodes/" + NAME alive under a lease
// (Registry), whose value (api.Node as JSON) gives its management URL, its
// start time and the rule store revision it has applied; a node that stops
// cleanly revokes its lease, one that dies drops out when the lease
// expires. Nodes lists the live ones, for GET /fleet/ and for summing the
// fleet's counters (GET /stats/?fleet=1 in mgmt).
//
// fleet imports the standard library, mgmt/api and the etcd client
// (go.etcd.io/etcd/client/v3), and is handed an etcd client made by its
// caller. It must never import gnet, loop or mgmt.
//
// Concurrency: a Registry is safe for concurrent use. It owns one
// goroutine, which Close stops and waits for. There is no package-level
// mutable state.
package fleet
