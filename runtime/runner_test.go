package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// node is a test payload: an event that emits Fanout children of Depth-1.
type node struct {
	Depth, Fanout int
	Fail, Panic   bool
}

// recorder wraps a backend and records what the loop does with it: the order
// events enter the queue, acks and nacks, and how many events are out at once.
type recorder struct {
	runtime.Backend
	mu            sync.Mutex
	enqueued      []uuid.UUID
	acked         map[uuid.UUID]int
	nacked        map[uuid.UUID]int
	released      int
	out           int // pulled, not yet settled
	maxOut        int
	failPulls     int // fail this many Pull calls before working
	failAcks      int
	permanentAcks int // fail this many acks with a permanent error
	ackCalls      int
}

func newRecorder(b runtime.Backend) *recorder {
	return &recorder{Backend: b, acked: map[uuid.UUID]int{}, nacked: map[uuid.UUID]int{}}
}

func (r *recorder) Enqueue(ctx context.Context, evs ...runtime.Event) error {
	if err := r.Backend.Enqueue(ctx, evs...); err != nil {
		return err
	}
	r.recordEnqueued(evs)
	return nil
}

func (r *recorder) recordEnqueued(evs []runtime.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		r.enqueued = append(r.enqueued, ev.ID)
	}
}

func (r *recorder) Subscribe(ctx context.Context, sub runtime.Subscription) (runtime.Consumer, error) {
	c, err := r.Backend.Subscribe(ctx, sub)
	if err != nil {
		return nil, err
	}
	return &recordingConsumer{Consumer: c, r: r}, nil
}

type recordingConsumer struct {
	runtime.Consumer
	r *recorder
}

func (c *recordingConsumer) Pull(ctx context.Context, dst []runtime.Delivery, limit int, timeout time.Duration) ([]runtime.Delivery, error) {
	r := c.r
	r.mu.Lock()
	if r.failPulls > 0 {
		r.failPulls--
		r.mu.Unlock()
		return dst, errors.New("injected pull failure")
	}
	r.mu.Unlock()
	n := len(dst)
	dst, err := c.Consumer.Pull(ctx, dst, limit, timeout)
	r.mu.Lock()
	r.out += len(dst) - n
	r.maxOut = max(r.maxOut, r.out)
	r.mu.Unlock()
	return dst, err
}

func (c *recordingConsumer) settle(d runtime.Delivery, emitted []runtime.Event, counts map[uuid.UUID]int, call func() error) error {
	r := c.r
	r.mu.Lock()
	r.ackCalls++
	if r.permanentAcks > 0 {
		r.permanentAcks--
		r.mu.Unlock()
		return runtime.Permanent(errors.New("injected permanent failure"))
	}
	if r.failAcks > 0 {
		r.failAcks--
		r.mu.Unlock()
		return errors.New("injected ack failure")
	}
	r.mu.Unlock()
	if err := call(); err != nil {
		return err
	}
	r.recordEnqueued(emitted)
	r.mu.Lock()
	counts[d.ID]++
	r.out--
	r.mu.Unlock()
	return nil
}

func (c *recordingConsumer) Ack(ctx context.Context, d runtime.Delivery, emitted []runtime.Event) error {
	return c.settle(d, emitted, c.r.acked, func() error { return c.Consumer.Ack(ctx, d, emitted) })
}

func (c *recordingConsumer) Nack(ctx context.Context, d runtime.Delivery, emitted []runtime.Event, cause error) error {
	return c.settle(d, emitted, c.r.nacked, func() error { return c.Consumer.Nack(ctx, d, emitted, cause) })
}

func (c *recordingConsumer) Release(ctx context.Context, ds ...runtime.Delivery) error {
	if err := c.Consumer.Release(ctx, ds...); err != nil {
		return err
	}
	c.r.mu.Lock()
	c.r.out -= len(ds)
	c.r.released += len(ds)
	c.r.mu.Unlock()
	return nil
}

// newRunner is a Runner of NODE events for service "tree".
func newRunner(b runtime.Backend, d runtime.Dispatcher, opts ...runtime.Option) *runtime.Runner {
	opts = append([]runtime.Option{runtime.WithLogger(quietLogger()), runtime.WithService("tree"), runtime.WithTopics("NODE")}, opts...)
	return runtime.NewRunner(b, d, opts...)
}

// tree is a dispatcher over node payloads that records the dispatch order.
type tree struct {
	mu         sync.Mutex
	dispatched []uuid.UUID
	onDispatch func(n int)
}

func (d *tree) Dispatch(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	d.mu.Lock()
	d.dispatched = append(d.dispatched, in.ID)
	n := len(d.dispatched)
	d.mu.Unlock()
	if d.onDispatch != nil {
		d.onDispatch(n)
	}
	p, err := runtime.Payload[node](in)
	if err != nil {
		return out, err
	}
	if p.Panic {
		panic("organ panicked on purpose")
	}
	if p.Fail {
		return out, &runtime.HandlerError{Organ: "Tree.Grow", Err: errors.New("failed on purpose")}
	}
	if p.Depth == 0 {
		return out, nil
	}
	for range p.Fanout {
		child, err := runtime.NewChildEvent(in, "NODE", node{Depth: p.Depth - 1, Fanout: p.Fanout})
		if err != nil {
			return out, err
		}
		out = append(out, child)
	}
	return out, nil
}

func countTree(depth, fanout int) int {
	if depth == 0 {
		return 1
	}
	n := 1
	for range fanout {
		n += countTree(depth-1, fanout)
	}
	return n
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func drawStarts(t *rapid.T) ([]runtime.Event, int) {
	var starts []runtime.Event
	total := 0
	for i := range rapid.IntRange(1, 4).Draw(t, "starts") {
		n := node{Depth: rapid.IntRange(0, 3).Draw(t, fmt.Sprint("depth", i)), Fanout: rapid.IntRange(0, 3).Draw(t, fmt.Sprint("fanout", i))}
		ev, _ := runtime.NewEvent("NODE", n)
		starts = append(starts, ev)
		total += countTree(n.Depth, n.Fanout)
	}
	return starts, total
}

// Properties of one worker: every emitted event is enqueued and dispatched
// exactly once, in the order it entered the queue (FIFO invocation order), and
// the loop never holds more than one event.
func TestRunnerEmitsInOrderWithoutAQueue(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rec := newRecorder(memory.New())
		defer rec.Close()
		d := &tree{}
		starts, total := drawStarts(t)
		batch := rapid.IntRange(1, 10).Draw(t, "batch")
		r := newRunner(rec, d, runtime.WithPullBatch(batch))
		if err := r.RunUntilIdle(context.Background(), starts...); err != nil {
			t.Fatal(err)
		}
		if len(d.dispatched) != total || len(rec.enqueued) != total {
			t.Fatalf("dispatched %d, enqueued %d, want %d", len(d.dispatched), len(rec.enqueued), total)
		}
		for i := range rec.enqueued {
			if d.dispatched[i] != rec.enqueued[i] {
				t.Fatalf("dispatch %d was not the %d-th event enqueued: not FIFO", i, i)
			}
			if rec.acked[rec.enqueued[i]] != 1 {
				t.Fatalf("event %d acked %d times", i, rec.acked[rec.enqueued[i]])
			}
		}
		if rec.maxOut > batch {
			t.Fatalf("the loop held %d events at once with one worker pulling %d at a time: it keeps a queue", rec.maxOut, batch)
		}
	})
}

// Property: with N workers every event is handled exactly once, the run ends
// idle, and no more than N × batch events are ever out of the backend.
func TestRunnerWorkersBoundInFlight(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		workers := rapid.IntRange(1, 4).Draw(t, "workers")
		rec := newRecorder(memory.New())
		defer rec.Close()
		d := &tree{}
		starts, total := drawStarts(t)
		batch := rapid.IntRange(1, 4).Draw(t, "batch")
		r := newRunner(rec, d, runtime.WithWorkers(workers), runtime.WithPullBatch(batch))
		if err := r.RunUntilIdle(context.Background(), starts...); err != nil {
			t.Fatal(err)
		}
		seen := map[uuid.UUID]bool{}
		for _, id := range d.dispatched {
			if seen[id] {
				t.Fatalf("event %s dispatched twice", id)
			}
			seen[id] = true
		}
		if len(seen) != total {
			t.Fatalf("dispatched %d events, want %d", len(seen), total)
		}
		if rec.maxOut > workers*batch {
			t.Fatalf("%d events out at once with %d workers pulling %d at a time", rec.maxOut, workers, batch)
		}
		if rec.out != 0 {
			t.Fatalf("%d events left pulled but unsettled", rec.out)
		}
	})
}

// Property: a run with a step limit dispatches exactly min(limit, total)
// events and fails with ErrMaxSteps exactly when there were more.
func TestRunnerMaxSteps(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := memory.New()
		defer b.Close()
		d := &tree{}
		starts, total := drawStarts(t)
		limit := rapid.IntRange(1, total+2).Draw(t, "limit")
		r := newRunner(b, d, runtime.WithMaxSteps(limit))
		err := r.RunUntilIdle(context.Background(), starts...)
		if total > limit {
			if !errors.Is(err, runtime.ErrMaxSteps) || !strings.Contains(err.Error(), "max steps exceeded") {
				t.Fatalf("total %d > limit %d: err = %v, want ErrMaxSteps", total, limit, err)
			}
			if len(d.dispatched) != limit {
				t.Fatalf("dispatched %d events with limit %d", len(d.dispatched), limit)
			}
			return
		}
		if err != nil || len(d.dispatched) != total {
			t.Fatalf("total %d <= limit %d: err = %v, dispatched %d", total, limit, err, len(d.dispatched))
		}
	})
}

// Property: failing and panicking organs never stop the loop; every other
// event is still dispatched, and each failure is logged with its organ.
func TestRunnerErrorResilience(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := memory.New()
		defer b.Close()
		d := &tree{}
		var starts []runtime.Event
		wantFail, wantPanic, wantTotal := 0, 0, 0
		for i := range rapid.IntRange(1, 30).Draw(t, "n") {
			n := node{Depth: 1, Fanout: 1}
			switch rapid.IntRange(0, 2).Draw(t, fmt.Sprint("kind", i)) {
			case 1:
				n.Fail = true
				wantFail++
				wantTotal++
			case 2:
				n.Panic = true
				wantPanic++
				wantTotal++
			default:
				wantTotal += 2
			}
			ev, _ := runtime.NewEvent("NODE", n)
			starts = append(starts, ev)
		}
		var logs bytes.Buffer
		r := newRunner(b, d, runtime.WithLogger(runtime.NewJSONLogger(&logs, slog.LevelInfo)))
		if err := r.RunUntilIdle(context.Background(), starts...); err != nil {
			t.Fatal(err)
		}
		if len(d.dispatched) != wantTotal {
			t.Fatalf("dispatched %d, want %d", len(d.dispatched), wantTotal)
		}
		failed, panicked := 0, 0
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if line == "" {
				continue
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %s", line)
			}
			for _, k := range []string{"time", "level", "msg", "event_id", "event_type"} {
				if _, ok := rec[k]; !ok {
					t.Fatalf("log line lacks %q: %s", k, line)
				}
			}
			if ts := rec["time"].(string); !strings.HasSuffix(ts, "Z") {
				t.Fatalf("log time %q is not UTC", ts)
			}
			switch rec["msg"] {
			case "handler failed":
				failed++
				if rec["organ"] != "Tree.Grow" {
					t.Fatalf("failure logged without its organ: %s", line)
				}
			case "handler panicked":
				panicked++
				if !strings.Contains(rec["stack"].(string), "runner_test.go") {
					t.Fatalf("panic logged without a stack: %s", line)
				}
			}
		}
		if failed != wantFail || panicked != wantPanic {
			t.Fatalf("logged %d failures and %d panics, want %d and %d", failed, panicked, wantFail, wantPanic)
		}
	})
}

// Property: Stop during a handler lets that handler finish; its emitted events
// are enqueued and it is acknowledged; nothing more is dispatched.
func TestRunnerGracefulStop(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rec := newRecorder(memory.New())
		defer rec.Close()
		starts, total := drawStarts(t)
		stopAt := rapid.IntRange(1, total).Draw(t, "stopAt")
		var r *runtime.Runner
		d := &tree{onDispatch: func(n int) {
			if n == stopAt {
				r.Stop()
			}
		}}
		r = newRunner(rec, d, runtime.WithPullTimeout(time.Hour), runtime.WithWorkers(rapid.IntRange(1, 3).Draw(t, "workers")))
		if err := r.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := rec.Enqueue(context.Background(), starts...); err != nil {
			t.Fatal(err)
		}
		if err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(d.dispatched) < stopAt {
			t.Fatalf("dispatched %d events, want at least %d (stop during the %d-th)", len(d.dispatched), stopAt, stopAt)
		}
		for _, id := range d.dispatched {
			if rec.acked[id] != 1 {
				t.Fatalf("event %s dispatched before Stop was acked %d times, want 1", id, rec.acked[id])
			}
		}
		if rec.out != 0 {
			t.Fatalf("%d events left pulled but unsettled", rec.out)
		}
		n := len(d.dispatched)
		if err := r.Run(context.Background()); err != nil || len(d.dispatched) != n {
			t.Fatalf("Run after Stop dispatched more (err %v)", err)
		}
	})
}

func TestRunnerContextCancelStopsServe(t *testing.T) {
	b := memory.New()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r := newRunner(b, &tree{}, runtime.WithPullTimeout(time.Hour))
	if err := r.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	ev, _ := runtime.NewEvent("NODE", node{Depth: 2, Fanout: 2})
	if err := b.Enqueue(ctx, ev); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel, despite an hour-long pull timeout")
	}
}

// Backend failures are retried with backoff and the run still completes.
func TestRunnerRetriesBackendErrors(t *testing.T) {
	rec := newRecorder(memory.New())
	defer rec.Close()
	rec.failPulls, rec.failAcks = 3, 2
	d := &tree{}
	var logs bytes.Buffer
	r := newRunner(rec, d, runtime.WithLogger(runtime.NewJSONLogger(&logs, slog.LevelInfo)),
		runtime.WithBackoff(time.Microsecond, time.Millisecond))
	ev, _ := runtime.NewEvent("NODE", node{Depth: 2, Fanout: 2})
	if err := r.RunUntilIdle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if want := countTree(2, 2); len(d.dispatched) != want || len(rec.acked) != want {
		t.Fatalf("dispatched %d, acked %d, want %d", len(d.dispatched), len(rec.acked), want)
	}
	if got := strings.Count(logs.String(), "backend pull failed"); got != 3 {
		t.Fatalf("logged %d pull failures, want 3", got)
	}
	if got := strings.Count(logs.String(), "backend ack failed"); got != 2 {
		t.Fatalf("logged %d ack failures, want 2", got)
	}
}

// A settle that fails permanently is logged once and never retried: the
// worker goes on with the next event and the run ends.
func TestRunnerNeverRetriesPermanentErrors(t *testing.T) {
	rec := newRecorder(memory.New())
	defer rec.Close()
	rec.permanentAcks = 1
	d := &tree{}
	var logs bytes.Buffer
	r := newRunner(rec, d, runtime.WithLogger(runtime.NewJSONLogger(&logs, slog.LevelInfo)),
		runtime.WithBackoff(time.Microsecond, time.Millisecond))
	a, _ := runtime.NewEvent("NODE", node{})
	b, _ := runtime.NewEvent("NODE", node{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.RunUntilIdle(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	if rec.ackCalls != 2 || len(d.dispatched) != 2 {
		t.Fatalf("%d ack calls for %d events dispatched; want 2 and 2 (no retry of the permanent failure)", rec.ackCalls, len(d.dispatched))
	}
	if got := strings.Count(logs.String(), "event left unsettled"); got != 1 {
		t.Fatalf("logged %d events left unsettled, want 1:\n%s", got, logs.String())
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Fatalf("a permanent failure was retried:\n%s", logs.String())
	}
}

// When one organ of an event fails, what the others emitted is not lost: a
// backend that cannot redeliver publishes it with the failure.
func TestRunnerFailedEventKeepsWhatOtherOrgansEmitted(t *testing.T) {
	b := newRecorder(memory.New())
	defer b.Close()
	twoOrgans := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		if in.Type != "NODE" {
			return out, nil
		}
		out = runtime.AppendChild(out, in, "LEAF", node{}) // the first organ succeeds
		return out, &runtime.HandlerError{Organ: "Second", Err: errors.New("fails")}
	})
	r := newRunner(b, twoOrgans, runtime.WithTopics("NODE", "LEAF"))
	start, _ := runtime.NewEvent("NODE", node{})
	if err := r.RunUntilIdle(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	if len(b.enqueued) != 2 || b.nacked[start.ID] != 1 {
		t.Fatalf("published %d events and nacked the start %d times; want the start and the first organ's LEAF, and one nack", len(b.enqueued), b.nacked[start.ID])
	}
	dead := b.Backend.(*memory.Backend).DeadLetters("tree")
	if len(dead) != 1 || dead[0].Event.ID != start.ID || dead[0].Reason != runtime.ReasonFailed {
		t.Fatalf("dead letters %+v, want the start event, reason %s", dead, runtime.ReasonFailed)
	}
}

func TestRunnerClosedBackendEndsRun(t *testing.T) {
	b := memory.New()
	r := newRunner(b, &tree{})
	b.Close()
	if err := r.Run(context.Background()); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("Run on a closed backend = %v, want ErrClosed", err)
	}
}

// strictHandler fails the test if anything reaches it: logging at a disabled
// level must not format or hand over a record.
type strictHandler struct{ t *testing.T }

func (h strictHandler) Enabled(context.Context, slog.Level) bool { return false }
func (h strictHandler) Handle(context.Context, slog.Record) error {
	h.t.Error("Handle called for a disabled level")
	return nil
}
func (h strictHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h strictHandler) WithGroup(string) slog.Handler      { return h }

func TestNothingFormattedWhenLevelOff(t *testing.T) {
	b := memory.New()
	defer b.Close()
	r := newRunner(b, &tree{}, runtime.WithLogger(slog.New(strictHandler{t})))
	ev, _ := runtime.NewEvent("NODE", node{Depth: 2, Fanout: 3})
	fail, _ := runtime.NewEvent("NODE", node{Fail: true})
	if err := r.RunUntilIdle(context.Background(), ev, fail); err != nil {
		t.Fatal(err)
	}
	// Logging costs the per-event path no allocation: each event of a chain
	// costs one allocation, its payload boxed into the interface.
	chain := func(n int) float64 {
		start, _ := runtime.NewEvent("NODE", node{Depth: n, Fanout: 1})
		return testing.AllocsPerRun(20, func() { _ = r.RunUntilIdle(context.Background(), start) })
	}
	perEvent := (chain(110) - chain(10)) / 100
	if perEvent > 1.05 {
		t.Fatalf("%.2f allocations per event with logging off, want at most 1", perEvent)
	}
}

func ExampleRunner() {
	b := memory.New()
	defer b.Close()
	shout := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		if in.Type == "WHISPER" {
			s, _ := runtime.Payload[string](in)
			ev, err := runtime.NewChildEvent(in, "SHOUT", strings.ToUpper(s))
			return append(out, ev), err
		}
		s, _ := runtime.Payload[string](in)
		fmt.Println(in.Type, s)
		return out, nil
	})
	start, _ := runtime.NewEvent("WHISPER", "boo")
	r := runtime.NewRunner(b, shout, runtime.WithService("echo"), runtime.WithTopics("WHISPER", "SHOUT"), runtime.WithMaxSteps(10))
	if err := r.RunUntilIdle(context.Background(), start); err != nil {
		fmt.Println(err)
	}
	// Output: SHOUT BOO
}
