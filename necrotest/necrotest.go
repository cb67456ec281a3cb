// Package necrotest helps users test their own organs: run a generated Spine
// on an in-memory backend that records every event, then assert on what was
// emitted — by type, payload and causation — with failure messages that show
// the whole event chain.
//
//	b := necrotest.NewBackend(t)
//	spine := seance.NewSpine(b, seance.NewOracle(1), &seance.Manifestation{Out: io.Discard})
//	necrotest.RunUntilIdle(t, spine, b, seance.NewSummonRitualEvent(seance.SummonRitual{Spirit: "Edgar"}))
//	omen := necrotest.One[seance.OmenRevealed](t, b, seance.EventOmenRevealed)
package necrotest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

// Backend is a memory bus that records every event published on it, in
// order, and which events were acknowledged.
type Backend struct {
	mem *memory.Backend

	mu     sync.Mutex
	events []runtime.Event
	acked  map[uuid.UUID]bool
}

var _ runtime.Backend = (*Backend)(nil)

// NewBackend returns an empty recording backend, closed when the test ends.
func NewBackend(t testing.TB) *Backend {
	b := &Backend{mem: memory.New(), acked: map[uuid.UUID]bool{}}
	t.Cleanup(func() { b.Close() })
	return b
}

// Enqueue records events and publishes them.
func (b *Backend) Enqueue(ctx context.Context, events ...runtime.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.mem.Enqueue(ctx, events...); err != nil {
		return err
	}
	b.events = append(b.events, events...)
	return nil
}

// Subscribe subscribes to the memory bus; the consumer records what it
// settles.
func (b *Backend) Subscribe(ctx context.Context, sub runtime.Subscription) (runtime.Consumer, error) {
	c, err := b.mem.Subscribe(ctx, sub)
	if err != nil {
		return nil, err
	}
	return &consumer{Consumer: c, b: b}, nil
}

// Close closes the underlying memory bus.
func (b *Backend) Close() error { return b.mem.Close() }

// Memory returns the underlying memory bus, for its dead letters.
func (b *Backend) Memory() *memory.Backend { return b.mem }

// consumer records the events a settle publishes, and the inputs acknowledged.
type consumer struct {
	runtime.Consumer
	b *Backend
}

func (c *consumer) Ack(ctx context.Context, d runtime.Delivery, emitted []runtime.Event) error {
	return c.record(d, emitted, true, func() error { return c.Consumer.Ack(ctx, d, emitted) })
}

func (c *consumer) Nack(ctx context.Context, d runtime.Delivery, emitted []runtime.Event, cause error) error {
	return c.record(d, emitted, false, func() error { return c.Consumer.Nack(ctx, d, emitted, cause) })
}

// record settles under the recording lock, so that the record keeps the
// order in which events were published.
func (c *consumer) record(d runtime.Delivery, emitted []runtime.Event, acked bool, settle func() error) error {
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := settle(); err != nil {
		return err
	}
	b.events = append(b.events, emitted...)
	if acked {
		b.acked[d.ID] = true
	}
	return nil
}

// Events returns every event enqueued so far, in order.
func (b *Backend) Events() []runtime.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]runtime.Event(nil), b.events...)
}

// OfType returns the recorded events of one type, in order.
func (b *Backend) OfType(eventType string) []runtime.Event {
	var out []runtime.Event
	for _, ev := range b.Events() {
		if ev.Type == eventType {
			out = append(out, ev)
		}
	}
	return out
}

// Acked reports whether the event with this ID was acknowledged.
func (b *Backend) Acked(id uuid.UUID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.acked[id]
}

// Tree renders the recorded events as causation trees, one line per event:
// type, short ID and payload, children indented under their cause.
func (b *Backend) Tree() string {
	events := b.Events()
	children := map[uuid.UUID][]runtime.Event{}
	known := map[uuid.UUID]bool{}
	for _, ev := range events {
		known[ev.ID] = true
	}
	var roots []runtime.Event
	for _, ev := range events {
		if ev.CausationID == uuid.Nil || !known[ev.CausationID] {
			roots = append(roots, ev)
		} else {
			children[ev.CausationID] = append(children[ev.CausationID], ev)
		}
	}
	var sb strings.Builder
	var walk func(ev runtime.Event, depth int)
	walk = func(ev runtime.Event, depth int) {
		fmt.Fprintf(&sb, "%s%s %s %+v\n", strings.Repeat("  ", depth), ev.Type, ev.ID.String()[:8], ev.Payload)
		for _, c := range children[ev.ID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	if sb.Len() == 0 {
		return "(no events)\n"
	}
	return sb.String()
}

// Runner is what a generated Spine provides.
type Runner interface {
	RunUntilIdle(ctx context.Context, start ...runtime.Event) error
}

// RunUntilIdle runs s until idle, with a 30-second limit, failing the test
// (and showing the events so far) if the run fails.
func RunUntilIdle(t testing.TB, s Runner, b *Backend, start ...runtime.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.RunUntilIdle(ctx, start...); err != nil {
		t.Fatalf("RunUntilIdle: %v\nevents so far:\n%s", err, b.Tree())
	}
}

// Count fails the test unless exactly n events of eventType were recorded.
func Count(t testing.TB, b *Backend, eventType string, n int) []runtime.Event {
	t.Helper()
	got := b.OfType(eventType)
	if len(got) != n {
		t.Fatalf("%d %s events were emitted, want %d; events:\n%s", len(got), eventType, n, b.Tree())
	}
	return got
}

// Payloads returns the payloads of the recorded events of eventType, failing
// the test if one is not a T.
func Payloads[T any](t testing.TB, b *Backend, eventType string) []T {
	t.Helper()
	var out []T
	for _, ev := range b.OfType(eventType) {
		p, err := runtime.Payload[T](ev)
		if err != nil {
			t.Fatalf("%v; events:\n%s", err, b.Tree())
		}
		out = append(out, p)
	}
	return out
}

// One returns the payload of the only recorded event of eventType, failing the
// test unless there is exactly one.
func One[T any](t testing.TB, b *Backend, eventType string) T {
	t.Helper()
	Count(t, b, eventType, 1)
	return Payloads[T](t, b, eventType)[0]
}

// CausedBy fails the test unless child was emitted while handling parent.
func CausedBy(t testing.TB, b *Backend, child, parent runtime.Event) {
	t.Helper()
	if child.CausationID != parent.ID {
		t.Fatalf("%s %s was not caused by %s %s; events:\n%s",
			child.Type, child.ID.String()[:8], parent.Type, parent.ID.String()[:8], b.Tree())
	}
}

// Chain fails the test unless the recorded events form one causation chain
// through exactly these types, starting from a root event, and returns it.
func Chain(t testing.TB, b *Backend, types ...string) []runtime.Event {
	t.Helper()
	var chain []runtime.Event
	for i, typ := range types {
		n := len(chain)
		for _, ev := range b.OfType(typ) {
			if i == 0 || ev.CausationID == chain[i-1].ID {
				chain = append(chain, ev)
				break
			}
		}
		if len(chain) == n {
			t.Fatalf("no chain %s: it breaks at %s; events:\n%s", strings.Join(types, " → "), typ, b.Tree())
			return nil
		}
	}
	for _, ev := range chain[1:] {
		if ev.CorrelationID != chain[0].ID {
			t.Fatalf("%s %s does not carry the chain's correlation ID; events:\n%s", ev.Type, ev.ID.String()[:8], b.Tree())
		}
	}
	return chain
}
