// Package state reads and writes Mantrid's state file: the JSON document
// {"hosts": {host: rule}, "stats": {host: stats}} of the first Mantrid, so
// that its state files load unchanged (SPEC §8).
//
// Save and SaveEntries write a temporary file in the same folder, fsync it,
// rename it over the old file and fsync the folder, so that a crash at any
// moment leaves either the old or the new file, never a broken one. Load
// refuses a corrupt file (not JSON, truncated, an invalid rule key, rule or
// counter) with an error that names the file and the problem; it only reads
// the file and never changes it (SPEC §9.6).
//
// DecodeObject streams the members of a large JSON object one at a time; the
// loader uses it for the hosts and stats objects, and the REST API (package
// mgmt) for the body of a bulk PUT, so that a million rules are never held
// as one tree of decoded values.
//
// The package imports the standard library, actions, hostmap and sonic; it
// must not import gnet, loop, mgmt or mgmt/api. It has no package-level
// mutable state. Its functions are safe for concurrent use on different
// paths; callers serialise saves to one path.
package state
