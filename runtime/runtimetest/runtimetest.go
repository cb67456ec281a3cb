// Package runtimetest is the conformance suite every runtime.Backend passes:
// FIFO order, pull timeouts and limits, ack with emitted events, nack,
// release, settling twice, duplicate envelopes, close semantics, concurrent
// producers, consumers and Runner workers, and the bus semantics of services
// and topics — fan-out across services, competition within one, start
// positions, retention, lost-group recovery and per-service dead letters.
// A backend's own tests call Run with its Features.
package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/necrostack/necrostack/runtime"
)

// Features describes a backend to the suite.
type Features struct {
	// New returns a fresh, empty bus; the suite closes it (closing twice
	// must be harmless). Backends that need cleanup register it with
	// t.Cleanup. Its topics without subscribers retain at most RetainLen
	// events, and (when Redelivers) it delivers an event at most
	// MaxDeliveries times.
	New func(t *testing.T) runtime.Backend

	// Redelivers is true when Nack hands the event out again (Redis) and
	// false when it settles it at once (memory).
	Redelivers    bool
	MaxDeliveries int
	RetainLen     int

	// Trim applies the retention now, for a backend that applies it
	// periodically; nil when it applies at once.
	Trim func(t *testing.T, b runtime.Backend)

	// LoseGroup makes the backend forget where service is in its topics, as
	// a Redis XGROUP DESTROY does; nil when that cannot happen.
	LoseGroup func(t *testing.T, b runtime.Backend, service string)

	// DeadLetters returns the ids of the events dead-lettered for service,
	// oldest first, with their reasons.
	DeadLetters func(t *testing.T, b runtime.Backend, service string) []DeadLetter
}

// DeadLetter is what the suite needs of a dead letter.
type DeadLetter struct {
	EventID string
	Reason  string
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, f Features) {
	cases := []struct {
		name string
		test func(*testing.T, Features)
	}{
		{"FIFOFromOneProducer", testFIFO},
		{"PullTimeout", testPullTimeout},
		{"PullMax", testPullMax},
		{"AckPublishesEmitted", testAck},
		{"SettleTwice", testSettleTwice},
		{"DuplicateEnvelope", testDuplicateEnvelope},
		{"Nack", testNack},
		{"Release", testRelease},
		{"RoundTripFields", testRoundTrip},
		{"CloseWakesWaiters", testCloseWakes},
		{"UseAfterClose", testUseAfterClose},
		{"ConcurrentProducersAndConsumers", testConcurrent},
		{"ConcurrentPullAndAckOfChains", testConcurrentChains},
		{"RunnerWorkers", testRunnerWorkers},
		{"StopHandsBackWhatWasPulled", testStopHandsBack},
		{"FanOutAcrossServices", testFanOut},
		{"CompetitionWithinService", testCompetition},
		{"EmittedGoToTheirTopics", testEmittedTopics},
		{"StartNewest", testStartNewest},
		{"StartOldestAndRetention", testStartOldest},
		{"LostGroupDoesNotReplay", testLostGroup},
		{"DeadLettersPerService", testDeadLetters},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.test(t, f) })
	}
}

// The suite's event types and services.
const (
	TypeItem  = "ITEM"
	TypeOther = "OTHER"
	TypeStep  = "STEP"
)

// Item is the payload of the suite's events.
type Item struct {
	Producer int `json:"producer"`
	Seq      int `json:"seq"`
}

// NewItem returns an event of type ITEM carrying Item{producer, seq}.
func NewItem(t testing.TB, producer, seq int) runtime.Event {
	t.Helper()
	return newEvent(t, TypeItem, Item{Producer: producer, Seq: seq})
}

func newEvent(t testing.TB, typ string, p any) runtime.Event {
	t.Helper()
	ev, err := runtime.NewEvent(typ, p)
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

func subscribe(t testing.TB, b runtime.Backend, service string, start runtime.StartPosition, topics ...string) runtime.Consumer {
	t.Helper()
	c, err := b.Subscribe(context.Background(), runtime.Subscription{Service: service, Topics: topics, Start: start})
	if err != nil {
		t.Fatalf("Subscribe(%s, %v): %v", service, topics, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// items subscribes service "items" to ITEM, from the oldest retained event.
func items(t testing.TB, b runtime.Backend) runtime.Consumer {
	return subscribe(t, b, "items", runtime.StartOldest, TypeItem)
}

func enqueue(t testing.TB, b runtime.Backend, evs ...runtime.Event) {
	t.Helper()
	if err := b.Enqueue(context.Background(), evs...); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

// pullOne pulls one delivery, failing the test if none arrives within 10s.
func pullOne(t testing.TB, c runtime.Consumer) runtime.Delivery {
	t.Helper()
	ds, err := c.Pull(context.Background(), nil, 1, 10*time.Second)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(ds) != 1 {
		t.Fatalf("Pull returned %d events, want 1", len(ds))
	}
	return ds[0]
}

// pullN pulls until it has n deliveries, failing the test after 20s.
func pullN(t testing.TB, c runtime.Consumer, n int) []runtime.Delivery {
	t.Helper()
	var got []runtime.Delivery
	deadline := time.Now().Add(20 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		var err error
		got, err = c.Pull(context.Background(), got, n-len(got), time.Second)
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
	}
	if len(got) != n {
		t.Fatalf("pulled %d events in 20s, want %d", len(got), n)
	}
	return got
}

// expectNothing fails the test if c hands out anything within wait.
func expectNothing(t testing.TB, c runtime.Consumer, wait time.Duration) {
	t.Helper()
	ds, err := c.Pull(context.Background(), nil, 10, wait)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(ds) > 0 {
		t.Fatalf("Pull handed out %d events (first %s %s), want none", len(ds), ds[0].Type, ds[0].ID)
	}
}

func ack(t testing.TB, c runtime.Consumer, d runtime.Delivery, emitted ...runtime.Event) {
	t.Helper()
	if err := c.Ack(context.Background(), d, emitted); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

func testFIFO(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := items(t, b)
	const n = 50
	for i := range n {
		enqueue(t, b, NewItem(t, 0, i))
	}
	for i := range n {
		d := pullOne(t, c)
		if got := itemOf(t, d.Event).Seq; got != i {
			t.Fatalf("pull %d returned seq %d: not FIFO", i, got)
		}
		if d.Attempt != 1 {
			t.Fatalf("first delivery has Attempt %d, want 1", d.Attempt)
		}
		ack(t, c, d)
	}
}

func testPullTimeout(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := items(t, b)
	ctx := context.Background()
	for _, timeout := range []time.Duration{0, 50 * time.Millisecond} {
		start := time.Now()
		ds, err := c.Pull(ctx, nil, 1, timeout)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("Pull(timeout=%v) on an empty backend: %v; want no error", timeout, err)
		}
		if len(ds) != 0 {
			t.Fatalf("Pull(timeout=%v) on an empty backend returned %d events", timeout, len(ds))
		}
		if took < timeout*9/10 || took > timeout+2*time.Second {
			t.Fatalf("Pull(timeout=%v) returned after %v", timeout, took)
		}
	}
	// A waiting Pull returns as soon as an event arrives.
	done := make(chan runtime.Delivery, 1)
	go func() {
		ds, err := c.Pull(ctx, nil, 1, 10*time.Second)
		if err == nil && len(ds) == 1 {
			done <- ds[0]
		}
		close(done)
	}()
	want := NewItem(t, 0, 7)
	enqueue(t, b, want)
	select {
	case got, ok := <-done:
		if !ok || got.ID != want.ID {
			t.Fatalf("waiting Pull got %v (ok=%v), want event %s", got.ID, ok, want.ID)
		}
		ack(t, c, got)
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting Pull did not return within 5s of an Enqueue")
	}
	// A cancelled context ends a waiting Pull with nothing.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond) // ends while it waits
	defer cancel()
	start := time.Now()
	if ds, err := c.Pull(cctx, nil, 1, 10*time.Second); len(ds) != 0 || (err != nil && cctx.Err() == nil) {
		t.Fatalf("Pull with a cancelled context: %d events, %v", len(ds), err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Pull with a cancelled context took %v", took)
	}
}

func testPullMax(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := items(t, b)
	ctx := context.Background()
	for i := range 5 {
		enqueue(t, b, NewItem(t, 0, i))
	}
	var got []runtime.Delivery
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		before := len(got)
		var err error
		got, err = c.Pull(ctx, got, 2, time.Second)
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
	ackInOrder(t, c, got, 0, "")
}

func testAck(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := items(t, b)
	enqueue(t, b, NewItem(t, 0, 0))
	in := pullOne(t, c)
	c1, _ := runtime.NewChildEvent(in.Event, TypeItem, Item{Producer: 1, Seq: 1})
	c2, _ := runtime.NewChildEvent(in.Event, TypeItem, Item{Producer: 1, Seq: 2})
	ack(t, c, in, c1, c2)
	for _, want := range []runtime.Event{c1, c2} {
		got := pullOne(t, c)
		if got.ID != want.ID || got.CausationID != in.ID || got.CorrelationID != in.ID {
			t.Fatalf("after Ack pulled %s (causation %s, correlation %s), want %s caused by %s",
				got.ID, got.CausationID, got.CorrelationID, want.ID, in.ID)
		}
		ack(t, c, got)
	}
	expectNothing(t, c, 0)
}

// Settling a delivery that is settled already is not an error and publishes
// nothing again.
func testSettleTwice(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := items(t, b)
	enqueue(t, b, NewItem(t, 0, 0))
	in := pullOne(t, c)
	child, _ := runtime.NewChildEvent(in.Event, TypeItem, Item{Producer: 1, Seq: 1})
	ack(t, c, in, child)
	if err := c.Ack(context.Background(), in, []runtime.Event{child}); err != nil {
		t.Fatalf("second Ack of one delivery: %v, want nil", err)
	}
	if err := c.Nack(context.Background(), in, nil, errors.New("late")); err != nil {
		t.Fatalf("Nack after Ack: %v, want nil", err)
	}
	got := pullOne(t, c)
	if got.ID != child.ID {
		t.Fatalf("pulled %s, want the child %s", got.ID, child.ID)
	}
	ack(t, c, got)
	expectNothing(t, c, 100*time.Millisecond)
	// A delivery this consumer never handed out is a permanent error.
	bogus := runtime.Delivery{Event: child, Attempt: 1, Tag: 1 << 60}
	if err := c.Ack(context.Background(), bogus, nil); !errors.Is(err, runtime.ErrPermanent) {
		t.Fatalf("Ack of a delivery never handed out: %v, want an error matching runtime.ErrPermanent", err)
	}
}

// One envelope published twice is two deliveries, handled and settled apart;
// none stays behind.
func testDuplicateEnvelope(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := subscribe(t, b, "items", runtime.StartOldest, TypeItem, TypeOther)
	ev := NewItem(t, 0, 0)
	enqueue(t, b, ev, ev)
	enqueue(t, b, ev)
	ds := pullN(t, c, 3)
	for _, d := range ds {
		if d.ID != ev.ID {
			t.Fatalf("pulled %s, want %s", d.ID, ev.ID)
		}
	}
	// Settle in reverse, each with a child of its own.
	for i := len(ds) - 1; i >= 0; i-- {
		child, _ := runtime.NewChildEvent(ds[i].Event, TypeOther, Item{Seq: i})
		ack(t, c, ds[i], child)
	}
	got := pullN(t, c, 3)
	seqs := []int{}
	for _, d := range got {
		if d.Type != TypeOther {
			t.Fatalf("after settling the duplicates pulled %s %s, want the children", d.Type, d.ID)
		}
		seqs = append(seqs, itemOf(t, d.Event).Seq)
		ack(t, c, d)
	}
	slices.Sort(seqs)
	if !slices.Equal(seqs, []int{0, 1, 2}) {
		t.Fatalf("children %v, want one per delivery [0 1 2]", seqs)
	}
	expectNothing(t, c, 100*time.Millisecond)
}

// Nack: a backend that redelivers hands the event out again, up to
// MaxDeliveries, and publishes what the other organs emitted once, with the
// dead letter; one that cannot redeliver publishes it at once.
func testNack(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := subscribe(t, b, "items", runtime.StartOldest, TypeItem, TypeOther)
	in := NewItem(t, 0, 0)
	enqueue(t, b, in)
	deliveries := 0
	var childIDs []string
	for {
		ds, err := c.Pull(context.Background(), nil, 1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		d := ds[0]
		if d.Type == TypeOther {
			childIDs = append(childIDs, d.ID.String())
			ack(t, c, d)
			continue
		}
		deliveries++
		if d.ID != in.ID || d.Attempt != deliveries {
			t.Fatalf("delivery %d: %s attempt %d, want %s attempt %d", deliveries, d.ID, d.Attempt, in.ID, deliveries)
		}
		child, _ := runtime.NewChildEvent(d.Event, TypeOther, Item{Seq: deliveries})
		if err := c.Nack(context.Background(), d, []runtime.Event{child}, errors.New("failed on purpose")); err != nil {
			t.Fatalf("Nack: %v", err)
		}
		if deliveries > 20 {
			t.Fatal("the event keeps coming back after 20 Nacks")
		}
	}
	want := 1
	if f.Redelivers {
		want = f.MaxDeliveries
	}
	if deliveries != want {
		t.Errorf("the event was delivered %d times, want %d", deliveries, want)
	}
	if len(childIDs) != 1 {
		t.Errorf("what the other organs emitted was published %d times, want once", len(childIDs))
	}
	if f.DeadLetters != nil {
		dead := f.DeadLetters(t, b, "items")
		if len(dead) != 1 || dead[0].EventID != in.ID.String() {
			t.Errorf("dead letters %+v, want one for %s", dead, in.ID)
		}
	}
}

// Release puts deliveries back: they are handed out again, in order.
func testRelease(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := items(t, b)
	for i := range 4 {
		enqueue(t, b, NewItem(t, 0, i))
	}
	ds := pullN(t, c, 3)
	ack(t, c, ds[0])
	if err := c.Release(context.Background(), ds[1:]...); err != nil {
		t.Fatalf("Release: %v", err)
	}
	again := pullN(t, c, 3)
	var seqs []int
	for _, d := range again {
		seqs = append(seqs, itemOf(t, d.Event).Seq)
		ack(t, c, d)
	}
	if !slices.Equal(seqs, []int{1, 2, 3}) {
		t.Fatalf("after Release pulled seqs %v, want [1 2 3]", seqs)
	}
	expectNothing(t, c, 0)
}

func testRoundTrip(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := items(t, b)
	root := NewItem(t, 1, 1)
	want, _ := runtime.NewChildEvent(root, TypeItem, Item{3, 9})
	enqueue(t, b, want)
	got := pullOne(t, c)
	if got.ID != want.ID || got.Type != want.Type || !got.Timestamp.Equal(want.Timestamp) ||
		got.CausationID != root.ID || got.CorrelationID != root.ID {
		t.Fatalf("pulled %+v, want %+v", got.Event, want)
	}
	if it := itemOf(t, got.Event); it != (Item{3, 9}) {
		t.Fatalf("payload %+v, want {3 9}", it)
	}
	ack(t, c, got)
}

func testCloseWakes(t *testing.T, f Features) {
	b := f.New(t)
	c := items(t, b)
	errc := make(chan error, 3)
	var started sync.WaitGroup
	for range 3 {
		started.Add(1)
		go func() {
			started.Done()
			_, err := c.Pull(context.Background(), nil, 1, 30*time.Second)
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

func testUseAfterClose(t *testing.T, f Features) {
	b := f.New(t)
	c := items(t, b)
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
	if _, err := c.Pull(ctx, nil, 1, 0); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("Pull after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(ctx, runtime.Subscription{Service: "late", Topics: []string{TypeItem}}); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// Four producers and four consumers of one service: each event is handed out
// exactly once.
func testConcurrent(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	const producers, perProducer, consumers = 4, 250, 4
	cs := make([]runtime.Consumer, consumers)
	for i := range cs {
		cs[i] = items(t, b)
	}
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
					ev, _ := runtime.NewEvent(TypeItem, Item{Producer: p, Seq: j})
					batch = append(batch, ev)
				}
				if err := b.Enqueue(ctx, batch...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	seen := NewCounter[Item]()
	total := producers * perProducer
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []runtime.Delivery
			for time.Now().Before(deadline) && seen.Total() < total {
				var err error
				buf, err = c.Pull(ctx, buf[:0], 3, 50*time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				for _, d := range buf {
					it, err := runtime.Payload[Item](d.Event)
					if err == nil {
						err = c.Ack(ctx, d, nil)
					}
					if err != nil {
						errs <- err
						return
					}
					seen.Add(it)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for p := range producers {
		for i := range perProducer {
			if n := seen.Get(Item{p, i}); n != 1 {
				t.Errorf("event %d of producer %d was pulled %d times, want exactly once", i, p, n)
			}
		}
	}
}

// Several goroutines pull and ack one consumer concurrently, each ack
// emitting the next hop of a chain: every hop of every chain is handed out
// exactly once and nothing stays behind.
func testConcurrentChains(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	c := subscribe(t, b, "steps", runtime.StartOldest, TypeStep)
	const roots, workers = 200, 6
	enqueueRoots(t, b, roots)
	seen := NewCounter[Step]()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	deadline := time.Now().Add(60 * time.Second)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []runtime.Delivery
			for time.Now().Before(deadline) && seen.Total() < roots*(LastHop+1) {
				var err error
				buf, err = c.Pull(ctx, buf[:0], 4, 20*time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				for _, d := range buf {
					out, err := ChainDispatcher(seen).Dispatch(ctx, d.Event, nil)
					if err == nil {
						err = c.Ack(ctx, d, out)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkSteps(t, seen, roots)
	expectNothing(t, c, 50*time.Millisecond)
}

// A Runner with several workers on the backend handles every hop of every
// chain exactly once and returns from RunUntilIdle.
func testRunnerWorkers(t *testing.T, f Features) {
	for _, workers := range []int{1, 4} {
		for _, batch := range []int{1, runtime.DefaultPullBatch} {
			t.Run(fmt.Sprintf("workers=%d,batch=%d", workers, batch), func(t *testing.T) {
				b := f.New(t)
				defer b.Close()
				const roots = 150
				seen := NewCounter[Step]()
				r := newStepRunner(b, seen, runtime.WithWorkers(workers), runtime.WithPullBatch(batch))
				starts := make([]runtime.Event, roots)
				for i := range starts {
					starts[i] = runtime.MustNewEvent(TypeStep, Step{Root: i})
				}
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				if err := r.RunUntilIdle(ctx, starts...); err != nil {
					t.Fatalf("RunUntilIdle: %v", err)
				}
				checkSteps(t, seen, roots)
			})
		}
	}
}

// Stop lands while several workers pull: every event pulled is handled or
// handed back, so a consumer that joins later finds exactly the rest.
func testStopHandsBack(t *testing.T, f Features) {
	for round := range 5 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			b := f.New(t)
			defer b.Close()
			const roots = 300
			seen := NewCounter[Step]()
			stopAt := 40 + 97*round
			var r *runtime.Runner
			var once sync.Once
			d := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
				out, err := ChainDispatcher(seen).Dispatch(ctx, in, out)
				if seen.Total() >= stopAt {
					once.Do(r.Stop)
				}
				return out, err
			})
			r = runtime.NewRunner(b, d, quiet(), runtime.WithService("steps"), runtime.WithTopics(TypeStep),
				runtime.WithStartAt(runtime.StartOldest), runtime.WithWorkers(4), runtime.WithPullBatch(4))
			starts := make([]runtime.Event, roots)
			for i := range starts {
				starts[i] = runtime.MustNewEvent(TypeStep, Step{Root: i})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := r.RunUntilIdle(ctx, starts...); err != nil {
				t.Fatalf("RunUntilIdle: %v", err)
			}
			if seen.Total() >= roots*(LastHop+1) {
				t.Fatal("the run finished before Stop landed; the test proves nothing")
			}
			// A second replica of the service takes over and finishes.
			r2 := newStepRunner(b, seen, runtime.WithWorkers(4))
			if err := r2.RunUntilIdle(ctx); err != nil {
				t.Fatalf("second RunUntilIdle: %v", err)
			}
			checkSteps(t, seen, roots)
		})
	}
}

// Two services subscribed to one topic each get every event once.
func testFanOut(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	a := subscribe(t, b, "svc-a", runtime.StartNewest, TypeItem)
	bb := subscribe(t, b, "svc-b", runtime.StartNewest, TypeItem, TypeOther)
	const n = 60
	for i := range n {
		enqueue(t, b, NewItem(t, 0, i))
	}
	for name, c := range map[string]runtime.Consumer{"svc-a": a, "svc-b": bb} {
		ackInOrder(t, c, pullN(t, c, n), 0, name+": ")
		expectNothing(t, c, 50*time.Millisecond)
	}
}

// Two consumers of one service share its events: each goes to one of them.
// (Which one is the backend's business: a consumer may fetch a batch ahead.)
func testCompetition(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	cs := []runtime.Consumer{
		subscribe(t, b, "svc", runtime.StartNewest, TypeItem),
		subscribe(t, b, "svc", runtime.StartNewest, TypeItem),
	}
	const n = 40
	for i := range n {
		enqueue(t, b, NewItem(t, 0, i))
	}
	seen := map[int]int{}
	total := 0
	deadline := time.Now().Add(20 * time.Second)
	for total < n && time.Now().Before(deadline) {
		for _, c := range cs {
			ds, err := c.Pull(context.Background(), nil, 3, 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				seen[itemOf(t, d.Event).Seq]++
				total++
				ack(t, c, d)
			}
		}
	}
	for i := range n {
		if seen[i] != 1 {
			t.Fatalf("event %d went to the service's consumers %d times, want once", i, seen[i])
		}
	}
	for _, c := range cs {
		expectNothing(t, c, 50*time.Millisecond)
	}
}

// What a service emits goes to the topic of each emitted event: services
// subscribed to it get it, the emitter (not subscribed) does not.
func testEmittedTopics(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	producer := subscribe(t, b, "producer", runtime.StartNewest, TypeItem)
	consumer := subscribe(t, b, "consumer", runtime.StartNewest, TypeOther)
	in := NewItem(t, 0, 1)
	enqueue(t, b, in)
	d := pullOne(t, producer)
	child, _ := runtime.NewChildEvent(d.Event, TypeOther, Item{Seq: 2})
	ack(t, producer, d, child)
	got := pullOne(t, consumer)
	if got.ID != child.ID || got.CausationID != in.ID {
		t.Fatalf("consumer got %s caused by %s, want %s caused by %s", got.ID, got.CausationID, child.ID, in.ID)
	}
	ack(t, consumer, got)
	expectNothing(t, producer, 50*time.Millisecond)
	expectNothing(t, consumer, 0)
}

// A new service does not see what was published before it subscribed.
func testStartNewest(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	enqueue(t, b, NewItem(t, 0, 0)) // nobody subscribes: retained, and no error
	c := subscribe(t, b, "late", runtime.StartNewest, TypeItem)
	expectNothing(t, c, 100*time.Millisecond)
	enqueue(t, b, NewItem(t, 0, 1))
	d := pullOne(t, c)
	if s := itemOf(t, d.Event).Seq; s != 1 {
		t.Fatalf("a new service got seq %d first, want 1 (published after it subscribed)", s)
	}
	ack(t, c, d)
	// A known service carries on where it was, whatever its start position.
	c.Close()
	enqueue(t, b, NewItem(t, 0, 2))
	again := subscribe(t, b, "late", runtime.StartNewest, TypeItem)
	d = pullOne(t, again)
	if s := itemOf(t, d.Event).Seq; s != 2 {
		t.Fatalf("a known service got seq %d, want 2 (published while it was away)", s)
	}
	ack(t, again, d)
}

// A topic nobody subscribes to keeps its last RetainLen events; a new service
// starting at the oldest gets exactly those, in order.
func testStartOldest(t *testing.T, f Features) {
	b := f.New(t)
	defer b.Close()
	n := f.RetainLen + 25
	for i := range n {
		enqueue(t, b, NewItem(t, 0, i))
	}
	if f.Trim != nil {
		f.Trim(t, b)
	}
	c := subscribe(t, b, "archaeologist", runtime.StartOldest, TypeItem)
	ackInOrder(t, c, pullN(t, c, f.RetainLen), n-f.RetainLen, "retained: ")
	expectNothing(t, c, 100*time.Millisecond)
}

// A service whose position is lost is put back where it last settled: it
// neither replays what it handled nor loses what came after.
func testLostGroup(t *testing.T, f Features) {
	if f.LoseGroup == nil {
		t.Skip("this backend cannot lose a service's position")
	}
	b := f.New(t)
	defer b.Close()
	c := subscribe(t, b, "forgetful", runtime.StartNewest, TypeItem)
	for i := range 10 {
		enqueue(t, b, NewItem(t, 0, i))
	}
	for _, d := range pullN(t, c, 10) {
		ack(t, c, d)
	}
	expectNothing(t, c, 0) // every ack is written
	f.LoseGroup(t, b, "forgetful")
	for i := 10; i < 15; i++ {
		enqueue(t, b, NewItem(t, 0, i))
	}
	ackInOrder(t, c, pullN(t, c, 5), 10, "after the position was lost (no replay, nothing lost): ")
	expectNothing(t, c, 100*time.Millisecond)
}

// A failure that retrying cannot fix is a dead letter of the service that
// failed, and of no other.
func testDeadLetters(t *testing.T, f Features) {
	if f.DeadLetters == nil {
		t.Skip("this backend keeps no dead letters")
	}
	b := f.New(t)
	defer b.Close()
	a := subscribe(t, b, "picky", runtime.StartNewest, TypeItem)
	ok := subscribe(t, b, "tolerant", runtime.StartNewest, TypeItem)
	ev := NewItem(t, 0, 0)
	enqueue(t, b, ev)
	d := pullOne(t, a)
	cause := fmt.Errorf("decode: %w", runtime.ErrPayloadType)
	if err := a.Nack(context.Background(), d, nil, cause); err != nil {
		t.Fatal(err)
	}
	ack(t, ok, pullOne(t, ok))
	expectNothing(t, a, 100*time.Millisecond)
	dead := f.DeadLetters(t, b, "picky")
	if len(dead) != 1 || dead[0].EventID != ev.ID.String() || dead[0].Reason != runtime.ReasonBadPayload {
		t.Fatalf("dead letters of picky: %+v, want one %s for %s", dead, runtime.ReasonBadPayload, ev.ID)
	}
	if other := f.DeadLetters(t, b, "tolerant"); len(other) != 0 {
		t.Fatalf("dead letters of tolerant: %+v, want none", other)
	}
}

// ackInOrder checks that ds hold the items first, first+1, … in order, and
// acknowledges each.
func ackInOrder(t *testing.T, c runtime.Consumer, ds []runtime.Delivery, first int, what string) {
	t.Helper()
	for i, d := range ds {
		if s := itemOf(t, d.Event).Seq; s != first+i {
			t.Fatalf("%sevent %d has seq %d, want %d", what, i, s, first+i)
		}
		ack(t, c, d)
	}
}
