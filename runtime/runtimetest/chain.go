package runtimetest

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/necrostack/necrostack/runtime"
)

// LastHop is the hop of a chain that emits nothing: a root STEP (hop 0)
// emits hop 1, and so on, so N roots make exactly N × (LastHop+1) events
// when nothing is lost or duplicated.
const LastHop = 3

// Step is the payload of a chain's events.
type Step struct {
	Root int `json:"root"`
	Hop  int `json:"hop"`
}

// ChainDispatcher handles STEP events: it counts each in seen and emits the
// next hop.
func ChainDispatcher(seen *Counter[Step]) runtime.Dispatcher {
	return runtime.DispatchFunc(func(_ context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		if in.Type != TypeStep {
			return out, runtime.NoRoute(in)
		}
		p, err := runtime.Payload[Step](in)
		if err != nil {
			return out, err
		}
		seen.Add(p)
		if p.Hop < LastHop {
			out = runtime.AppendChild(out, in, TypeStep, Step{Root: p.Root, Hop: p.Hop + 1})
		}
		return out, nil
	})
}

// enqueueRoots publishes roots [0, n) in batches.
func enqueueRoots(t testing.TB, b runtime.Backend, n int) {
	t.Helper()
	var batch []runtime.Event
	for i := range n {
		batch = append(batch, runtime.MustNewEvent(TypeStep, Step{Root: i}))
		if len(batch) == 100 || i == n-1 {
			enqueue(t, b, batch...)
			batch = batch[:0]
		}
	}
}

// checkSteps fails t unless every hop of roots [0, n) was seen exactly once.
func checkSteps(t testing.TB, seen *Counter[Step], n int) {
	t.Helper()
	bad := 0
	for root := range n {
		for hop := 0; hop <= LastHop; hop++ {
			if k := seen.Get(Step{root, hop}); k != 1 && bad < 10 {
				t.Errorf("root %d hop %d was handled %d times, want exactly once", root, hop, k)
				bad++
			}
		}
	}
	if got, want := seen.Total(), n*(LastHop+1); got != want {
		t.Errorf("handled %d steps in all, want %d", got, want)
	}
}

func quiet() runtime.Option { return runtime.WithLogger(slog.New(slog.DiscardHandler)) }

// newStepRunner is a Runner of the chain as service "steps".
func newStepRunner(b runtime.Backend, seen *Counter[Step], opts ...runtime.Option) *runtime.Runner {
	opts = append([]runtime.Option{quiet(), runtime.WithService("steps"), runtime.WithTopics(TypeStep)}, opts...)
	return runtime.NewRunner(b, ChainDispatcher(seen), opts...)
}

// Counter counts values concurrently.
type Counter[K comparable] struct {
	mu sync.Mutex
	m  map[K]int
	n  int
}

// NewCounter returns an empty Counter.
func NewCounter[K comparable]() *Counter[K] { return &Counter[K]{m: map[K]int{}} }

// Add counts k once.
func (c *Counter[K]) Add(k K) {
	c.mu.Lock()
	c.m[k]++
	c.n++
	c.mu.Unlock()
}

// Get returns how often k was counted.
func (c *Counter[K]) Get(k K) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// Total returns how many values were counted.
func (c *Counter[K]) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
