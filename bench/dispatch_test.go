package bench

import (
	"testing"

	"github.com/necrostack/necrostack/bench/chain"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

// BenchmarkDispatch measures dispatch alone — no queue, no backend — over
// the four stages of one chain, per event, for three dispatchers of the same
// runtime.Event envelope:
//
//   - impl=generated: the generated Spine's Dispatch.
//   - impl=switch: chain.HandSwitch, a hand-written switch with a type
//     assertion and runtime.AppendChild. It uses NecroStack's envelope and
//     is not a baseline: it shows what the generated adapters (Payload[T],
//     the deferred Recover, OrganError) add to a bare switch.
//   - impl=reflect: chain.Reflective, handlers registered by event type and
//     called with reflect.Value.Call, as run-time registration frameworks do.
func BenchmarkDispatch(b *testing.B) {
	start := chain.NewSummonRitualEvent(chain.SummonRitual{Ritual: 1, Spirit: spirit})
	run := func(b *testing.B, d runtime.Dispatcher, sink *chain.Sink) {
		out := make([]runtime.Event, 0, 4)
		perEvent(b, 4, func() error {
			ev := start
			for {
				var err error
				out, err = d.Dispatch(bg, ev, out[:0])
				if err != nil {
					return err
				}
				if len(out) == 0 {
					return nil
				}
				ev = out[0]
			}
		})
		if got := sink.Omens.Load(); got != int64(b.N) {
			b.Fatalf("%d omens for %d chains", got, b.N)
		}
	}
	b.Run("impl=generated", func(b *testing.B) {
		sink := &chain.Sink{}
		run(b, chain.NewSpine(memory.New(), &chain.Oracle{}, sink), sink)
	})
	b.Run("impl=switch", func(b *testing.B) {
		sink := &chain.Sink{}
		run(b, &chain.HandSwitch{Oracle: &chain.Oracle{}, Sink: sink}, sink)
	})
	b.Run("impl=reflect", func(b *testing.B) {
		sink := &chain.Sink{}
		run(b, chain.NewReflective(&chain.Oracle{}, sink), sink)
	})
}
