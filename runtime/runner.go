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

// Runner is the run loop shared by every generated Spine: it subscribes its
// service to the bus, then pulls events, dispatches them, and settles each
// together with what it emitted. It keeps no queue: besides the events its
// workers hold, every event is in the backend, and every event a worker
// holds is handled and settled, or handed back.
//
// A Runner may run again after a run ends, but not twice at once. Stop is
// final.
type Runner struct {
	backend  Backend
	dispatch Dispatcher
	cfg      config
	handler  Handler      // dispatch inside the middleware
	organs   OrganHandler // the organ middleware and timeout, or nil

	subMu    sync.Mutex
	consumer Consumer // once subscribed

	running  atomic.Bool
	stop     chan struct{}
	stopOnce sync.Once

	mu        sync.Mutex
	cancelRun context.CancelFunc // ends the current run's loop context
}

// NewRunner returns a Runner that feeds the events of its service
// (WithService, WithTopics) from b to d.
func NewRunner(b Backend, d Dispatcher, opts ...Option) *Runner {
	r := &Runner{backend: b, dispatch: d, cfg: newConfig(opts), stop: make(chan struct{})}
	r.buildHandler()
	return r
}

// Backend returns the bus the Runner consumes from.
func (r *Runner) Backend() Backend { return r.backend }

// Subscription returns what the Runner subscribes to.
func (r *Runner) Subscription() Subscription {
	return Subscription{Service: r.cfg.service, Topics: append([]string(nil), r.cfg.topics...), Start: r.cfg.start}
}

// Subscribe joins the Runner's service to the bus, once; Run, RunUntilIdle
// and Emit call it. Subscribe before publishing what the service must see:
// a service new to the bus starts with the events published after it
// subscribed (unless WithStartAt(StartOldest)).
func (r *Runner) Subscribe(ctx context.Context) error {
	_, err := r.subscribe(ctx)
	return err
}

func (r *Runner) subscribe(ctx context.Context) (Consumer, error) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	if r.consumer != nil {
		return r.consumer, nil
	}
	c, err := r.backend.Subscribe(ctx, r.Subscription())
	if err != nil {
		return nil, fmt.Errorf("necrostack: subscribe service %q to %d topics: %w", r.cfg.service, len(r.cfg.topics), err)
	}
	r.consumer = c
	return c, nil
}

// subscribeRetrying subscribes, retrying transient failures with backoff
// until ctx ends.
func (r *Runner) subscribeRetrying(ctx context.Context) (Consumer, error) {
	for attempt := 0; ; attempt++ {
		c, err := r.subscribe(ctx)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, ErrPermanent) || errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return nil, err
		}
		r.cfg.logger.LogAttrs(ctx, slog.LevelError, "backend subscribe failed; retrying",
			slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
		if !r.sleep(ctx, attempt) {
			return nil, ctx.Err()
		}
	}
}

// Emit subscribes the Runner's service (once), then publishes events.
func (r *Runner) Emit(ctx context.Context, events ...Event) error {
	if _, err := r.subscribe(ctx); err != nil {
		return err
	}
	return r.backend.Enqueue(ctx, events...)
}

// Stop asks the current run, and any later one, to end gracefully: no new
// event is started; the events being handled finish, their emitted events
// are published and they are settled; the events a worker holds but has not
// started are handed back. Stop does not wait; Run returns when the run has
// ended. Stop is safe to call more than once and from any goroutine.
func (r *Runner) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
	r.mu.Lock()
	if r.cancelRun != nil {
		r.cancelRun() // the workers see it before they start another event
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
// returns an error only for ErrMaxSteps, a closed backend (ErrClosed), a
// permanent backend error (ErrPermanent), or a Runner already running.
func (r *Runner) Run(ctx context.Context) error {
	return r.run(ctx, false, nil)
}

// RunUntilIdle subscribes, publishes start in order, then handles events
// until the service is idle: nothing queued for it and nothing in flight. It
// returns nil when idle, ctx.Err() if ctx ends first, and nil as well after
// Stop.
func (r *Runner) RunUntilIdle(ctx context.Context, start ...Event) error {
	for i := range start {
		if err := start[i].Validate(); err != nil {
			return fmt.Errorf("start event %d: %w", i, err)
		}
	}
	if err := r.run(ctx, true, start); err != nil {
		return err
	}
	if r.stopping() {
		return nil
	}
	return ctx.Err()
}

type serviceKey struct{}

// ServiceFrom returns the name of the service whose Runner handles the event
// of ctx (the context handlers, middleware and organs get), or "".
func ServiceFrom(ctx context.Context) string {
	s, _ := ctx.Value(serviceKey{}).(string)
	return s
}

// runState is what the workers of one run share.
type runState struct {
	consumer  Consumer
	untilIdle bool
	multi     bool // more than one worker
	steps     atomic.Int64

	// until-idle only, guarded by mu:
	mu      sync.Mutex
	busy    int           // workers holding events
	idle    bool          // nothing queued and no worker busy: the run is over
	changed chan struct{} // closed when busy drops or the run goes idle
	waiting int           // workers waiting on changed
}

var errIdle = errors.New("idle")

func (r *Runner) run(ctx context.Context, untilIdle bool, start []Event) error {
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
	consumer, err := r.subscribeRetrying(loopCtx)
	if err != nil {
		if loopCtx.Err() != nil && !errors.Is(err, ErrPermanent) {
			return nil
		}
		return err
	}
	if len(start) > 0 {
		if err := r.backend.Enqueue(ctx, start...); err != nil {
			return fmt.Errorf("enqueue start events: %w", err)
		}
	}
	handlerCtx := context.WithValue(context.WithoutCancel(ctx), serviceKey{}, r.cfg.service)
	st := &runState{consumer: consumer, untilIdle: untilIdle, multi: r.cfg.workers > 1, changed: make(chan struct{})}
	defer func() {
		if r.stopping() {
			consumer.Close() // Stop is final: leave the bus
		}
	}()

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

// worker is one pull → dispatch → settle loop over small batches.
func (r *Runner) worker(ctx, handlerCtx context.Context, st *runState) error {
	batch := make([]Delivery, 0, r.cfg.pullBatch)
	var out []Event
	for {
		if ctx.Err() != nil {
			return nil
		}
		var err error
		batch, err = r.next(ctx, st, batch[:0])
		if err != nil {
			if errors.Is(err, errIdle) {
				return nil
			}
			return err
		}
		if len(batch) == 0 {
			continue
		}
		err = r.handleBatch(ctx, handlerCtx, st, batch, &out)
		clear(batch) // drop payload references until the next pull
		st.done()
		if err != nil {
			return err
		}
	}
}

// handleBatch handles the deliveries of one pull in order. When the run is
// stopping or over its step limit, it hands back those not started.
func (r *Runner) handleBatch(ctx, handlerCtx context.Context, st *runState, batch []Delivery, out *[]Event) error {
	for i := range batch {
		if ctx.Err() != nil {
			r.release(handlerCtx, st.consumer, batch[i:])
			return nil
		}
		if r.cfg.maxSteps > 0 && st.steps.Add(1) > r.cfg.maxSteps {
			r.release(handlerCtx, st.consumer, batch[i:])
			return fmt.Errorf("%w: the limit is %d events; event %s (%s) was not dispatched; raise WithMaxSteps or look for organs that emit in a cycle",
				ErrMaxSteps, r.cfg.maxSteps, batch[i].ID, batch[i].Type)
		}
		*out = r.handle(ctx, handlerCtx, st.consumer, &batch[i], (*out)[:0])
		clear(*out) // drop payload references until the next event
	}
	return nil
}

// release hands deliveries back to the backend; a failure is logged (the
// backend redelivers what it could not take back once its claim times out).
func (r *Runner) release(ctx context.Context, c Consumer, ds []Delivery) {
	if len(ds) == 0 {
		return
	}
	if err := c.Release(ctx, ds...); err != nil {
		r.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "backend release failed; the backend redelivers the events later",
			slog.Int("events", len(ds)), slog.String("error", err.Error()))
	}
}

// done ends a batch's turn in the until-idle accounting and wakes the
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

// next pulls a batch. In until-idle mode the pull and the count of busy
// workers change together under one lock, so "nothing queued and no worker
// busy" is decided atomically: then the run is idle. A batch pulled as the
// run stops is returned all the same: the worker hands it back.
func (r *Runner) next(ctx context.Context, st *runState, buf []Delivery) ([]Delivery, error) {
	if !st.untilIdle {
		return r.pull(ctx, st.consumer, buf, r.cfg.pullTimeout)
	}
	if !st.multi {
		// One worker: nobody else can emit, so an empty queue means idle,
		// unless the consumer will hand out a retry later.
		ds, err := r.pull(ctx, st.consumer, buf, 0)
		if err == nil && len(ds) == 0 && ctx.Err() == nil {
			if deferred(st.consumer) == 0 {
				return ds, errIdle
			}
			return r.pull(ctx, st.consumer, buf, r.cfg.pullTimeout)
		}
		return ds, err
	}
	for {
		st.mu.Lock()
		if st.idle {
			st.mu.Unlock()
			return buf, errIdle
		}
		ds, err := r.pull(ctx, st.consumer, buf, 0)
		if err != nil {
			st.mu.Unlock()
			return ds, err
		}
		if len(ds) > 0 {
			st.busy++
			st.mu.Unlock()
			return ds, nil
		}
		if ctx.Err() != nil {
			st.mu.Unlock()
			return ds, nil
		}
		if st.busy == 0 && deferred(st.consumer) > 0 {
			// Nothing to do but wait for a retry: wait for it holding the
			// lock, so that nobody decides the run is idle meanwhile.
			ds, err := r.pull(ctx, st.consumer, buf, r.cfg.pullTimeout)
			if len(ds) > 0 {
				st.busy++
			}
			st.mu.Unlock()
			return ds, err
		}
		if st.busy == 0 {
			st.idle = true
			close(st.changed)
			st.mu.Unlock()
			return ds, errIdle
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

// pull calls Consumer.Pull, retrying failures with backoff until ctx ends.
func (r *Runner) pull(ctx context.Context, c Consumer, buf []Delivery, wait time.Duration) ([]Delivery, error) {
	for attempt := 0; ; attempt++ {
		ds, err := c.Pull(ctx, buf, r.cfg.pullBatch, wait)
		if err == nil {
			return ds, nil
		}
		if ctx.Err() != nil {
			return buf, nil // stopping: not a backend failure
		}
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrPermanent) {
			return buf, fmt.Errorf("necrostack: pull: %w", err)
		}
		r.cfg.logger.LogAttrs(ctx, slog.LevelError, "backend pull failed; retrying",
			slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
		if !r.sleep(ctx, attempt) {
			return buf, nil
		}
	}
}

// handle dispatches one delivery and settles it with the backend: Ack with
// what it emitted, or Nack with the failure and what the organs that
// succeeded emitted.
func (r *Runner) handle(ctx, handlerCtx context.Context, c Consumer, d *Delivery, out []Event) []Event {
	out, err := r.safeDispatch(handlerCtx, &d.Event, out)
	if err != nil {
		r.logHandlerError(handlerCtx, d, err)
		r.settle(ctx, handlerCtx, d, "nack", func() error { return c.Nack(handlerCtx, *d, out, err) })
		return out
	}
	r.settle(ctx, handlerCtx, d, "ack", func() error { return c.Ack(handlerCtx, *d, out) })
	if log := r.cfg.logger; log.Enabled(handlerCtx, slog.LevelDebug) {
		log.LogAttrs(handlerCtx, slog.LevelDebug, "event handled",
			slog.String(LogKeyEventID, d.ID.String()),
			slog.String(LogKeyEventType, d.Type),
			slog.Int(LogKeyEmitted, len(out)))
	}
	return out
}

// safeDispatch turns a panic that escaped the dispatcher into a HandlerError.
func (r *Runner) safeDispatch(ctx context.Context, ev *Event, out []Event) (emitted []Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			emitted, err = out[:0], newPanicError("", p)
		}
	}()
	return r.handler(ctx, *ev, out)
}

// dispatchAndStamp dispatches in and stamps the children AppendChild built
// for it.
func (r *Runner) dispatchAndStamp(ctx context.Context, in Event, out []Event) ([]Event, error) {
	n := len(out)
	in.stampChildren = true
	out, err := r.dispatch.Dispatch(ctx, in, out)
	stamp(out[n:])
	return out, err
}

func newPanicError(organ string, p any) *HandlerError {
	return &HandlerError{Organ: organ, Err: fmt.Errorf("panic: %v", p), Panic: p, Stack: debug.Stack()}
}

// settle calls an ack or nack, retrying a failure with backoff until it
// succeeds, the failure is permanent, or the run stops; then the event is
// left unsettled and a backend that redelivers hands it out again.
func (r *Runner) settle(ctx, handlerCtx context.Context, d *Delivery, what string, call func() error) {
	err := call()
	for attempt := 0; err != nil; attempt++ {
		if errors.Is(err, ErrClosed) || errors.Is(err, ErrPermanent) || !r.sleepLogged(ctx, handlerCtx, d, what, attempt, err) {
			r.cfg.logger.LogAttrs(handlerCtx, slog.LevelError, "event left unsettled",
				slog.String(LogKeyEventID, d.ID.String()), slog.String(LogKeyEventType, d.Type),
				slog.String("error", err.Error()))
			return
		}
		err = call()
	}
}

func (r *Runner) sleepLogged(ctx, logCtx context.Context, d *Delivery, what string, attempt int, err error) bool {
	r.cfg.logger.LogAttrs(logCtx, slog.LevelError, "backend "+what+" failed; retrying",
		slog.String(LogKeyEventID, d.ID.String()), slog.String(LogKeyEventType, d.Type),
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
func (r *Runner) logHandlerError(ctx context.Context, d *Delivery, err error) {
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
			slog.String(LogKeyEventID, d.ID.String()),
			slog.String(LogKeyEventType, d.Type),
			slog.Int(LogKeyAttempt, d.Attempt),
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
