// Package hostmap maps rule hostnames to values and matches request hosts
// against them as SPEC §3 says: the whole host first, then each shorter
// suffix, and at every step a protocol-qualified key ("http://ep.io" or
// "https://ep.io") before the bare one ("ep.io").
//
// A [Map] is sharded by the xxhash of a key's hostname; each shard is an
// open-addressing table with linear probing whose slots hold atomic pointers
// to immutable entries. [Normalize] and [NormalizeKey] turn a request Host
// and a rule key into the canonical form the map compares byte for byte.
//
// The package imports only the standard library and
// github.com/cespare/xxhash/v2; it knows nothing about rules, actions or
// HTTP parsing.
//
// Concurrency: lookups are lock-free and safe for concurrent use with
// writers; writers serialise on a mutex; a writer never blocks readers.
// Lookups ([Map.Get], [Map.Match], [Map.Len], [Map.Range]) never take a
// lock and never allocate. Writers ([Map.Set], [Map.Delete], [Map.Replace])
// may be called from any goroutine.
package hostmap
