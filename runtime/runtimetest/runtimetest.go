// Package runtimetest is the conformance suite every runtime.Backend passes:
// FIFO order from one producer, pull timeouts and limits, ack with emitted
// events, close semantics, and concurrent producers and consumers. A backend's
// own tests call Run with a constructor for fresh, empty backends.
package runtimetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/necrostack/necrostack/runtime"
)

// Item is the payload of the suite's events.
type Item struct {
	Producer int `json:"producer"`
	Seq      int `json:"seq"`
}

// NewBackend returns a fresh, empty backend; the suite closes it (closing twice
// must be harmless). Backends that need cleanup register it with t.Cleanup.
type NewBackend func(t *testing.T) runtime.Backend

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, newBackend NewBackend) {
	t.Run("FIFOFromOneProducer", func(t *testing.T) { testFIFO(t, newBackend(t)) })
	t.Run("PullTimeout", func(t *testing.T) { testPullTimeout(t, newBackend(t)) })
	t.Run("PullMax", func(t *testing.T) { testPullMax(t, newBackend(t)) })
	t.Run("AckEnqueuesEmitted", func(t *testing.T) { testAck(t, newBackend(t)) })
	t.Run("RoundTripFields", func(t *testing.T) { testRoundTrip(t, newBackend(t)) })
	t.Run("CloseWakesWaiters", func(t *testing.T) { testCloseWakes(t, newBackend(t)) })
	t.Run("UseAfterClose", func(t *testing.T) { testUseAfterClose(t, newBackend(t)) })
	t.Run("ConcurrentProducersAndConsumers", func(t *testing.T) { testConcurrent(t, newBackend(t)) })
}

// NewItem returns an event of type "ITEM" carrying Item{producer, seq}.
func NewItem(t testing.TB, producer, seq int) runtime.Event {
	t.Helper()
	ev, err := runtime.NewEvent("ITEM", Item{Producer: producer, Seq: seq})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func itemOf(t testing.TB, ev runtime.Event) Item {
	t.Helper()
	it, err := runtime.Payload[Item](ev)
	if err != nil {
		t.Fatalf("payload of %s: %v", ev.ID, err)
	}
	return it
}

// pullOne pulls one event, failing the test if none arrives within 5s.
func pullOne(t testing.TB, b runtime.Backend) runtime.Event {
	t.Helper()
	evs, err := b.Pull(context.Background(), nil, 1, 5*time.Second)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(evs) != 1 {
		t.Fatalf("Pull returned %d events, want 1", len(evs))
	}
	return evs[0]
}

func ack(t testing.TB, b runtime.Backend, ev runtime.Event, emitted ...runtime.Event) {
	t.Helper()
	if err := b.Ack(context.Background(), ev, emitted); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

func testFIFO(t *testing.T, b runtime.Backend) {
	defer b.Close()
	ctx := context.Background()
	const n = 50
	for i := range n {
		if err := b.Enqueue(ctx, NewItem(t, 0, i)); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	for i := range n {
		ev := pullOne(t, b)
		if got := itemOf(t, ev).Seq; got != i {
			t.Fatalf("pull %d returned seq %d: not FIFO", i, got)
		}
		ack(t, b, ev)
	}
}

func testPullTimeout(t *testing.T, b runtime.Backend) {
	defer b.Close()
	ctx := context.Background()
	for _, timeout := range []time.Duration{0, 50 * time.Millisecond} {
		start := time.Now()
		evs, err := b.Pull(ctx, nil, 1, timeout)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("Pull(timeout=%v) on an empty backend: %v; want no error", timeout, err)
		}
		if len(evs) != 0 {
			t.Fatalf("Pull(timeout=%v) on an empty backend returned %d events", timeout, len(evs))
		}
		if took < timeout*9/10 || took > timeout+2*time.Second {
			t.Fatalf("Pull(timeout=%v) returned after %v", timeout, took)
		}
	}
	// A waiting Pull returns as soon as an event arrives.
	done := make(chan runtime.Event, 1)
	go func() {
		evs, err := b.Pull(ctx, nil, 1, 10*time.Second)
		if err == nil && len(evs) == 1 {
			done <- evs[0]
		}
		close(done)
	}()
	want := NewItem(t, 0, 7)
	if err := b.Enqueue(ctx, want); err != nil {
		t.Fatal(err)
	}
	select {
	case got, ok := <-done:
		if !ok || got.ID != want.ID {
			t.Fatalf("waiting Pull got %v (ok=%v), want event %s", got.ID, ok, want.ID)
		}
		ack(t, b, got)
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting Pull did not return within 5s of an Enqueue")
	}
	// A cancelled context ends a waiting Pull without an error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	if _, err := b.Pull(cctx, nil, 1, 10*time.Second); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Pull with a cancelled context: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Pull with a cancelled context took %v", took)
	}
}

func testPullMax(t *testing.T, b runtime.Backend) {
	defer b.Close()
	ctx := context.Background()
	for i := range 5 {
		if err := b.Enqueue(ctx, NewItem(t, 0, i)); err != nil {
			t.Fatal(err)
		}
	}
	var got []runtime.Event
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		before := len(got)
		var err error
		got, err = b.Pull(ctx, got, 2, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(got) - before; n > 2 {
			t.Fatalf("Pull(max=2) returned %d events", n)
		}
	}
	if len(got) != 5 {
		t.Fatalf("pulled %d of 5 events", len(got))
	}
	for i, ev := range got {
		if s := itemOf(t, ev).Seq; s != i {
			t.Fatalf("event %d has seq %d", i, s)
		}
		ack(t, b, ev)
	}
}

func testAck(t *testing.T, b runtime.Backend) {
	defer b.Close()
	ctx := context.Background()
	if err := b.Enqueue(ctx, NewItem(t, 0, 0)); err != nil {
		t.Fatal(err)
	}
	in := pullOne(t, b)
	c1, _ := runtime.NewChildEvent(in, "ITEM", Item{Producer: 1, Seq: 1})
	c2, _ := runtime.NewChildEvent(in, "ITEM", Item{Producer: 1, Seq: 2})
	ack(t, b, in, c1, c2)
	for _, want := range []runtime.Event{c1, c2} {
		got := pullOne(t, b)
		if got.ID != want.ID || got.CausationID != in.ID || got.CorrelationID != in.ID {
			t.Fatalf("after Ack pulled %s (causation %s, correlation %s), want %s caused by %s",
				got.ID, got.CausationID, got.CorrelationID, want.ID, in.ID)
		}
		ack(t, b, got)
	}
	if evs, err := b.Pull(ctx, nil, 1, 0); err != nil || len(evs) != 0 {
		t.Fatalf("after acking everything, Pull returned %d events, err %v", len(evs), err)
	}
}

func testRoundTrip(t *testing.T, b runtime.Backend) {
	defer b.Close()
	want := NewItem(t, 3, 9)
	if err := b.Enqueue(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	got := pullOne(t, b)
	if got.ID != want.ID || got.Type != want.Type || !got.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("pulled %s %s %v, want %s %s %v", got.ID, got.Type, got.Timestamp, want.ID, want.Type, want.Timestamp)
	}
	if it := itemOf(t, got); it != (Item{3, 9}) {
		t.Fatalf("payload %+v, want {3 9}", it)
	}
	ack(t, b, got)
}

func testCloseWakes(t *testing.T, b runtime.Backend) {
	errc := make(chan error, 3)
	var started sync.WaitGroup
	for range 3 {
		started.Add(1)
		go func() {
			started.Done()
			_, err := b.Pull(context.Background(), nil, 1, 30*time.Second)
			errc <- err
		}()
	}
	started.Wait()
	// The pullers may not be waiting yet; Close must end their Pull either way.
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 3 {
		select {
		case err := <-errc:
			if !errors.Is(err, runtime.ErrClosed) {
				t.Fatalf("Pull ended by Close returned %v, want an error matching runtime.ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not wake a waiting Pull within 10s")
		}
	}
}

func testUseAfterClose(t *testing.T, b runtime.Backend) {
	ctx := context.Background()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Enqueue(ctx, NewItem(t, 0, 0)); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("Enqueue after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Pull(ctx, nil, 1, 0); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("Pull after Close: %v, want ErrClosed", err)
	}
}

func testConcurrent(t *testing.T, b runtime.Backend) {
	defer b.Close()
	const producers, perProducer, consumers = 4, 250, 4
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, producers+consumers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProducer; i += 5 {
				batch := make([]runtime.Event, 0, 5)
				for j := i; j < i+5; j++ {
					ev, _ := runtime.NewEvent("ITEM", Item{Producer: p, Seq: j})
					batch = append(batch, ev)
				}
				if err := b.Enqueue(ctx, batch...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var (
		mu   sync.Mutex
		seen = map[Item]int{}
	)
	total := producers * perProducer
	var cwg sync.WaitGroup
	deadline := time.Now().Add(60 * time.Second)
	for range consumers {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			var buf []runtime.Event
			for time.Now().Before(deadline) {
				mu.Lock()
				n := 0
				for _, c := range seen {
					n += c
				}
				mu.Unlock()
				if n >= total {
					return
				}
				var err error
				buf, err = b.Pull(ctx, buf[:0], 3, 50*time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				for _, ev := range buf {
					it, err := runtime.Payload[Item](ev)
					if err != nil {
						errs <- err
						return
					}
					if err := b.Ack(ctx, ev, nil); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					seen[it]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	cwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for p := range producers {
		for i := range perProducer {
			if c := seen[Item{p, i}]; c != 1 {
				t.Errorf("event %d of producer %d was pulled %d times, want exactly once", i, p, c)
			}
		}
	}
	if len(seen) != total {
		t.Errorf("pulled %d distinct events, want %d", len(seen), total)
	}
	if t.Failed() {
		t.Logf("%d producers x %d events, %d consumers", producers, perProducer, consumers)
	}
}
