// Package hostmap is Mantrid's rule table: rule keys mapped to rules and
// to each host's counters, and the matching of request hosts against the
// keys (README: Rules): the whole host first, then each shorter suffix, and at
// every step a protocol-qualified key ("http://ep.io" or "https://ep.io")
// before the bare one ("ep.io"). [Normalize] and [NormalizeKey] turn a
// request Host and a rule key into the canonical form the table compares
// byte for byte.
//
// A [Table] is built for a million rules: keys and rules (in the packed
// form of actions.Packed) sit in append-only byte arenas, backend
// addresses are interned once per table generation, the index is 1024
// shards (by the xxhash of a key's hostname) of open-addressing slots of
// two integers, and counters are flat arrays indexed by a host's stat id
// (actions.Counters). The garbage collector finds a few thousand objects,
// not one or more per rule. A [Builder] makes a whole new table generation
// for [Table.Replace]; a [Cut] is an exact list of the keys at one moment.
//
// The package imports the standard library, actions and
// github.com/cespare/xxhash/v2. It does no I/O and starts no goroutines.
//
// Concurrency: lookups ([Table.Match], [Table.Get], [Table.Len],
// [Table.Range], [Table.Counts], a [Hit]'s and a [Cut]'s methods) never
// lock, never allocate and are safe for concurrent use with each other and
// with writers; writers serialise on a mutex that readers never take and
// never block readers. Memory a reader may hold is never overwritten: a
// changed rule is written anew, and a rebuilt table is a new generation.
package hostmap
