package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

// trace records what middleware and organs see, in order.
type trace struct {
	mu    sync.Mutex
	lines []string
}

func (t *trace) add(format string, args ...any) {
	t.mu.Lock()
	t.lines = append(t.lines, fmt.Sprintf(format, args...))
	t.mu.Unlock()
}

// organs is a hand-written dispatcher that calls its organs as generated
// code does: through Runner.CallOrgan when the Runner wraps organs.
type organs struct {
	r     *runtime.Runner
	names []string
	slow  map[string]bool // these organs wait for their context to end
	tr    *trace
}

func (o *organs) Dispatch(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	var errs []error
	for _, name := range o.names {
		call := func(ctx context.Context, organ string, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			o.tr.add("organ %s", organ)
			if o.slow[organ] {
				<-ctx.Done() // a well-behaved slow organ: it stops at its deadline
			}
			return runtime.AppendChild(out, in, "OUT_"+organ, 1), nil
		}
		var err error
		if o.r.WrapsOrgans() {
			out, err = o.r.CallOrgan(ctx, name, in, out, call)
		} else {
			out, err = call(ctx, name, in, out)
		}
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func eventMiddleware(tr *trace, name string) runtime.Middleware {
	return func(next runtime.Handler) runtime.Handler {
		return func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			tr.add("enter %s", name)
			n := len(out)
			out, err := next(ctx, in, out)
			tr.add("exit %s: %d emitted, failed %v", name, len(out)-n, err != nil)
			return out, err
		}
	}
}

func organMiddleware(tr *trace, name string) runtime.OrganMiddleware {
	return func(next runtime.OrganHandler) runtime.OrganHandler {
		return func(ctx context.Context, organ string, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			tr.add("enter %s %s", name, organ)
			out, err := next(ctx, organ, in, out)
			tr.add("exit %s %s", name, organ)
			return out, err
		}
	}
}

// Property: event middleware wraps each event and organ middleware each
// organ call, the first given outermost, in the order given; an organ that
// overruns the handler timeout fails with ErrTimeout, its emitted events
// dropped, the others kept, and the event is a dead letter with reason
// "timeout".
func TestMiddlewareOrderAndTimeout(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nEvent := rapid.IntRange(0, 3).Draw(t, "event middleware")
		nOrgan := rapid.IntRange(0, 3).Draw(t, "organ middleware")
		names := []string{"A", "B", "C"}[:rapid.IntRange(1, 3).Draw(t, "organs")]
		slow := map[string]bool{}
		for _, n := range names {
			slow[n] = rapid.Bool().Draw(t, "slow "+n)
		}
		anySlow := slices.ContainsFunc(names, func(n string) bool { return slow[n] })
		tr := &trace{}
		opts := []runtime.Option{runtime.WithService("mw"), runtime.WithTopics("IN"), runtime.WithLogger(quietLogger())}
		for i := range nEvent {
			opts = append(opts, runtime.WithMiddleware(eventMiddleware(tr, fmt.Sprint("e", i))))
		}
		for i := range nOrgan {
			opts = append(opts, runtime.WithOrganMiddleware(organMiddleware(tr, fmt.Sprint("o", i))))
		}
		if anySlow {
			opts = append(opts, runtime.WithHandlerTimeout(5*time.Millisecond))
		}
		b := memory.New()
		defer b.Close()
		d := &organs{names: names, slow: slow, tr: tr}
		r := runtime.NewRunner(b, d, opts...)
		d.r = r
		if got, want := r.WrapsOrgans(), nOrgan > 0 || anySlow; got != want {
			t.Fatalf("WrapsOrgans() = %v, want %v", got, want)
		}
		start := runtime.MustNewEvent("IN", 0)
		if err := r.RunUntilIdle(context.Background(), start); err != nil {
			t.Fatal(err)
		}
		// What the trace must be.
		var want []string
		for i := range nEvent {
			want = append(want, fmt.Sprint("enter e", i))
		}
		emitted := 0
		for _, organ := range names {
			for i := range nOrgan {
				want = append(want, fmt.Sprintf("enter o%d %s", i, organ))
			}
			want = append(want, "organ "+organ)
			for i := nOrgan - 1; i >= 0; i-- {
				want = append(want, fmt.Sprintf("exit o%d %s", i, organ))
			}
			if !slow[organ] {
				emitted++
			}
		}
		for i := nEvent - 1; i >= 0; i-- {
			want = append(want, fmt.Sprintf("exit e%d: %d emitted, failed %v", i, emitted, anySlow))
		}
		if !slices.Equal(tr.lines, want) {
			t.Fatalf("trace:\n%q\nwant:\n%q", tr.lines, want)
		}
		dead := b.DeadLetters("mw")
		if anySlow {
			if len(dead) != 1 || dead[0].Reason != runtime.ReasonTimeout {
				t.Fatalf("dead letters %+v, want the event with reason %s", dead, runtime.ReasonTimeout)
			}
		} else if len(dead) != 0 {
			t.Fatalf("dead letters %+v, want none", dead)
		}
	})
}

// The timeout's failure matches ErrTimeout and names the organ.
func TestHandlerTimeoutError(t *testing.T) {
	b := memory.New()
	defer b.Close()
	tr := &trace{}
	d := &organs{names: []string{"Slow"}, slow: map[string]bool{"Slow": true}, tr: tr}
	var got error
	capture := func(next runtime.Handler) runtime.Handler {
		return func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			out, got = next(ctx, in, out)
			return out, got
		}
	}
	r := runtime.NewRunner(b, d, runtime.WithService("t"), runtime.WithTopics("IN"), runtime.WithLogger(quietLogger()),
		runtime.WithHandlerTimeout(10*time.Millisecond), runtime.WithMiddleware(capture))
	d.r = r
	if err := r.RunUntilIdle(context.Background(), runtime.MustNewEvent("IN", 0)); err != nil {
		t.Fatal(err)
	}
	var he *runtime.HandlerError
	if !errors.Is(got, runtime.ErrTimeout) || !errors.As(got, &he) || he.Organ != "Slow" {
		t.Fatalf("the handling failed with %v; want a HandlerError of organ Slow matching ErrTimeout", got)
	}
	if got.Error() != "organ Slow: organ overran its timeout of 10ms" {
		t.Fatalf("error text %q", got.Error())
	}
}

// Without middleware, a handled event costs no more allocations than the
// dispatcher makes: the Runner calls it directly.
func TestNoMiddlewareCostsNothing(t *testing.T) {
	b := memory.New()
	defer b.Close()
	r := newRunner(b, &tree{})
	chain := func(n int) float64 {
		start, _ := runtime.NewEvent("NODE", node{Depth: n, Fanout: 1})
		return testing.AllocsPerRun(20, func() { _ = r.RunUntilIdle(context.Background(), start) })
	}
	if perEvent := (chain(110) - chain(10)) / 100; perEvent > 1.05 {
		t.Fatalf("%.2f allocations per event without middleware, want at most 1 (the payload's box)", perEvent)
	}
}

// Handlers and middleware can tell which service they run for.
func TestServiceFromContext(t *testing.T) {
	b := memory.New()
	defer b.Close()
	var got string
	d := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		got = runtime.ServiceFrom(ctx)
		return out, nil
	})
	r := runtime.NewRunner(b, d, runtime.WithService("oracle"), runtime.WithTopics("Q"), runtime.WithLogger(quietLogger()))
	if err := r.RunUntilIdle(context.Background(), runtime.MustNewEvent("Q", 1)); err != nil {
		t.Fatal(err)
	}
	if got != "oracle" {
		t.Fatalf("ServiceFrom(ctx) = %q, want oracle", got)
	}
}
