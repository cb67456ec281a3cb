package chain

import (
	"context"
	"fmt"
	"reflect"

	"github.com/necrostack/necrostack/runtime"
)

// HandSwitch is a dispatcher written by hand over NecroStack's envelope: a
// switch on the type, a type assertion, a direct call, runtime.AppendChild.
// BenchmarkDispatch compares the generated Spine's dispatch with it, to show
// what the generated adapters add to a bare switch. It uses NecroStack's
// runtime, so it is not a baseline for NecroStack as a whole: that is
// bench/baseline, which shares no code with it.
type HandSwitch struct {
	Oracle *Oracle
	Sink   *Sink
}

// Dispatch implements runtime.Dispatcher.
func (h *HandSwitch) Dispatch(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	switch in.Type {
	case EventSummonRitual:
		r, err := SummonSpirit(ctx, in.Payload.(SummonRitual))
		if err != nil {
			return out, err
		}
		return runtime.AppendChild(out, in, EventSpiritAppeared, r), nil
	case EventSpiritAppeared:
		r, err := h.Oracle.AskQuestion(ctx, in.Payload.(SpiritAppeared))
		if err != nil {
			return out, err
		}
		return runtime.AppendChild(out, in, EventAnswerGenerated, r), nil
	case EventAnswerGenerated:
		r, err := InterpretResponse(ctx, in.Payload.(AnswerGenerated))
		if err != nil {
			return out, err
		}
		return runtime.AppendChild(out, in, EventOmenRevealed, r), nil
	case EventOmenRevealed:
		return out, h.Sink.ManifestEffect(ctx, in.Payload.(OmenRevealed))
	}
	return out, runtime.NoRoute(in)
}

// Reflective is a dispatcher built the way run-time registration frameworks
// work: handlers registered by event type and called with reflect.Value.Call.
type Reflective struct {
	routes map[string]reflectRoute
}

type reflectRoute struct {
	fn      reflect.Value
	emits   string
	hasEmit bool
}

// NewReflective registers the chain's handlers by reflection.
func NewReflective(o *Oracle, s *Sink) *Reflective {
	r := &Reflective{routes: map[string]reflectRoute{}}
	r.register(EventSummonRitual, SummonSpirit, EventSpiritAppeared)
	r.register(EventSpiritAppeared, o.AskQuestion, EventAnswerGenerated)
	r.register(EventAnswerGenerated, InterpretResponse, EventOmenRevealed)
	r.register(EventOmenRevealed, s.ManifestEffect, "")
	return r
}

func (r *Reflective) register(eventType string, fn any, emits string) {
	r.routes[eventType] = reflectRoute{fn: reflect.ValueOf(fn), emits: emits, hasEmit: emits != ""}
}

// Dispatch implements runtime.Dispatcher.
func (r *Reflective) Dispatch(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	route, ok := r.routes[in.Type]
	if !ok {
		return out, runtime.NoRoute(in)
	}
	res := route.fn.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(in.Payload)})
	if errV := res[len(res)-1]; !errV.IsNil() {
		return out, fmt.Errorf("handler for %s: %w", in.Type, errV.Interface().(error))
	}
	if route.hasEmit {
		out = runtime.AppendChild(out, in, route.emits, res[0].Interface())
	}
	return out, nil
}
