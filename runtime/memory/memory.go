// Package memory is the in-process bus: every event type is a topic, every
// subscribed service has a FIFO queue, and typed payloads pass by value with
// no serialisation. Several Spines of one process join one Backend — a
// modular monolith, or a multi-service test without Redis — with the same
// semantics as runtime/redisstream: fan-out across services, competition
// within one. Nothing survives the process, and a failed event cannot be
// redelivered: Nack settles it like Ack.
package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/necrostack/necrostack/runtime"
)

// ErrClosed is returned by a Backend or Consumer used after Close. It is
// runtime.ErrClosed.
var ErrClosed = runtime.ErrClosed

// Defaults of the retention of topics that no service subscribes to.
const (
	DefaultRetainLen = 10_000
	DefaultRetainAge = 24 * time.Hour
)

// DefaultDeadLetterLimit is how many dead letters a service keeps unless
// WithDeadLetterLimit says otherwise.
const DefaultDeadLetterLimit = 10_000

// Option configures a Backend.
type Option func(*Backend)

// WithRetention bounds what a topic that no service subscribes to keeps for
// a service that subscribes later with runtime.StartOldest: at most n events
// (0 keeps none), none older than age (0: no age limit). Defaults:
// DefaultRetainLen, DefaultRetainAge.
func WithRetention(n int, age time.Duration) Option {
	return func(b *Backend) { b.retainLen, b.retainAge = max(n, 0), max(age, 0) }
}

// WithDeadLetterLimit sets how many dead letters each service keeps; beyond
// it the oldest are dropped and counted (DeadLettersDropped).
func WithDeadLetterLimit(n int) Option {
	return func(b *Backend) { b.deadLimit = max(n, 1) }
}

// Backend is an in-memory bus. The zero value is not usable; call New.
type Backend struct {
	retainLen int
	retainAge time.Duration
	deadLimit int

	mu       sync.Mutex
	closed   bool
	seq      uint64 // publish order, across topics
	topics   map[string]*topic
	services map[string]*service
	// idleWake is closed (and replaced) when the bus may have gone idle
	// while WaitIdle calls wait.
	idleWake    chan struct{}
	idleWaiters int
}

// topic is one event type: who subscribes, and what it keeps while nobody does.
type topic struct {
	subs     []*service
	retained ring[sequenced]
}

type sequenced struct {
	seq uint64
	ev  runtime.Event
}

// service is one subscribed service: its queue, shared by its consumers.
type service struct {
	name     string
	topics   map[string]bool
	queue    ring[runtime.Event]
	tags     tags // deliveries out, not settled
	inFlight int
	// wake is closed (and replaced) when events arrive while Pulls wait, or
	// when the bus closes, releasing every waiting Pull at once.
	wake        chan struct{}
	waiters     int
	dead        ring[DeadLetter]
	deadDropped int
}

// DeadLetter is an event a service failed to handle.
type DeadLetter struct {
	Event   runtime.Event
	Service string
	Reason  string // runtime.ReasonBadPayload, runtime.ReasonUnknownEventType or runtime.ReasonFailed
	Detail  string // the failure, in words
}

var _ runtime.Backend = (*Backend)(nil)

// New returns an empty, open bus.
func New(opts ...Option) *Backend {
	b := &Backend{
		retainLen: DefaultRetainLen,
		retainAge: DefaultRetainAge,
		deadLimit: DefaultDeadLetterLimit,
		topics:    map[string]*topic{},
		services:  map[string]*service{},
		idleWake:  make(chan struct{}),
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

// validate checks events before an op publishes them; what names them.
func validate(op, what string, events []runtime.Event) error {
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return fmt.Errorf("memory: %s: %s event %d of %d: %w", op, what, i+1, len(events), err)
		}
	}
	return nil
}

// Enqueue publishes events in order: each goes to the queue of every service
// subscribed to its type, or is retained by its topic when there is none. It
// fails with ErrClosed after Close and with runtime.ErrInvalidEvent for an
// event that does not Validate; then nothing is published.
func (b *Backend) Enqueue(_ context.Context, events ...runtime.Event) error {
	if err := validate("enqueue", "published", events); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("memory: enqueue: %w", ErrClosed)
	}
	b.publish(events)
	return nil
}

// publish appends events to their topics; b.mu is held.
func (b *Backend) publish(events []runtime.Event) {
	for i := range events {
		ev := events[i]
		t := b.topic(ev.Type)
		b.seq++
		if len(t.subs) == 0 {
			b.retain(t, ev)
			continue
		}
		for _, s := range t.subs {
			s.queue.pushBack(ev)
			if s.waiters > 0 {
				close(s.wake)
				s.wake, s.waiters = make(chan struct{}), 0
			}
		}
	}
}

func (b *Backend) topic(name string) *topic {
	t := b.topics[name]
	if t == nil {
		t = &topic{}
		b.topics[name] = t
	}
	return t
}

// retain keeps ev in a topic nobody subscribes to, within the retention.
func (b *Backend) retain(t *topic, ev runtime.Event) {
	if b.retainLen == 0 {
		return
	}
	t.retained.pushBack(sequenced{b.seq, ev})
	for t.retained.len() > b.retainLen {
		t.retained.popFront()
	}
	if b.retainAge > 0 {
		oldest := ev.Timestamp.Add(-b.retainAge)
		for t.retained.len() > 0 && t.retained.front().ev.Timestamp.Before(oldest) {
			t.retained.popFront()
		}
	}
}

// Subscribe joins sub.Service to sub.Topics and returns a Consumer of its
// queue. Consumers of one service compete for its events. A service new to
// the bus, or a topic new to a service, starts as sub.Start says: with
// runtime.StartOldest it first gets what the topics retained, in publish
// order.
func (b *Backend) Subscribe(_ context.Context, sub runtime.Subscription) (runtime.Consumer, error) {
	if err := sub.Validate(); err != nil {
		return nil, runtime.Permanent(fmt.Errorf("memory: subscribe %q: %w", sub.Service, err))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("memory: subscribe %s: %w", sub.Service, ErrClosed)
	}
	s := b.services[sub.Service]
	if s == nil {
		s = &service{name: sub.Service, topics: map[string]bool{}, wake: make(chan struct{})}
		b.services[sub.Service] = s
	}
	var history []sequenced
	for _, name := range sub.Topics {
		if s.topics[name] {
			continue
		}
		s.topics[name] = true
		t := b.topic(name)
		if sub.Start == runtime.StartOldest {
			for i := range t.retained.len() {
				history = append(history, t.retained.at(i))
			}
		}
		t.retained.clear() // the topic has a subscriber now: it keeps nothing of its own
		t.subs = append(t.subs, s)
	}
	mergeBySeq(history)
	for _, h := range history {
		s.queue.pushBack(h.ev)
	}
	return &Consumer{b: b, s: s}, nil
}

// mergeBySeq sorts the retained events of several topics into publish order.
func mergeBySeq(h []sequenced) {
	slices.SortFunc(h, func(a, b sequenced) int { return cmp.Compare(a.seq, b.seq) })
}

// Len reports how many events are queued for all services, not counting
// those handed out.
func (b *Backend) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.services {
		n += s.queue.len()
	}
	return n
}

// idle reports whether no service has an event queued or in flight; b.mu is held.
func (b *Backend) idle() bool {
	for _, s := range b.services {
		if s.queue.len() > 0 || s.inFlight > 0 {
			return false
		}
	}
	return true
}

// mayBeIdle wakes WaitIdle calls when the bus is idle; b.mu is held.
func (b *Backend) mayBeIdle() {
	if b.idleWaiters > 0 && (b.closed || b.idle()) {
		close(b.idleWake)
		b.idleWake, b.idleWaiters = make(chan struct{}), 0
	}
}

// WaitIdle blocks until no service has an event queued or in flight — every
// chain started on the bus has ended — or ctx ends, or the bus closes. It is
// how a process hosting several services knows they are done.
func (b *Backend) WaitIdle(ctx context.Context) error {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return fmt.Errorf("memory: wait idle: %w", ErrClosed)
		}
		if b.idle() {
			b.mu.Unlock()
			return nil
		}
		wake := b.idleWake
		b.idleWaiters++
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close wakes every waiting Pull; later calls fail with ErrClosed. Queued
// events are dropped. Close is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for _, s := range b.services {
		s.queue.clear()
		close(s.wake)
	}
	for _, t := range b.topics {
		t.retained.clear()
	}
	close(b.idleWake)
	return nil
}

// Consumer is one consumer of a service on a memory bus.
type Consumer struct {
	b      *Backend
	s      *service
	closed bool // guarded by b.mu
}

var _ runtime.Consumer = (*Consumer)(nil)

func (c *Consumer) errClosed(op string) error {
	return fmt.Errorf("memory: %s for service %s: %w", op, c.s.name, ErrClosed)
}

// Pull hands out up to max of the service's oldest events, waiting up to
// timeout for the first. It returns nothing when none arrives in time or ctx
// ends, and ErrClosed once the consumer or the bus is closed.
func (c *Consumer) Pull(ctx context.Context, dst []runtime.Delivery, max int, timeout time.Duration) ([]runtime.Delivery, error) {
	var timer *time.Timer
	b, s := c.b, c.s
	for {
		b.mu.Lock()
		if b.closed || c.closed {
			b.mu.Unlock()
			return dst, c.errClosed("pull")
		}
		if n := min(s.queue.len(), max); n > 0 {
			for range n {
				dst = append(dst, runtime.Delivery{Event: s.queue.popFront(), Attempt: 1, Tag: s.tags.next()})
			}
			s.inFlight += n
			b.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return dst, nil
		}
		if timeout <= 0 || max <= 0 {
			b.mu.Unlock()
			return dst, nil
		}
		wake := s.wake
		s.waiters++
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(timeout)
			defer timer.Stop()
		}
		select {
		case <-wake:
		case <-timer.C:
			return dst, nil
		case <-ctx.Done():
			return dst, nil
		}
	}
}

// settle ends delivery d: it reports whether d was outstanding, and an error
// for a delivery this service never handed out; b.mu is held.
func (c *Consumer) settle(op string, d runtime.Delivery) (bool, error) {
	ok, known := c.s.tags.settle(d.Tag)
	if !known {
		return false, runtime.Permanent(fmt.Errorf("memory: %s event %s (%s): service %s never handed out delivery %d", op, d.ID, d.Type, c.s.name, d.Tag))
	}
	if ok {
		c.s.inFlight--
	}
	return ok, nil
}

// Ack settles d and publishes what its handling emitted, under one lock: no
// other consumer sees the bus between the two. Settling d again does nothing.
func (c *Consumer) Ack(_ context.Context, d runtime.Delivery, emitted []runtime.Event) error {
	return c.settleWith("ack", d, emitted, nil)
}

// settleWith settles d, publishes emitted and runs also, under one lock.
func (c *Consumer) settleWith(op string, d runtime.Delivery, emitted []runtime.Event, also func(*service)) error {
	if err := validate(op, "emitted", emitted); err != nil {
		return runtime.Permanent(err)
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return c.errClosed(op)
	}
	ok, err := c.settle(op, d)
	if err != nil || !ok {
		return err
	}
	b.publish(emitted)
	if also != nil {
		also(c.s)
	}
	b.mayBeIdle()
	return nil
}

// Nack settles d as a dead letter of the service: a memory bus cannot
// redeliver. What the organs that succeeded emitted is published.
func (c *Consumer) Nack(_ context.Context, d runtime.Delivery, emitted []runtime.Event, cause error) error {
	reason := runtime.PermanentReason(cause)
	if reason == "" {
		reason = runtime.FinalReason(cause)
	}
	if reason == "" {
		reason = runtime.ReasonFailed
	}
	detail := "unknown failure"
	if cause != nil {
		detail = cause.Error()
	}
	return c.settleWith("nack", d, emitted, func(s *service) {
		s.dead.pushBack(DeadLetter{Event: d.Event, Service: s.name, Reason: reason, Detail: detail})
		if s.dead.len() > c.b.deadLimit {
			s.dead.popFront()
			s.deadDropped++
		}
	})
}

// DeadLetters returns the dead letters of service, oldest first.
func (b *Backend) DeadLetters(service string) []DeadLetter {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.services[service]
	if s == nil {
		return nil
	}
	out := make([]DeadLetter, s.dead.len())
	for i := range out {
		out[i] = s.dead.at(i)
	}
	return out
}

// DeadLettersDropped reports how many dead letters of service were dropped
// because it held WithDeadLetterLimit of them.
func (b *Backend) DeadLettersDropped(service string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.services[service]; s != nil {
		return s.deadDropped
	}
	return 0
}

// Release puts deliveries that were not started back at the front of the
// service's queue, in their order.
func (c *Consumer) Release(_ context.Context, ds ...runtime.Delivery) error {
	b, s := c.b, c.s
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return c.errClosed("release")
	}
	var errs []error
	for i := len(ds) - 1; i >= 0; i-- {
		ok, err := c.settle("release", ds[i])
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			s.queue.pushFront(ds[i].Event)
		}
	}
	if s.waiters > 0 && s.queue.len() > 0 {
		close(s.wake)
		s.wake, s.waiters = make(chan struct{}), 0
	}
	b.mayBeIdle()
	return errors.Join(errs...)
}

// Close ends this consumer: its Pulls fail with ErrClosed. The service and
// its queue stay on the bus for its other consumers. Close is idempotent.
func (c *Consumer) Close() error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if !c.closed {
		c.closed = true
		if c.s.waiters > 0 && !b.closed {
			close(c.s.wake) // wake this consumer's waiting Pulls; the others wait again
			c.s.wake, c.s.waiters = make(chan struct{}), 0
		}
	}
	return nil
}
