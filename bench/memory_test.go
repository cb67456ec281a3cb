package bench

import (
	"fmt"
	"testing"

	"github.com/necrostack/necrostack/bench/baseline"
	"github.com/necrostack/necrostack/bench/chain"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

// depths are the chains in flight of BenchmarkMemoryChain.
var depths = []int{256, 4096, 65536}

// serviceChains is how many chains one op of BenchmarkMemoryService runs,
// and serviceWindow how many are in flight at most.
const (
	serviceChains = 4096
	serviceWindow = 128
)

// memoryRun is one implementation prepared for a benchmark: op runs one op,
// omens counts the chains ended so far, stop ends what setup started.
type memoryRun struct {
	op       func() error
	omens    func() int64
	severity func() int64 // the sum of the omens' severities
	stop     func() error
}

// BenchmarkMemoryChain runs depth four-stage chains per op on one goroutine:
// all depth roots are published up front, so the queue is depth events deep,
// then every event is handled until none is left (4×depth events).
//
//   - impl=baseline: baseline.Ring (a FIFO of {Type string; Payload any})
//     drained by baseline.Chain's switch.
//   - impl=necrostack: the generated Spine of bench/chain on memory.New(),
//     RunUntilIdle with the depth roots (built with NewSummonRitualEvent).
//
// Building and publishing the roots is timed on both sides.
func BenchmarkMemoryChain(b *testing.B) {
	for _, depth := range depths {
		for _, impl := range []struct {
			name  string
			setup func(depth int) memoryRun
		}{{"baseline", baselineDepth}, {"necrostack", necroDepth}} {
			b.Run(fmt.Sprintf("depth=%d/impl=%s", depth, impl.name), func(b *testing.B) {
				r := impl.setup(depth)
				perEvent(b, 4*depth, r.op)
				if got, want := r.omens(), int64(b.N*depth); got != want {
					b.Fatalf("%d omens for %d chains", got, want)
				}
			})
		}
	}
}

func baselineDepth(depth int) memoryRun {
	c := &baseline.Chain{}
	var q baseline.Ring
	return memoryRun{
		op: func() error {
			for i := range depth {
				q.Push(baseline.Event{Type: baseline.TypeSummonRitual, Payload: baseline.SummonRitual{Ritual: i, Spirit: spirit}})
			}
			return c.Drain(bg, &q)
		},
		omens:    c.Sink.Omens.Load,
		severity: c.Sink.Severity.Load,
		stop:     func() error { return nil },
	}
}

func necroDepth(depth int) memoryRun {
	sink := &chain.Sink{}
	s := chain.NewSpine(memory.New(), &chain.Oracle{}, sink, runtime.WithLogger(discard))
	roots := make([]runtime.Event, depth)
	return memoryRun{
		op: func() error {
			for i := range roots {
				roots[i] = chain.NewSummonRitualEvent(chain.SummonRitual{Ritual: i, Spirit: spirit})
			}
			return s.RunUntilIdle(bg, roots...)
		},
		omens:    sink.Omens.Load,
		severity: sink.Severity.Load,
		stop:     func() error { return nil },
	}
}

// BenchmarkMemoryService runs the chain in service mode: a consumer
// goroutine serves events while the benchmark's goroutine publishes
// serviceChains roots per op, keeping at most serviceWindow chains in flight
// (a token goes into the sink's Window channel before each root is
// published, the chain's last organ takes one out); the op ends when every
// chain has ended.
//
//   - impl=baseline: baseline.Chain.Serve on a baseline.Queue (a Ring under a
//     sync.Mutex, with a sync.Cond to wait on), the producer calling Push.
//   - impl=necrostack: the Spine's Run on memory.New(), the producer calling
//     the generated EmitSummonRitual.
func BenchmarkMemoryService(b *testing.B) {
	for _, impl := range []struct {
		name  string
		setup func(chains, window int) memoryRun
	}{{"baseline", baselineService}, {"necrostack", necroService}} {
		b.Run(fmt.Sprintf("window=%d/impl=%s", serviceWindow, impl.name), func(b *testing.B) {
			r := impl.setup(serviceChains, serviceWindow)
			perEvent(b, 4*serviceChains, r.op)
			if err := r.stop(); err != nil {
				b.Fatal(err)
			}
			if got, want := r.omens(), int64(b.N*serviceChains); got != want {
				b.Fatalf("%d omens for %d chains", got, want)
			}
		})
	}
}

// windowed returns the op of a service-mode benchmark: publish chains roots
// through emit, at most cap(window) in flight, then wait until all have
// ended. A failed server (errc) ends the op with its error.
func windowed(chains int, window chan struct{}, errc <-chan error, emit func(i int) error) func() error {
	acquire := func() error {
		select {
		case window <- struct{}{}:
			return nil
		case err := <-errc:
			return fmt.Errorf("the server ended: %v", err)
		}
	}
	return func() error {
		for i := range chains {
			if err := acquire(); err != nil {
				return err
			}
			if err := emit(i); err != nil {
				return err
			}
		}
		// Every slot taken back means every chain has ended.
		for range cap(window) {
			if err := acquire(); err != nil {
				return err
			}
		}
		for range cap(window) {
			<-window
		}
		return nil
	}
}

func baselineService(chains, window int) memoryRun {
	c := &baseline.Chain{Sink: baseline.Sink{Window: make(chan struct{}, window)}}
	q := baseline.NewQueue()
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(bg, q) }()
	return memoryRun{
		op: windowed(chains, c.Sink.Window, errc, func(i int) error {
			q.Push(baseline.Event{Type: baseline.TypeSummonRitual, Payload: baseline.SummonRitual{Ritual: i, Spirit: spirit}})
			return nil
		}),
		omens:    c.Sink.Omens.Load,
		severity: c.Sink.Severity.Load,
		stop: func() error {
			q.Close()
			return <-errc
		},
	}
}

func necroService(chains, window int) memoryRun {
	sink := &chain.Sink{Window: make(chan struct{}, window)}
	s := chain.NewSpine(memory.New(), &chain.Oracle{}, sink, runtime.WithLogger(discard))
	if err := s.Subscribe(bg); err != nil {
		panic(err) // the memory bus does not fail to subscribe a valid service
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Run(bg) }()
	return memoryRun{
		op: windowed(chains, sink.Window, errc, func(i int) error {
			return s.EmitSummonRitual(bg, chain.SummonRitual{Ritual: i, Spirit: spirit})
		}),
		omens:    sink.Omens.Load,
		severity: sink.Severity.Load,
		stop: func() error {
			s.Stop()
			return <-errc
		},
	}
}
