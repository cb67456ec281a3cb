package baseline

import (
	"context"
	"fmt"
	"sync"
)

// Event is the in-memory event: a type and the typed payload, by value.
type Event struct {
	Type    string
	Payload any
}

// Ring is a FIFO of events on a power-of-two circular buffer. It grows by
// doubling and never shrinks, so a ring reused at one depth stops
// allocating. The zero value is an empty ring.
type Ring struct {
	buf  []Event
	head int
	n    int
}

// Len returns the number of events queued.
func (r *Ring) Len() int { return r.n }

// Push appends ev.
func (r *Ring) Push(ev Event) {
	if r.n == len(r.buf) {
		buf := make([]Event, max(2*len(r.buf), 16))
		k := copy(buf, r.buf[r.head:])
		copy(buf[k:], r.buf[:r.head])
		r.buf, r.head = buf, 0
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = ev
	r.n++
}

// Pop removes and returns the oldest event; the ring must not be empty.
func (r *Ring) Pop() Event {
	ev := r.buf[r.head]
	r.buf[r.head] = Event{} // let the payload be collected
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return ev
}

// Chain holds the organs with state.
type Chain struct {
	Oracle Oracle
	Sink   Sink
}

// Dispatch hands in to its organ with a switch on the type and a type
// assertion, and returns the event the organ emitted, if any.
func (c *Chain) Dispatch(ctx context.Context, in Event) (out Event, emitted bool, err error) {
	switch in.Type {
	case TypeSummonRitual:
		r, err := SummonSpirit(ctx, in.Payload.(SummonRitual))
		return Event{TypeSpiritAppeared, r}, err == nil, err
	case TypeSpiritAppeared:
		r, err := c.Oracle.AskQuestion(ctx, in.Payload.(SpiritAppeared))
		return Event{TypeAnswerGenerated, r}, err == nil, err
	case TypeAnswerGenerated:
		r, err := InterpretResponse(ctx, in.Payload.(AnswerGenerated))
		return Event{TypeOmenRevealed, r}, err == nil, err
	case TypeOmenRevealed:
		return Event{}, false, c.Sink.ManifestEffect(ctx, in.Payload.(OmenRevealed))
	}
	return Event{}, false, fmt.Errorf("no organ listens to %q", in.Type)
}

// Drain handles the events of q, and those they emit, until q is empty:
// one goroutine, no locks.
func (c *Chain) Drain(ctx context.Context, q *Ring) error {
	for q.Len() > 0 {
		child, ok, err := c.Dispatch(ctx, q.Pop())
		if err != nil {
			return err
		}
		if ok {
			q.Push(child)
		}
	}
	return nil
}

// Queue is a Ring shared by goroutines: a mutex guards it and a condition
// variable wakes a consumer waiting for an event.
type Queue struct {
	mu     sync.Mutex
	cond   sync.Cond
	ring   Ring
	closed bool
}

// NewQueue returns an empty, open queue.
func NewQueue() *Queue {
	q := &Queue{}
	q.cond.L = &q.mu
	return q
}

// Push appends ev and wakes a waiting consumer.
func (q *Queue) Push(ev Event) {
	q.mu.Lock()
	q.ring.Push(ev)
	q.mu.Unlock()
	q.cond.Signal()
}

// Pop waits for an event and returns it; false once the queue is closed
// and empty.
func (q *Queue) Pop() (Event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.ring.Len() == 0 {
		if q.closed {
			return Event{}, false
		}
		q.cond.Wait()
	}
	return q.ring.Pop(), true
}

// Close ends Serve once the queue is empty.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// Serve handles the events of q, and pushes what they emit back on it, until
// q is closed and empty: the service-mode consumer goroutine.
func (c *Chain) Serve(ctx context.Context, q *Queue) error {
	for {
		ev, ok := q.Pop()
		if !ok {
			return nil
		}
		child, emitted, err := c.Dispatch(ctx, ev)
		if err != nil {
			return err
		}
		if emitted {
			q.Push(child)
		}
	}
}
