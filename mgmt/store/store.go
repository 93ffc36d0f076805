package store

import (
	"context"
	"errors"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
)

// Store is where the REST API commits rule changes. Each method returns
// once the change is committed (durable, for Local: fsynced) and applied to
// the rule table the store feeds, so that the next request on every event
// loop sees it; or with an error, and then nothing changed. Keys are rule
// keys already in NormalizeKey form. Implementations are safe for
// concurrent use and apply changes in the order they commit them.
type Store interface {
	// Set commits rule r under key.
	Set(ctx context.Context, key string, r *actions.Rule) error
	// Delete commits the removal of key's rule and reports whether it
	// had one (no rule: nothing to commit, and no error).
	Delete(ctx context.Context, key string) (existed bool, err error)
	// Replace commits the content built in b as the whole table. b must
	// come from the table's NewBuilder and is used up.
	Replace(ctx context.Context, b *hostmap.Builder) error
}

// Errors of a Store. Others wrap them with the cause.
var (
	// ErrUnavailable means the change could not be committed (a disk
	// that fails writes); serving goes on with the rules as they were.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store: closed")
)
