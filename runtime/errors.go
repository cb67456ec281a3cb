package runtime

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidEvent is matched (errors.Is) by every error about a malformed
	// event or envelope: a blank type, an unknown JSON key, a bad id or timestamp.
	ErrInvalidEvent = errors.New("invalid event")

	// ErrMaxSteps is returned by a Runner that was asked to dispatch more events
	// than its WithMaxSteps limit; usually a cycle of organs that never ends.
	ErrMaxSteps = errors.New("max steps exceeded")

	// ErrClosed is returned by a Backend used after Close. Backends return it
	// (possibly wrapped) so that callers can test for it with errors.Is.
	ErrClosed = errors.New("backend closed")

	// ErrPayloadType is matched by the error of Payload when an event's payload
	// is neither the expected Go type nor decodable into it.
	ErrPayloadType = errors.New("payload type mismatch")

	// ErrPermanent is matched by a backend error that retrying cannot fix,
	// such as settling a delivery the consumer never handed out. The Runner
	// logs such an error and never retries it. See Permanent.
	ErrPermanent = errors.New("permanent")
)

// Permanent marks err as one that retrying cannot fix: the result matches
// both err and ErrPermanent. It returns nil for nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// FieldError says which field of an event or JSON envelope is at fault and why.
// It matches ErrInvalidEvent.
type FieldError struct {
	Field  string // JSON name of the field: "id", "timestamp", "event_type", ...
	Reason string // what was wrong, and what is allowed
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid event: field %q: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidEvent.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidEvent }

// HandlerError is a failure of one organ while handling one event: the error it
// returned, or the panic it raised (then Panic and Stack are set).
type HandlerError struct {
	Organ string // "SummonSpirit" or "Oracle.AskQuestion"
	Err   error  // the organ's error, or a description of its panic
	Panic any    // the recovered value, when the organ panicked
	Stack []byte // the goroutine stack at the panic
}

func (e *HandlerError) Error() string {
	if e.Organ == "" {
		return e.Err.Error()
	}
	return "organ " + e.Organ + ": " + e.Err.Error()
}

// Unwrap returns the organ's error.
func (e *HandlerError) Unwrap() error { return e.Err }

// ErrNoRoute is matched by the error a generated Spine returns for an event
// whose type none of its organs listens to.
var ErrNoRoute = errors.New("no organ listens to this event type")

// NoRoute returns the error of a Spine handed an event whose type none of its
// organs listens to; it matches ErrNoRoute.
func NoRoute(in Event) error {
	return fmt.Errorf("event %s has type %q: %w", in.ID, in.Type, ErrNoRoute)
}
