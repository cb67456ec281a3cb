package memory_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/runtimetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const retainLen = 20

func TestConformance(t *testing.T) {
	runtimetest.Run(t, runtimetest.Features{
		New: func(t *testing.T) runtime.Backend {
			return memory.New(memory.WithRetention(retainLen, time.Hour))
		},
		RetainLen: retainLen,
		DeadLetters: func(t *testing.T, b runtime.Backend, service string) []runtimetest.DeadLetter {
			var out []runtimetest.DeadLetter
			for _, d := range b.(*memory.Backend).DeadLetters(service) {
				out = append(out, runtimetest.DeadLetter{EventID: d.Event.ID.String(), Reason: d.Reason})
			}
			return out
		},
	})
}

func subscribe(t interface{ Fatal(...any) }, b runtime.Backend, service string, topics ...string) runtime.Consumer {
	c, err := b.Subscribe(context.Background(), runtime.Subscription{Service: service, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Property: whatever is enqueued, in whatever batches and across topics, is
// pulled in the same order, in whatever pull sizes, with releases put back
// in front.
func TestFIFOProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := memory.New()
		defer b.Close()
		c := subscribe(t, b, "svc", "A", "B")
		ctx := context.Background()
		var want []runtime.Event
		batches := rapid.SliceOf(rapid.IntRange(0, 8)).Draw(t, "batches")
		for _, n := range batches {
			batch := make([]runtime.Event, n)
			for i := range batch {
				batch[i], _ = runtime.NewEvent(rapid.SampledFrom([]string{"A", "B", "C"}).Draw(t, "type"), len(want)+i)
			}
			if err := b.Enqueue(ctx, batch...); err != nil {
				t.Fatal(err)
			}
			for _, ev := range batch {
				if ev.Type != "C" { // nobody subscribes to C
					want = append(want, ev)
				}
			}
		}
		var got []runtime.Event
		for len(got) < len(want) {
			ds, err := c.Pull(ctx, nil, rapid.IntRange(1, 5).Draw(t, "max"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				t.Fatalf("Pull returned nothing with %d events queued", len(want)-len(got))
			}
			keep := rapid.IntRange(0, len(ds)).Draw(t, "keep")
			for _, d := range ds[:keep] {
				got = append(got, d.Event)
				if err := c.Ack(ctx, d, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Release(ctx, ds[keep:]...); err != nil {
				t.Fatal(err)
			}
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Fatalf("position %d: got event %v, want %v", i, got[i].Payload, want[i].Payload)
			}
		}
		if b.Len() != 0 {
			t.Fatalf("Len = %d after pulling everything", b.Len())
		}
	})
}

// Property: an empty backend's Pull returns no events and no error, after
// waiting about its timeout.
func TestPullTimeoutProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := memory.New()
		defer b.Close()
		c := subscribe(t, b, "svc", "A")
		timeout := time.Duration(rapid.IntRange(0, 20).Draw(t, "ms")) * time.Millisecond
		start := time.Now()
		ds, err := c.Pull(context.Background(), nil, 1, timeout)
		took := time.Since(start)
		if err != nil || len(ds) != 0 {
			t.Fatalf("Pull on empty backend: %d events, err %v", len(ds), err)
		}
		if took < timeout {
			t.Fatalf("Pull(timeout=%v) returned after %v", timeout, took)
		}
	})
}

func TestTypedPayloadPassesByValue(t *testing.T) {
	type big struct{ A [4]int }
	b := memory.New()
	defer b.Close()
	c := subscribe(t, b, "svc", "BIG")
	ev, _ := runtime.NewEvent("BIG", big{A: [4]int{1, 2, 3, 4}})
	if err := b.Enqueue(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	got, err := c.Pull(context.Background(), nil, 1, 0)
	if err != nil || len(got) != 1 {
		t.Fatal(len(got), err)
	}
	if p, ok := got[0].Payload.(big); !ok || p.A != [4]int{1, 2, 3, 4} {
		t.Fatalf("payload is %T %v, want the same big value, not serialised", got[0].Payload, got[0].Payload)
	}
}

func TestEnqueueRejectsInvalidEvent(t *testing.T) {
	b := memory.New()
	defer b.Close()
	subscribe(t, b, "svc", "OK", "X")
	good, _ := runtime.NewEvent("OK", nil)
	err := b.Enqueue(context.Background(), good, runtime.Event{Type: "X"})
	if err == nil {
		t.Fatal("Enqueue accepted an event without an ID")
	}
	if b.Len() != 0 {
		t.Fatalf("a rejected batch left %d events queued; want none", b.Len())
	}
}

func TestSubscribeNamesWhatIsMissing(t *testing.T) {
	b := memory.New()
	defer b.Close()
	_, err := b.Subscribe(context.Background(), runtime.Subscription{Topics: []string{" "}})
	want := `memory: subscribe "": the service has no name (runtime.WithService)` + "\n" +
		`topic " ": invalid event: field "event_type": is only white space; give the event a type such as "ORDER_PLACED"`
	if err == nil || err.Error() != want {
		t.Fatalf("Subscribe with no name and a blank topic: %v\nwant %s", err, want)
	}
}

// WaitIdle returns once every chain on the bus has ended, across services.
func TestWaitIdleAcrossServices(t *testing.T) {
	b := memory.New()
	t.Cleanup(func() { b.Close() }) // after the runners stop
	seen := runtimetest.NewCounter[runtimetest.Step]()
	quiet := runtime.WithLogger(slog.New(slog.DiscardHandler))
	// Two services split the chain: "odd" handles hops 1 and 3, "even" 0 and 2;
	// both subscribe to STEP, so each filters by hop.
	for _, svc := range []string{"even", "odd"} {
		parity := 0
		if svc == "odd" {
			parity = 1
		}
		d := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			p, err := runtime.Payload[runtimetest.Step](in)
			if err != nil || p.Hop%2 != parity {
				return out, err
			}
			return runtimetest.ChainDispatcher(seen).Dispatch(ctx, in, out)
		})
		r := runtime.NewRunner(b, d, quiet, runtime.WithService(svc), runtime.WithTopics(runtimetest.TypeStep))
		if err := r.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- r.Run(context.Background()) }()
		t.Cleanup(func() {
			r.Stop()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	const roots = 100
	for i := range roots {
		if err := b.Enqueue(context.Background(), runtime.MustNewEvent(runtimetest.TypeStep, runtimetest.Step{Root: i})); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := seen.Total(), roots*(runtimetest.LastHop+1); got != want {
		t.Fatalf("the bus went idle after %d steps, want %d", got, want)
	}
}

// Enqueue and Pull stay O(1) however deep the queue: the ring never copies
// the live queue to make room.
func BenchmarkQueueDepth(b *testing.B) {
	for _, depth := range []int{256, 4096, 65536} {
		b.Run(fmt.Sprint("depth=", depth), func(b *testing.B) {
			bus := memory.New()
			defer bus.Close()
			c := subscribe(b, bus, "svc", "ITEM")
			ctx := context.Background()
			ev := runtime.MustNewEvent("ITEM", 1)
			for range depth {
				_ = bus.Enqueue(ctx, ev)
			}
			ds := make([]runtime.Delivery, 0, 1)
			b.ResetTimer()
			for range b.N {
				_ = bus.Enqueue(ctx, ev)
				ds, _ = c.Pull(ctx, ds[:0], 1, 0)
				_ = c.Ack(ctx, ds[0], nil)
			}
		})
	}
}

func ExampleBackend() {
	bus := memory.New()
	defer bus.Close()
	ctx := context.Background()
	c, _ := bus.Subscribe(ctx, runtime.Subscription{Service: "medium", Topics: []string{"SUMMON_RITUAL"}})
	ev, _ := runtime.NewEvent("SUMMON_RITUAL", "midnight")
	_ = bus.Enqueue(ctx, ev)
	got, _ := c.Pull(ctx, nil, 1, time.Second)
	fmt.Println(got[0].Type, got[0].Payload)
	_ = c.Ack(ctx, got[0], nil)
	// Output: SUMMON_RITUAL midnight
}
