package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Dispatcher routes one event to its organs. Dispatch appends the events the
// organs emitted to out and returns it (the append idiom, so that the loop
// reuses one buffer and dispatch allocates nothing of its own). Organ failures
// are returned as *HandlerError values, joined with errors.Join when several
// organs fail; the events of the organs that succeeded are still returned.
// Generated Spines implement it with a switch over their event types.
type Dispatcher interface {
	Dispatch(ctx context.Context, in Event, out []Event) ([]Event, error)
}

// DispatchFunc adapts a function to Dispatcher.
type DispatchFunc func(ctx context.Context, in Event, out []Event) ([]Event, error)

// Dispatch calls f.
func (f DispatchFunc) Dispatch(ctx context.Context, in Event, out []Event) ([]Event, error) {
	return f(ctx, in, out)
}

// Runner is the run loop shared by every generated Spine: pull an event from
// the Backend, dispatch it, then acknowledge it together with what it emitted.
// It keeps no queue: besides the events its workers are handling, every event
// is in the backend.
//
// A Runner may run again after a run ends, but not twice at once. Stop is
// final.
type Runner struct {
	backend  Backend
	dispatch Dispatcher
	nacker   Nacker
	cfg      config

	running  atomic.Bool
	stop     chan struct{}
	stopOnce sync.Once

	mu        sync.Mutex
	cancelRun context.CancelFunc // ends the current run's loop context
}

// NewRunner returns a Runner that feeds events from b to d.
func NewRunner(b Backend, d Dispatcher, opts ...Option) *Runner {
	r := &Runner{backend: b, dispatch: d, cfg: newConfig(opts), stop: make(chan struct{})}
	r.nacker, _ = b.(Nacker)
	return r
}

// Backend returns the backend the Runner pulls from.
func (r *Runner) Backend() Backend { return r.backend }

// Stop asks the current run, and any later one, to end gracefully: no new
// event is pulled; the events in flight finish, their emitted events are
// enqueued and they are acknowledged. Stop does not wait; Run returns when the
// run has ended. Stop is safe to call more than once and from any goroutine.
func (r *Runner) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
	r.mu.Lock()
	if r.cancelRun != nil {
		r.cancelRun() // the workers see it before they pull again
	}
	r.mu.Unlock()
}

func (r *Runner) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// Run serves events until ctx is cancelled or Stop is called, and then
// returns nil once the events in flight are done. An empty pull is not an end:
// the loop waits for more. Handler errors and panics are logged and never end
// the loop; backend errors are logged and retried with capped backoff. Run
// returns an error only for ErrMaxSteps, a closed backend (ErrClosed), or a
// Runner already running.
func (r *Runner) Run(ctx context.Context) error {
	return r.run(ctx, false)
}

// RunUntilIdle enqueues start, in order, then handles events until the
// backend is idle: nothing queued and nothing in flight. It returns nil when
// idle, ctx.Err() if ctx ends first, and nil as well after Stop.
func (r *Runner) RunUntilIdle(ctx context.Context, start ...Event) error {
	if len(start) > 0 {
		for i := range start {
			if err := start[i].Validate(); err != nil {
				return fmt.Errorf("start event %d: %w", i, err)
			}
		}
		if err := r.backend.Enqueue(ctx, start...); err != nil {
			return fmt.Errorf("enqueue start events: %w", err)
		}
	}
	if err := r.run(ctx, true); err != nil {
		return err
	}
	if r.stopping() {
		return nil
	}
	return ctx.Err()
}

// runState is what the workers of one run share.
type runState struct {
	untilIdle bool
	multi     bool // more than one worker
	steps     atomic.Int64

	// until-idle only, guarded by mu:
	mu      sync.Mutex
	busy    int           // workers holding an event
	idle    bool          // nothing queued and no worker busy: the run is over
	changed chan struct{} // closed when busy drops or the run goes idle
	waiting int           // workers waiting on changed
}

var errIdle = errors.New("idle")

func (r *Runner) run(ctx context.Context, untilIdle bool) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("necrostack: Runner is already running; start one run at a time")
	}
	defer r.running.Store(false)

	// loopCtx ends on Stop or cancellation and interrupts waiting pulls;
	// handlers get a context that keeps ctx's values but is never cancelled by
	// a stop, so that the event in flight finishes.
	loopCtx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.cancelRun = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.cancelRun = nil
		r.mu.Unlock()
		cancel()
	}()
	if r.stopping() {
		cancel()
	}
	handlerCtx := context.WithoutCancel(ctx)
	st := &runState{untilIdle: untilIdle, multi: r.cfg.workers > 1, changed: make(chan struct{})}

	if r.cfg.workers == 1 {
		return r.worker(loopCtx, handlerCtx, st)
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range r.cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.worker(loopCtx, handlerCtx, st); err != nil {
				errOnce.Do(func() { firstErr = err })
				cancel()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// worker is one pull → dispatch → ack loop.
func (r *Runner) worker(ctx, handlerCtx context.Context, st *runState) error {
	buf := make([]Event, 0, 1)
	var out []Event
	done := ctx.Done() // closed on Stop too
	for {
		select {
		case <-done:
			return nil
		default:
		}
		ev, ok, err := r.next(ctx, st, buf[:0])
		if err != nil {
			if errors.Is(err, errIdle) {
				return nil
			}
			return err
		}
		if !ok {
			continue
		}
		if r.cfg.maxSteps > 0 && st.steps.Add(1) > r.cfg.maxSteps {
			st.done()
			return fmt.Errorf("%w: the limit is %d events; event %s (%s) was not dispatched; raise WithMaxSteps or look for organs that emit in a cycle",
				ErrMaxSteps, r.cfg.maxSteps, ev.ID, ev.Type)
		}
		out = r.handle(ctx, handlerCtx, ev, out[:0])
		clear(out) // drop payload references until the next event
		st.done()
	}
}

// done ends an event's turn in the until-idle accounting and wakes the
// workers waiting for it.
func (st *runState) done() {
	if st.untilIdle && st.multi {
		st.mu.Lock()
		st.busy--
		if st.waiting > 0 && !st.idle {
			close(st.changed)
			st.changed, st.waiting = make(chan struct{}), 0
		}
		st.mu.Unlock()
	}
}

// next pulls one event. In until-idle mode the pull and the count of busy
// workers change together under one lock, so "nothing queued and no worker
// busy" is decided atomically: then the run is idle.
func (r *Runner) next(ctx context.Context, st *runState, buf []Event) (Event, bool, error) {
	if !st.untilIdle {
		evs, err := r.pull(ctx, buf, r.cfg.pullTimeout)
		if err != nil || len(evs) == 0 {
			return Event{}, false, err
		}
		return evs[0], true, nil
	}
	if r.cfg.workers == 1 {
		// One worker: nobody else can emit, so an empty queue means idle.
		evs, err := r.pull(ctx, buf, 0)
		if err != nil || len(evs) == 0 {
			if err == nil && ctx.Err() == nil {
				err = errIdle
			}
			return Event{}, false, err
		}
		return evs[0], true, nil
	}
	for {
		st.mu.Lock()
		if st.idle {
			st.mu.Unlock()
			return Event{}, false, errIdle
		}
		evs, err := r.pull(ctx, buf, 0)
		if err != nil || ctx.Err() != nil {
			st.mu.Unlock()
			return Event{}, false, err
		}
		if len(evs) > 0 {
			st.busy++
			st.mu.Unlock()
			return evs[0], true, nil
		}
		if st.busy == 0 {
			st.idle = true
			close(st.changed)
			st.mu.Unlock()
			return Event{}, false, errIdle
		}
		// Busy workers may still emit: wait until one finishes.
		changed := st.changed
		st.waiting++
		st.mu.Unlock()
		t := time.NewTimer(r.cfg.pullTimeout)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// pull calls Backend.Pull, retrying failures with backoff until ctx ends.
func (r *Runner) pull(ctx context.Context, buf []Event, wait time.Duration) ([]Event, error) {
	for attempt := 0; ; attempt++ {
		evs, err := r.backend.Pull(ctx, buf, 1, wait)
		if err == nil {
			return evs, nil
		}
		if ctx.Err() != nil {
			return nil, nil // stopping: not a backend failure
		}
		if errors.Is(err, ErrClosed) {
			return nil, fmt.Errorf("necrostack: pull: %w", err)
		}
		r.cfg.logger.LogAttrs(ctx, slog.LevelError, "backend pull failed; retrying",
			slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
		if !r.sleep(ctx, attempt) {
			return nil, nil
		}
	}
}

// handle dispatches one event and settles it with the backend.
func (r *Runner) handle(ctx, handlerCtx context.Context, ev Event, out []Event) []Event {
	out, err := r.safeDispatch(handlerCtx, ev, out)
	log := r.cfg.logger
	if err != nil {
		r.logHandlerError(handlerCtx, ev, err)
	}
	if err != nil && r.nacker != nil {
		if nackErr := r.nacker.Nack(handlerCtx, ev, err); nackErr != nil {
			r.retrySettle(ctx, handlerCtx, ev, "nack", nackErr, func() error { return r.nacker.Nack(handlerCtx, ev, err) })
		}
		return out
	}
	if ackErr := r.backend.Ack(handlerCtx, ev, out); ackErr != nil {
		r.retrySettle(ctx, handlerCtx, ev, "ack", ackErr, func() error { return r.backend.Ack(handlerCtx, ev, out) })
	}
	if log.Enabled(handlerCtx, slog.LevelDebug) {
		log.LogAttrs(handlerCtx, slog.LevelDebug, "event handled",
			slog.String(LogKeyEventID, ev.ID.String()),
			slog.String(LogKeyEventType, ev.Type),
			slog.Int(LogKeyEmitted, len(out)))
	}
	return out
}

// safeDispatch turns a panic that escaped the dispatcher into a HandlerError.
func (r *Runner) safeDispatch(ctx context.Context, ev Event, out []Event) (emitted []Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			emitted, err = out[:0], newPanicError("", p)
		}
	}()
	return r.dispatch.Dispatch(ctx, ev, out)
}

func newPanicError(organ string, p any) *HandlerError {
	return &HandlerError{Organ: organ, Err: fmt.Errorf("panic: %v", p), Panic: p, Stack: debug.Stack()}
}

// retrySettle retries a failed ack or nack with backoff. If the run is
// stopping and the backend still fails, the event is left unacknowledged: a
// backend that redelivers will hand it out again.
func (r *Runner) retrySettle(ctx, handlerCtx context.Context, ev Event, what string, err error, call func() error) {
	for attempt := 0; err != nil; attempt++ {
		if errors.Is(err, ErrClosed) || !r.sleepLogged(ctx, handlerCtx, ev, what, attempt, err) {
			r.cfg.logger.LogAttrs(handlerCtx, slog.LevelError, "event left unacknowledged",
				slog.String(LogKeyEventID, ev.ID.String()), slog.String(LogKeyEventType, ev.Type),
				slog.String("error", err.Error()))
			return
		}
		err = call()
	}
}

func (r *Runner) sleepLogged(ctx, logCtx context.Context, ev Event, what string, attempt int, err error) bool {
	r.cfg.logger.LogAttrs(logCtx, slog.LevelError, "backend "+what+" failed; retrying",
		slog.String(LogKeyEventID, ev.ID.String()), slog.String(LogKeyEventType, ev.Type),
		slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
	return r.sleep(ctx, attempt)
}

// sleep waits the backoff for attempt (0-based), with jitter; false if ctx ended.
func (r *Runner) sleep(ctx context.Context, attempt int) bool {
	d := r.cfg.backoffMin << min(attempt, 30)
	if d <= 0 || d > r.cfg.backoffMax {
		d = r.cfg.backoffMax
	}
	d = d/2 + rand.N(d/2+1) // jitter: [d/2, d]
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// logHandlerError logs one line per failed organ.
func (r *Runner) logHandlerError(ctx context.Context, ev Event, err error) {
	log := r.cfg.logger
	if !log.Enabled(ctx, slog.LevelError) {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		attrs := []slog.Attr{
			slog.String(LogKeyEventID, ev.ID.String()),
			slog.String(LogKeyEventType, ev.Type),
		}
		var he *HandlerError
		msg := "handler failed"
		if errors.As(e, &he) {
			attrs = append(attrs, slog.String(LogKeyOrgan, he.Organ))
			if he.Panic != nil {
				msg = "handler panicked"
				attrs = append(attrs, slog.String("stack", string(he.Stack)))
			}
		}
		attrs = append(attrs, slog.String("error", e.Error()))
		log.LogAttrs(ctx, slog.LevelError, msg, attrs...)
	}
}
