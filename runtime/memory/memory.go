// Package memory is the in-process Backend: a FIFO queue in memory. Typed
// payloads pass by value with no serialisation, Ack is a no-op, and nothing
// survives the process. It is the default backend of the demos and of
// necrotest, and safe for any number of concurrent producers and consumers.
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/necrostack/necrostack/runtime"
)

// ErrClosed is returned by a Backend used after Close. It is runtime.ErrClosed.
var ErrClosed = runtime.ErrClosed

// Backend is an unbounded in-memory FIFO queue of events. The zero value is
// not usable; call New.
type Backend struct {
	mu     sync.Mutex
	queue  []runtime.Event // queue[head:] are queued, oldest first
	head   int
	closed bool
	// wake is closed (and replaced) when events arrive while Pulls wait, or
	// when the backend closes, releasing every waiting Pull at once.
	wake    chan struct{}
	waiters int
}

var _ runtime.Backend = (*Backend)(nil)

// New returns an empty, open backend.
func New() *Backend {
	return &Backend{wake: make(chan struct{})}
}

// Enqueue appends events in order. It fails with ErrClosed after Close and
// with runtime.ErrInvalidEvent for an event that does not Validate; then
// nothing is enqueued.
func (b *Backend) Enqueue(_ context.Context, events ...runtime.Event) error {
	for i := range events {
		if err := events[i].Validate(); err != nil {
			return fmt.Errorf("memory: enqueue event %d of %d: %w", i+1, len(events), err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("memory: enqueue: %w", ErrClosed)
	}
	if len(events) == 0 {
		return nil
	}
	if b.head > 0 && len(b.queue)+len(events) > cap(b.queue) {
		// Reuse the consumed front before growing.
		n := copy(b.queue, b.queue[b.head:])
		clear(b.queue[n:])
		b.queue, b.head = b.queue[:n], 0
	}
	b.queue = append(b.queue, events...)
	if b.waiters > 0 {
		close(b.wake)
		b.wake, b.waiters = make(chan struct{}), 0
	}
	return nil
}

// Pull appends up to max of the oldest events to dst, waiting up to timeout
// for the first one. It returns dst unchanged when nothing arrives in time or
// ctx ends, and ErrClosed once the backend is closed.
func (b *Backend) Pull(ctx context.Context, dst []runtime.Event, max int, timeout time.Duration) ([]runtime.Event, error) {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return dst, fmt.Errorf("memory: pull: %w", ErrClosed)
		}
		if n := min(len(b.queue)-b.head, max); n > 0 {
			dst = append(dst, b.queue[b.head:b.head+n]...)
			clear(b.queue[b.head : b.head+n])
			b.head += n
			if b.head == len(b.queue) {
				b.queue, b.head = b.queue[:0], 0
			}
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
		wake := b.wake
		b.waiters++
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

// Ack is a no-op for the input; the emitted events are enqueued.
func (b *Backend) Ack(ctx context.Context, _ runtime.Event, emitted []runtime.Event) error {
	if len(emitted) == 0 {
		b.mu.Lock()
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return fmt.Errorf("memory: ack: %w", ErrClosed)
		}
		return nil
	}
	return b.Enqueue(ctx, emitted...)
}

// Len reports how many events are queued.
func (b *Backend) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue) - b.head
}

// Close wakes every waiting Pull; later calls fail with ErrClosed. Queued
// events are dropped. Close is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.queue, b.head = nil, 0
		close(b.wake)
	}
	return nil
}
