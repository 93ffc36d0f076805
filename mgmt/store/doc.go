// Package store keeps Mantrid's rules on disk and feeds every committed
// change to the rule table (hostmap.Table) the event loops read.
//
// Store is the small interface the REST API writes through; Local is its
// first implementation, a folder on the local disk:
//
//	LOCK                    held (flock) by the one process using the folder
//	rules.snap              the whole table at one revision, binary,
//	                        each rule with the revision of its last change
//	journal.<16 hex digits> every change after it, appended; the name is
//	                        the revision before its first record
//	stats                   every host's counters, rewritten periodically
//
// A single-host change costs one journal record (about a hundred bytes)
// and one fsync shared by every change committed at the same time (group
// commit); a write is acknowledged only after its fsync, then applied to
// the table, so a 200 from the API survives a crash and is live when it is
// sent. When the journal outgrows the snapshot, a new snapshot is written
// in the background from a cut of the table while writes go on into a new
// journal file. A bulk replace writes a new snapshot at once. Files are
// written to a temporary name, fsynced and renamed, and every record and
// file carries a CRC-32C, so a crash at any moment leaves a store that
// loads: a torn last journal record is set aside and reported, anything
// else damaged stops the start with the file and the problem named.
//
// Every change has a revision, one more than the last; the table keeps
// each rule's (hostmap.Hit.Rev), and Set and Delete may be conditional on
// it (Cond, checked by the committer in commit order), which is what the
// REST API's ETag and If-Match are made of.
//
// The package imports actions and hostmap; it knows nothing of HTTP, the
// legacy JSON state file (its caller seeds a new store from one), gnet or
// the loops.
//
// Concurrency: Local's methods are safe for concurrent use. Commits run on
// one goroutine of Local's own, which Close stops and waits for, as it
// does the background snapshot writer.
package store
