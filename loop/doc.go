// Package loop is Mantrid's data path: the gnet event handler that owns
// client connections, parses request heads, routes them through the host map
// and answers them.
//
// Connections are accepted by our own goroutines (one per listener, with
// backoff when the process runs out of file descriptors) and registered on a
// gnet event loop, so that fd exhaustion can never stop the engine
// (DESIGN.md fact 9). Everything about one connection — parsing, answering,
// timers, counters — happens on the event loop that owns it: all clientConn
// and eventLoop methods run on that loop, and other goroutines reach it only
// through gnet's Execute and Wake. Rules are read through the host map's
// lock-free snapshots; counters are per loop (actions.Slot).
//
// Package loop imports no net/http, no JSON and nothing from mgmt.
package loop
