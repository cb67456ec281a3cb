// Package bench holds the benchmarks that compare NecroStack with hand-written
// code in one `go test -bench` run: see the README's performance section.
package bench

import (
	"context"
	"log/slog"
	goruntime "runtime"
	"testing"

	"github.com/necrostack/necrostack/bench/chain"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

// rituals is the number of four-stage chains one benchmark op runs.
const rituals = 256

const eventsPerOp = rituals * 4

func starts() []runtime.Event {
	evs := make([]runtime.Event, rituals)
	for i := range evs {
		evs[i] = chain.NewSummonRitualEvent(chain.SummonRitual{Ritual: i, Spirit: "Lenore"})
	}
	return evs
}

// perEvent reports ns/event and allocs/event for a benchmark whose every op
// handles n events.
func perEvent(b *testing.B, n int, body func()) {
	b.Helper()
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		body()
	}
	b.StopTimer()
	goruntime.ReadMemStats(&after)
	events := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
}

// BenchmarkChain runs the Séance chain end to end: through runtime.Runner and
// the memory backend ("runner"), and through a hand-written single-goroutine
// loop over a slice queue ("slicequeue", the baseline). Both use the same
// hand-written dispatch function and build the same events.
func BenchmarkChain(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=slicequeue", func(b *testing.B) {
		d := &chain.HandSwitch{Oracle: &chain.Oracle{}, Sink: &chain.Sink{}}
		var queue, out []runtime.Event
		perEvent(b, eventsPerOp, func() {
			queue = append(queue[:0], starts()...)
			for head := 0; head < len(queue); head++ {
				var err error
				out, err = d.Dispatch(ctx, queue[head], out[:0])
				if err != nil {
					b.Fatal(err)
				}
				queue = append(queue, out...)
			}
		})
	})
	b.Run("impl=runner", func(b *testing.B) {
		d := &chain.HandSwitch{Oracle: &chain.Oracle{}, Sink: &chain.Sink{}}
		r := runtime.NewRunner(memory.New(), d, runtime.WithLogger(slog.New(slog.DiscardHandler)),
			runtime.WithService("chain"), runtime.WithTopics(chain.EventSummonRitual, chain.EventSpiritAppeared, chain.EventAnswerGenerated, chain.EventOmenRevealed))
		perEvent(b, eventsPerOp, func() {
			if err := r.RunUntilIdle(ctx, starts()...); err != nil {
				b.Fatal(err)
			}
		})
		if d.Sink.Omens != b.N*rituals {
			b.Fatalf("%d omens for %d chains", d.Sink.Omens, b.N*rituals)
		}
	})
	b.Run("impl=spine", func(b *testing.B) {
		sink := &chain.Sink{}
		s := chain.NewSpine(memory.New(), &chain.Oracle{}, sink, runtime.WithLogger(slog.New(slog.DiscardHandler)))
		perEvent(b, eventsPerOp, func() {
			if err := s.RunUntilIdle(ctx, starts()...); err != nil {
				b.Fatal(err)
			}
		})
		if sink.Omens != b.N*rituals {
			b.Fatalf("%d omens for %d chains", sink.Omens, b.N*rituals)
		}
	})
}

// BenchmarkDispatch measures dispatch alone over the four stages: the
// generated Spine against a hand-written switch and a reflect.Value.Call
// dispatcher.
func BenchmarkDispatch(b *testing.B) {
	ctx := context.Background()
	start := chain.NewSummonRitualEvent(chain.SummonRitual{Ritual: 1, Spirit: "Lenore"})
	run := func(b *testing.B, d runtime.Dispatcher, sink *chain.Sink) {
		out := make([]runtime.Event, 0, 4)
		perEvent(b, 4, func() {
			ev := start
			for {
				var err error
				out, err = d.Dispatch(ctx, ev, out[:0])
				if err != nil {
					b.Fatal(err)
				}
				if len(out) == 0 {
					break
				}
				ev = out[0]
			}
		})
		if sink.Omens != b.N {
			b.Fatalf("%d omens for %d chains", sink.Omens, b.N)
		}
	}
	b.Run("impl=handwritten", func(b *testing.B) {
		sink := &chain.Sink{}
		run(b, &chain.HandSwitch{Oracle: &chain.Oracle{}, Sink: sink}, sink)
	})
	b.Run("impl=generated", func(b *testing.B) {
		sink := &chain.Sink{}
		run(b, chain.NewSpine(memory.New(), &chain.Oracle{}, sink), sink)
	})
	b.Run("impl=reflect", func(b *testing.B) {
		sink := &chain.Sink{}
		run(b, chain.NewReflective(&chain.Oracle{}, sink), sink)
	})
}
