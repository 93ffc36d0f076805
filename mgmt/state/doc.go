// Package state reads and writes Mantrid's state file: the JSON document
// {"hosts": {host: rule}, "stats": {host: stats}} of the first Mantrid, so
// that its state files load unchanged.
//
// Mantrid keeps its rules in its own store (package mgmt/store); this
// format is how rules and counters come in from the first Mantrid (Import,
// at the first start, and PUT /state/) and go out again (Encoder, for GET
// /state/ and mantrid-client export). Load refuses a corrupt document (not
// JSON, truncated, an invalid rule key, rule or counter) with an error
// that names the problem. Import refuses only a document that is not one,
// and leaves out (Refused) each rule or counter that Mantrid's checks
// refuse, since the first Mantrid loaded its state file unchecked. They
// only read.
//
// DecodeObject streams the members of a large JSON object one at a time; the
// loader uses it for the hosts and stats objects, and the REST API (package
// mgmt) for the body of a bulk PUT, so that a million rules are never held
// as one tree of decoded values.
//
// The package imports the standard library, actions, hostmap and sonic; it
// must not import gnet, loop, mgmt or mgmt/api. It has no package-level
// mutable state. Its functions are safe for concurrent use; an Encoder
// belongs to one goroutine.
package state
