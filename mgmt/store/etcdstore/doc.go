// Package etcdstore is the rule store of a fleet: many Mantrid nodes share
// one rule table kept in etcd. Store implements store.Store by committing
// every change to etcd; a follower goroutine per node watches etcd and
// applies each change through the node's Local store (its on-disk copy),
// which feeds the rule table and wakes held requests exactly as a local
// change does. A node serves from its local copy at once, whether or not
// etcd answers, and catches up when it does.
//
// Layout under the prefix (default "/mantrid/"):
//
//	current              the generation in force (a name of 16 hex digits)
//	hosts/GEN/KEY        the rule of KEY in generation GEN, as the JSON
//	                     triple the REST API returns
//
// A single-host change is one transaction that writes hosts/GEN/KEY if
// current still names GEN. A bulk replace writes a whole new generation in
// batches of transactions nobody reads, then switches current to it in one
// write, then deletes the old generation: a node loads a new generation
// whole, at the switch's revision, and swaps its table in one step, so
// every reader sees the whole old table or the whole new one.
//
// The package imports actions, hostmap, mgmt/store and the etcd client; it
// never imports gnet or the loops.
//
// Concurrency: Store's methods are safe for concurrent use. The follower
// and the health probe run on goroutines of the Store's own, which Close
// stops and waits for.
package etcdstore
