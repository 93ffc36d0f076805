// Package loop is Mantrid's data path: the gnet event handler that owns
// client connections, parses request heads, routes them through the rule table
// and answers them.
//
// Every event loop accepts connections itself, from dups of the listening
// sockets the caller bound, with gnet's acceptor as patched in
// third_party/gnet: it backs off when the process runs out of file
// descriptors instead of stopping the engine (DESIGN.md fact 9).
// Everything about one connection — parsing, answering, timers,
// counters — happens on the event loop that owns it: all clientConn
// and eventLoop methods run on that loop, and other goroutines reach it only
// through gnet's Execute and Wake. Rules are read from the rule table
// (hostmap.Table) without locks; counters are per loop (actions.Counters).
//
// Package loop imports no net/http, no JSON and nothing from mgmt.
package loop
