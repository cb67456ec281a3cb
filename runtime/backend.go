package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Backend is a bus: the namespace that services share. Every event type is a
// topic. Enqueue publishes events to their topics; Subscribe joins a service
// to the topics it handles and returns the Consumer it reads them through.
//
// Every service subscribed to a topic gets every event published to it after
// it subscribed (fan-out across services); the consumers of one service —
// its replicas, in one process or many — compete, so each event is handed to
// one of them. An event whose topic has no subscriber is not an error: the
// backend keeps it under its retention policy.
//
// Implementations are safe for concurrent use. runtime/runtimetest holds the
// conformance suite every Backend passes.
type Backend interface {
	// Enqueue publishes events to their topics, in order. After Close it
	// returns an error matching ErrClosed; an event that does not Validate is
	// an error matching ErrInvalidEvent, and then nothing is published.
	Enqueue(ctx context.Context, events ...Event) error

	// Subscribe joins sub.Service to sub.Topics and returns a Consumer of
	// them. A service that is new to the bus starts as sub.Start says;
	// a known one carries on where it was.
	Subscribe(ctx context.Context, sub Subscription) (Consumer, error)

	// Close releases the backend and closes every Consumer it returned:
	// waiting Pulls return ErrClosed, and so do later calls. Events not yet
	// settled stay where the backend keeps them (Redis: pending, for another
	// consumer to reclaim). Close is idempotent.
	Close() error
}

// StartPosition says where a service that is new to a bus starts reading.
type StartPosition int

const (
	// StartNewest, the default, hands a new service only the events published
	// after it subscribed: deploying a service does not replay history.
	StartNewest StartPosition = iota
	// StartOldest hands a new service every event still retained in its topics.
	StartOldest
)

// String returns "newest" or "oldest".
func (p StartPosition) String() string {
	if p == StartOldest {
		return "oldest"
	}
	return "newest"
}

// Subscription is what a service asks of a bus.
type Subscription struct {
	Service string        // the service's name; its replicas share it
	Topics  []string      // the event types it handles
	Start   StartPosition // where a new service starts
}

// Validate reports everything wrong with the subscription at once: a
// missing service name, no topics, or a topic that is not a valid event
// type. Backends call it before they subscribe.
func (s Subscription) Validate() error {
	var problems []error
	if s.Service == "" {
		problems = append(problems, errors.New("the service has no name (runtime.WithService)"))
	}
	if len(s.Topics) == 0 {
		problems = append(problems, errors.New("it lists no topics (runtime.WithTopics)"))
	}
	for _, t := range s.Topics {
		if err := ValidateType(t); err != nil {
			problems = append(problems, fmt.Errorf("topic %q: %w", t, err))
		}
	}
	return errors.Join(problems...)
}

// Delivery is an event handed out by a Consumer, until it is settled with
// Ack, Nack or Release.
type Delivery struct {
	Event
	// Attempt counts the deliveries of this event to this service, from 1,
	// as far as the backend knows.
	Attempt int
	// Tag identifies this delivery to the Consumer that made it, so that two
	// deliveries of one envelope (a producer that published it twice) are
	// settled apart. It is the backend's; leave it as it is.
	Tag uint64
}

// Consumer hands out one service's events and settles them. Every Delivery
// that Pull returns must be settled exactly once: Ack or Nack once handled,
// or Release when it was not started. A Consumer is safe for concurrent use
// by the workers of one Runner.
type Consumer interface {
	// Pull appends up to max deliveries to dst and returns it. It waits up to
	// timeout for the first one (0 does not wait); returning none is not an
	// error. It returns deliveries or an error, never both. A cancelled ctx
	// ends a waiting Pull with nothing; Close ends it with ErrClosed.
	Pull(ctx context.Context, dst []Delivery, max int, timeout time.Duration) ([]Delivery, error)

	// Ack settles d as handled and publishes what its handling emitted.
	// Backends that can do both atomically must (Redis does it in one
	// script), so that an acknowledged input never has its emitted events
	// published twice. Settling a delivery that is settled already is not an
	// error. An error that retrying cannot fix matches ErrPermanent.
	Ack(ctx context.Context, d Delivery, emitted []Event) error

	// Nack settles d as failed with cause; emitted holds what the organs
	// that succeeded emitted. A backend that redelivers drops emitted and
	// hands d out again later (the next attempt emits again), and publishes
	// emitted with d's dead letter when it gives up; a backend that cannot
	// redeliver publishes emitted at once. Errors as for Ack.
	Nack(ctx context.Context, d Delivery, emitted []Event, cause error) error

	// Release hands deliveries that were not started back to the service, to
	// be handed out again (Redis: reclaimable by any replica at once).
	Release(ctx context.Context, ds ...Delivery) error

	// Close leaves the bus: deliveries not settled stay with the service.
	// It is idempotent.
	Close() error
}

// Deferrer is implemented by a Consumer that holds events it will hand out
// later without anything new being published — failed events waiting for
// their retry. RunUntilIdle is not idle while Deferred is above zero.
type Deferrer interface {
	// Deferred returns how many events the consumer will hand out later.
	Deferred() int
}

// deferred returns how many events c will hand out later.
func deferred(c Consumer) int {
	if d, ok := c.(Deferrer); ok {
		return d.Deferred()
	}
	return 0
}
