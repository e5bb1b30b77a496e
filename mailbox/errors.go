package mailbox

import (
	"errors"
	"fmt"
)

// ErrUnreachable means no DHT node answered: UDP to the DHT is blocked, the
// machine is offline, or the bootstrap addresses are wrong.
var ErrUnreachable = errors.New("mailbox: no DHT node answered")

// ErrNotFound means the wait ended before any node returned a valid item for
// the key and salt. A [NotFoundError] carries it.
var ErrNotFound = errors.New("mailbox: no valid item found")

// ErrNotStored means the closest nodes were found but none accepted the item.
var ErrNotStored = errors.New("mailbox: no DHT node stored the item")

// ErrTooLarge means a value or salt is over BEP 44's limits. A [SizeError]
// carries it.
var ErrTooLarge = errors.New("mailbox: too large for a BEP 44 item")

// ErrBadKey means a key does not have ed25519's length.
var ErrBadKey = errors.New("mailbox: not an ed25519 key")

// ErrBadAddress means a bootstrap entry is not HOST:PORT.
var ErrBadAddress = errors.New("mailbox: bootstrap address is not HOST:PORT")

// SizeError says which part of an item is too large and by how much.
type SizeError struct {
	What string // "value" or "salt"
	Len  int    // its length in bytes
	Max  int    // the most BEP 44 allows for it
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("mailbox: %s is %d bytes, at most %d fit in a BEP 44 item", e.What, e.Len, e.Max)
}

// Unwrap lets errors.Is(err, ErrTooLarge) match.
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// NotFoundError is Get's error when its context ends before a valid item
// appeared. It matches ErrNotFound and the context's error with errors.Is, and
// also ErrUnreachable when no node answered at all during the wait.
type NotFoundError struct {
	Answered int   // distinct DHT nodes that answered this Get's queries
	Err      error // why the wait ended: the context's error
}

func (e *NotFoundError) Error() string {
	if e.Answered == 0 {
		return fmt.Sprintf("mailbox: no DHT node answered while waiting for the item: %v", e.Err)
	}
	return fmt.Sprintf("mailbox: no valid item among the answers of %d DHT nodes: %v", e.Answered, e.Err)
}

// Unwrap lets errors.Is match ErrNotFound, the context's error and, when no
// node answered, ErrUnreachable.
func (e *NotFoundError) Unwrap() []error {
	errs := []error{ErrNotFound, e.Err}
	if e.Answered == 0 {
		errs = append(errs, ErrUnreachable)
	}
	return errs
}
