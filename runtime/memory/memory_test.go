package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/runtimetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	runtimetest.Run(t, func(t *testing.T) runtime.Backend { return memory.New() })
}

// Property: whatever is enqueued, in whatever batches, is pulled in the same
// order, in whatever pull sizes.
func TestFIFOProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := memory.New()
		defer b.Close()
		ctx := context.Background()
		var want []runtime.Event
		batches := rapid.SliceOf(rapid.IntRange(0, 8)).Draw(t, "batches")
		for _, n := range batches {
			batch := make([]runtime.Event, n)
			for i := range batch {
				batch[i], _ = runtime.NewEvent("ITEM", len(want)+i)
			}
			if err := b.Enqueue(ctx, batch...); err != nil {
				t.Fatal(err)
			}
			want = append(want, batch...)
		}
		var got []runtime.Event
		for len(got) < len(want) {
			before := len(got)
			var err error
			got, err = b.Pull(ctx, got, rapid.IntRange(1, 5).Draw(t, "max"), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == before {
				t.Fatalf("Pull returned nothing with %d events queued", len(want)-before)
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
		timeout := time.Duration(rapid.IntRange(0, 20).Draw(t, "ms")) * time.Millisecond
		start := time.Now()
		evs, err := b.Pull(context.Background(), nil, 1, timeout)
		took := time.Since(start)
		if err != nil || len(evs) != 0 {
			t.Fatalf("Pull on empty backend: %d events, err %v", len(evs), err)
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
	ev, _ := runtime.NewEvent("BIG", big{A: [4]int{1, 2, 3, 4}})
	if err := b.Enqueue(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	got, err := b.Pull(context.Background(), nil, 1, 0)
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
	good, _ := runtime.NewEvent("OK", nil)
	err := b.Enqueue(context.Background(), good, runtime.Event{Type: "X"})
	if err == nil {
		t.Fatal("Enqueue accepted an event without an ID")
	}
	if b.Len() != 0 {
		t.Fatalf("a rejected batch left %d events queued; want none", b.Len())
	}
}

func ExampleBackend() {
	b := memory.New()
	defer b.Close()
	ctx := context.Background()
	ev, _ := runtime.NewEvent("SUMMON_RITUAL", "midnight")
	_ = b.Enqueue(ctx, ev)
	got, _ := b.Pull(ctx, nil, 1, time.Second)
	fmt.Println(got[0].Type, got[0].Payload)
	// Output: SUMMON_RITUAL midnight
}
