// Package actions holds Mantrid's rule model (SPEC §3, §4): the JSON triple
// [action, options, subdomains] that maps a hostname to an action, its
// strict validation, its canonical JSON encoding, its packed binary form
// (Packed: what the rule table keeps and the store writes), the per-host
// counters (Counters: flat arrays, one per event loop), and the bytes of
// the two answers that need no other data — empty (a bare status) and
// redirect (302 Found). Static pages, no_hosts and unknown are rendered by
// package static; proxy and spin by package loop.
//
// Rules are parsed with ParseRule (raw JSON, as sent to the REST API),
// ParseRuleValue (already decoded) or ParseRuleFast (plain JSON, straight
// into a reused Rule, for a million rules at once; it leaves anything
// unusual to ParseRule).
// Anything that passes validation can be put in a response without further
// checks: redirect targets, backend hosts and static type names are
// restricted to visible ASCII, so no API value can inject bytes into a
// response or escape static_dir (SPEC §9.8).
//
// The package imports only the standard library and
// github.com/bytedance/sonic; it must not import any other Mantrid package.
//
// Concurrency: a *Rule is immutable once ParseRule or ParseRuleValue has
// returned it and is safe for concurrent use by any number of goroutines;
// callers must not modify its fields or its Backends slice. The Append
// functions write only to the slice they are given and are safe for
// concurrent use. The per-host counters (Counters, Slot) have their own
// rules, given on those types. A Packed value is read-only. There is no package-level mutable state.
package actions
