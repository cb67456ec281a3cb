package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Handler handles one event: it dispatches it to every organ that listens to
// it and appends what they emitted to out. Organ failures come back as
// *HandlerError values, as from Dispatcher.Dispatch.
type Handler func(ctx context.Context, in Event, out []Event) ([]Event, error)

// Middleware wraps the handling of each event: tracing, metrics, logging,
// anything that needs to see every event and its outcome. It calls next to
// handle the event; it may change the context next gets, and look at (or
// change) what next emitted: out[len(out before):].
type Middleware func(next Handler) Handler

// OrganHandler is the call of one organ for one event; organ names it
// ("SummonSpirit" or "Oracle.AskQuestion").
type OrganHandler func(ctx context.Context, organ string, in Event, out []Event) ([]Event, error)

// OrganMiddleware wraps each organ call, inside the event's Middleware. It
// must call next with a context derived from the one it was given.
type OrganMiddleware func(next OrganHandler) OrganHandler

// ErrTimeout is matched by the failure of an organ that overran
// WithHandlerTimeout.
var ErrTimeout = errors.New("organ overran its timeout")

// WithMiddleware wraps the handling of each event in mw, the first given
// outermost. Without it the Runner calls the Dispatcher directly.
func WithMiddleware(mw ...Middleware) Option {
	return func(c *config) { c.middleware = append(c.middleware, mw...) }
}

// WithOrganMiddleware wraps each organ call of a generated Spine in mw, the
// first given outermost. Without it (and without WithHandlerTimeout) the
// generated code calls each organ directly, at no cost.
func WithOrganMiddleware(mw ...OrganMiddleware) Option {
	return func(c *config) { c.organMiddleware = append(c.organMiddleware, mw...) }
}

// WithHandlerTimeout gives each organ call a context deadline d. An organ
// that returns after it fails like any failing organ — its emitted events
// are dropped, the event is retried where the backend redelivers, and dead-
// lettered with reason "timeout" in the end — whatever it returned. The
// organ should watch its context: it is not abandoned while it runs.
// 0 (the default) means no deadline.
func WithHandlerTimeout(d time.Duration) Option {
	return func(c *config) { c.handlerTimeout = max(d, 0) }
}

// handler builds the event handler: the Dispatcher inside the middleware.
func (r *Runner) buildHandler() {
	h := Handler(r.dispatchAndStamp)
	for i := len(r.cfg.middleware) - 1; i >= 0; i-- {
		h = r.cfg.middleware[i](h)
	}
	r.handler = h
	if len(r.cfg.organMiddleware) == 0 && r.cfg.handlerTimeout == 0 {
		return
	}
	call := OrganHandler(func(ctx context.Context, organ string, in Event, out []Event) ([]Event, error) {
		// The organ itself: CallOrgan passes it in through the context, so
		// that the chain is built once.
		c, ok := ctx.Value(organCallKey{}).(*organCall)
		if !ok {
			return out, &HandlerError{Organ: organ, Err: errors.New("an organ middleware called next with a context not derived from the one it was given")}
		}
		return c.call(ctx, organ, in, out)
	})
	if d := r.cfg.handlerTimeout; d > 0 {
		call = timeout(d, call)
	}
	for i := len(r.cfg.organMiddleware) - 1; i >= 0; i-- {
		call = r.cfg.organMiddleware[i](call)
	}
	r.organs = call
}

type organCallKey struct{}

type organCall struct{ call OrganHandler }

// WrapsOrgans reports whether organ calls go through CallOrgan: generated
// adapters call organs directly when it is false.
func (r *Runner) WrapsOrgans() bool { return r.organs != nil }

// CallOrgan calls an organ through the organ middleware and the handler
// timeout. Generated adapters call it when WrapsOrgans is true; call is the
// organ's adapter.
func (r *Runner) CallOrgan(ctx context.Context, organ string, in Event, out []Event, call OrganHandler) ([]Event, error) {
	if r.organs == nil {
		return call(ctx, organ, in, out)
	}
	return r.organs(context.WithValue(ctx, organCallKey{}, &organCall{call}), organ, in, out)
}

// timeout gives each call a deadline d and fails a call that ends after it.
func timeout(d time.Duration, next OrganHandler) OrganHandler {
	return func(ctx context.Context, organ string, in Event, out []Event) ([]Event, error) {
		n := len(out)
		tctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		emitted, err := next(tctx, organ, in, out)
		if errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return emitted[:n], &HandlerError{Organ: organ, Err: fmt.Errorf("%w of %v", ErrTimeout, d)}
		}
		return emitted, err
	}
}
