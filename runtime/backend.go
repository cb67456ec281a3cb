package runtime

import (
	"context"
	"time"
)

// Backend is where every queue lives: the Runner holds no events of its own
// beyond the ones its workers are handling. Implementations must be safe for
// concurrent use. runtime/runtimetest holds the conformance suite every
// Backend passes.
type Backend interface {
	// Enqueue appends events to the queue, in order. After Close it returns an
	// error matching ErrClosed.
	Enqueue(ctx context.Context, events ...Event) error

	// Pull appends up to max events to dst and returns it. It waits up to
	// timeout for the first event (a timeout of 0 does not wait); returning no
	// events means "nothing yet" and is not an error. After Close, or once a
	// Close wakes it, it returns an error matching ErrClosed. A backend may
	// fetch in batches, but must not hand out more than max.
	Pull(ctx context.Context, dst []Event, max int, timeout time.Duration) ([]Event, error)

	// Ack settles an event returned by Pull as handled and enqueues what its
	// handling emitted. Backends that can do both atomically must (Redis does
	// it in one script), so that an acknowledged input never has its emitted
	// events written twice.
	Ack(ctx context.Context, in Event, emitted []Event) error

	// Close releases the backend: waiting Pulls return ErrClosed, and so do
	// later calls. Events not yet acknowledged stay where the backend keeps
	// them (in Redis: pending, for another consumer to reclaim).
	Close() error
}

// Nacker is implemented by backends that redeliver failed events. When a
// handler fails, the Runner calls Nack instead of Ack and discards what the
// other organs emitted for that event: the redelivery emits it again. Backends
// without Nack get Ack with the emitted events of the organs that succeeded.
type Nacker interface {
	// Nack reports that handling in failed with cause.
	Nack(ctx context.Context, in Event, cause error) error
}
