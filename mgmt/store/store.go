package store

import (
	"context"
	"errors"
	"strconv"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Store is where the REST API commits rule changes. Each method returns
// once the change is committed (durable, for Local: fsynced) and applied to
// the rule table the store feeds, so that the next request on every event
// loop sees it; or with an error, and then nothing changed. Keys are rule
// keys already in NormalizeKey form. Implementations are safe for
// concurrent use and apply changes in the order they commit them.
//
// Every committed change has a revision, greater than every earlier one;
// the table records, with each rule, the revision of the change that last
// set it (hostmap.Hit.Rev), which the REST API shows as the rule's ETag.
// A Cond is checked atomically with the commit, against the rules as
// every change committed before it left them: of two writers that give
// the same IfMatch, one at most succeeds.
type Store interface {
	// Set commits rule r under key if c holds, and returns the change's
	// revision.
	Set(ctx context.Context, key string, r *actions.Rule, c Cond) (rev uint64, err error)
	// Delete commits the removal of key's rule if c holds, reports
	// whether it had one and returns the change's revision. No rule is
	// nothing to commit and no error (unless c asks for a rule): rev is
	// then 0.
	Delete(ctx context.Context, key string, c Cond) (existed bool, rev uint64, err error)
	// Replace commits the content built in b as the whole table, every
	// rule at the returned revision. b must come from the table's
	// NewBuilder and is used up.
	Replace(ctx context.Context, b *hostmap.Builder) (rev uint64, err error)
}

// Cond is a precondition on a key's rule for Set and Delete, as HTTP's
// If-Match and If-None-Match state it (RFC 9110 §13.1.1, §13.1.2). The
// zero Cond always holds.
type Cond struct {
	// IfMatch, when not 0, requires the key to have a rule last set at
	// exactly this revision; AnyRev requires only that it has a rule.
	IfMatch uint64
	// IfNoneMatch requires the key to have no rule.
	IfNoneMatch bool
}

// AnyRev as Cond.IfMatch matches any rule (If-Match: *).
const AnyRev = ^uint64(0)

// Holds reports whether c holds for a key whose rule, when exists, was
// last set at revision rev.
func (c Cond) Holds(exists bool, rev uint64) bool {
	switch {
	case c.IfNoneMatch && exists:
		return false
	case c.IfMatch == 0:
		return true
	case !exists:
		return false
	}
	return c.IfMatch == AnyRev || c.IfMatch == rev
}

// PreconditionError is the error of a Set or Delete whose Cond did not
// hold: it says what the key had when the change came to commit. It
// matches ErrPrecondition.
type PreconditionError struct {
	// Key is the rule key.
	Key string
	// Exists reports whether the key had a rule.
	Exists bool
	// Rev is the revision of the key's rule, when Exists.
	Rev uint64
}

func (e *PreconditionError) Error() string {
	if !e.Exists {
		return "store: precondition failed: " + e.Key + " has no rule"
	}
	return "store: precondition failed: the rule of " + e.Key + " is at revision " + strconv.FormatUint(e.Rev, 10)
}

func (e *PreconditionError) Unwrap() error { return ErrPrecondition }

// Errors of a Store. Others wrap them with the cause.
var (
	// ErrUnavailable means the change could not be committed (a disk
	// that fails writes); serving goes on with the rules as they were.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store: closed")
	// ErrPrecondition means a Cond did not hold: nothing changed.
	ErrPrecondition = errors.New("store: precondition failed")
)
