package necrotest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/necrostack/necrostack/necrotest"
	"github.com/necrostack/necrostack/runtime"
)

// fakeT records a failure instead of stopping the test, to check messages.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func failure(t *testing.T, body func(tb testing.TB)) (msg string) {
	t.Helper()
	f := &fakeT{TB: t}
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
		msg = f.msg
	}()
	body(f)
	t.Fatal("expected a failure")
	return ""
}

func countdown() runtime.Dispatcher {
	return runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		n, err := runtime.Payload[int](in)
		if err != nil || n == 0 {
			return out, err
		}
		return runtime.AppendChild(out, in, "TICK", n-1), nil
	})
}

func TestRecordsChain(t *testing.T) {
	b := necrotest.NewBackend(t)
	r := runtime.NewRunner(b, countdown(), runtime.WithService("countdown"), runtime.WithTopics("TICK"))
	start := runtime.MustNewEvent("TICK", 3)
	necrotest.RunUntilIdle(t, r, b, start)
	ticks := necrotest.Count(t, b, "TICK", 4)
	if got := necrotest.Payloads[int](t, b, "TICK"); fmt.Sprint(got) != "[3 2 1 0]" {
		t.Fatalf("payloads %v", got)
	}
	for i := 1; i < len(ticks); i++ {
		necrotest.CausedBy(t, b, ticks[i], ticks[i-1])
		if !b.Acked(ticks[i].ID) {
			t.Fatalf("tick %d not acked", i)
		}
	}
	tree := b.Tree()
	if strings.Count(tree, "TICK") != 4 || !strings.Contains(tree, "\n      TICK") {
		t.Fatalf("tree does not nest the chain:\n%s", tree)
	}
}

func TestFailureMessagesShowTheChain(t *testing.T) {
	b := necrotest.NewBackend(t)
	necrotest.RunUntilIdle(t, runtime.NewRunner(b, countdown(), runtime.WithService("countdown"), runtime.WithTopics("TICK")), b, runtime.MustNewEvent("TICK", 1))
	msg := failure(t, func(tb testing.TB) { necrotest.Count(tb, b, "TOCK", 1) })
	if !strings.Contains(msg, "0 TOCK events were emitted, want 1") || !strings.Contains(msg, "  TICK") {
		t.Fatalf("message does not show the chain:\n%s", msg)
	}
	msg = failure(t, func(tb testing.TB) { necrotest.One[string](tb, b, "TICK") })
	if !strings.Contains(msg, "2 TICK events were emitted, want 1") {
		t.Fatalf("message: %s", msg)
	}
	msg = failure(t, func(tb testing.TB) { necrotest.Chain(tb, b, "TICK", "TOCK") })
	if !strings.Contains(msg, "no chain TICK → TOCK: it breaks at TOCK") {
		t.Fatalf("message: %s", msg)
	}
	ticks := b.OfType("TICK")
	msg = failure(t, func(tb testing.TB) { necrotest.CausedBy(tb, b, ticks[0], ticks[1]) })
	if !strings.Contains(msg, "was not caused by") {
		t.Fatalf("message: %s", msg)
	}
}
