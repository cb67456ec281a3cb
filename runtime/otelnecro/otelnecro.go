package otelnecro

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/necrostack/necrostack/runtime"
)

// ScopeName is the instrumentation scope of the spans and metrics of this
// package (and of otelredis).
const ScopeName = "github.com/necrostack/necrostack/runtime/otelnecro"

// Attribute keys of the spans, besides the OpenTelemetry messaging ones.
const (
	AttrCorrelationID = attribute.Key("necrostack.correlation_id")
	AttrCausationID   = attribute.Key("necrostack.causation_id")
	AttrOrgan         = attribute.Key("necrostack.organ")
)

// Option configures New.
type Option func(*config)

type config struct {
	tp   trace.TracerProvider
	mp   metric.MeterProvider
	prop propagation.TextMapPropagator
}

// WithTracerProvider sets where spans go. The default is otel's global
// TracerProvider (otel.GetTracerProvider), which records nothing until
// otel.SetTracerProvider is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where metrics go. The default is otel's global
// MeterProvider (otel.GetMeterProvider), which records nothing until
// otel.SetMeterProvider is called.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithPropagator sets how trace context is read from and written to event
// headers. The default is W3C Trace Context and W3C Baggage ("traceparent",
// "tracestate", "baggage"), whatever otel's global propagator is.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// Telemetry traces and measures the events and organ calls of the Spines it
// is given to. One Telemetry may serve many Spines; it is safe for
// concurrent use.
type Telemetry struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	fields []string // the header keys prop writes
	names  spanNames
	m      instruments
}

// New returns the telemetry the options describe. Instruments that cannot
// be created are reported to otel.Handle and left out.
func New(opts ...Option) *Telemetry {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.prop == nil {
		c.prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	t := &Telemetry{
		tracer: c.tp.Tracer(ScopeName),
		prop:   c.prop,
		fields: c.prop.Fields(),
	}
	t.m.init(c.mp.Meter(ScopeName))
	return t
}

// Options returns New(opts...).Options().
func Options(opts ...Option) []runtime.Option {
	return New(opts...).Options()
}

// Options returns the options that trace and measure a Spine: its
// Middleware and its OrganMiddleware. Pass them to NewSpine (or
// runtime.NewRunner), after any middleware that should see the events
// before the telemetry does.
func (t *Telemetry) Options() []runtime.Option {
	return []runtime.Option{runtime.WithMiddleware(t.Middleware()), runtime.WithOrganMiddleware(t.OrganMiddleware())}
}

// The options of the spans' start, as slices so that passing them does not
// allocate. Attributes are set once a span is known to record, so that an
// unsampled event or the no-op provider pays nothing for them (samplers do
// not see them).
var (
	consumerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}
	internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	systemAttr   = semconv.MessagingSystemKey.String("necrostack")
)

// Middleware traces and measures the handling of each event: a consumer span
// whose parent comes from the event's headers, and the metrics
// necrostack.events.handled and necrostack.event.duration. The events
// emitted while handling it that still carry its trace context (those no
// OrganMiddleware gave an organ's) get the span's context in new headers.
func (t *Telemetry) Middleware() runtime.Middleware {
	return func(next runtime.Handler) runtime.Handler {
		return func(ctx context.Context, in runtime.Event, out []runtime.Event) (_ []runtime.Event, err error) {
			start := t.m.start(ctx, "")
			service := runtime.ServiceFrom(ctx)
			parent := t.prop.Extract(ctx, propagation.MapCarrier(in.Headers))
			ctx, span := t.tracer.Start(parent, t.names.get(in.Type), consumerSpan...)
			if span.IsRecording() {
				span.SetAttributes(eventAttrs(in, service)...)
			}
			n := len(out)
			done := false
			defer func() {
				if !done { // a panic is on its way to the Runner
					t.end(ctx, span, start, errPanicked, service, "", in.Type)
				}
			}()
			out, err = next(ctx, in, out)
			done = true
			if !span.SpanContext().Equal(trace.SpanContextFromContext(parent)) {
				t.inject(ctx, in.Headers, out[n:])
			}
			t.end(ctx, span, start, err, service, "", in.Type)
			return out, err
		}
	}
}

// OrganMiddleware traces and measures each organ call: a span named after
// the organ, child of the event's, and the metrics necrostack.organ.calls
// and necrostack.organ.duration. The events the organ emitted get the organ
// span's context in new headers.
func (t *Telemetry) OrganMiddleware() runtime.OrganMiddleware {
	return func(next runtime.OrganHandler) runtime.OrganHandler {
		return func(ctx context.Context, organ string, in runtime.Event, out []runtime.Event) (_ []runtime.Event, err error) {
			start := t.m.start(ctx, organ)
			service := runtime.ServiceFrom(ctx)
			octx, span := t.tracer.Start(ctx, organ, internalSpan...)
			if span.IsRecording() {
				span.SetAttributes(AttrOrgan.String(organ))
			}
			n := len(out)
			done := false
			defer func() {
				if !done {
					t.end(octx, span, start, errPanicked, service, organ, in.Type)
				}
			}()
			out, err = next(octx, organ, in, out)
			done = true
			if !span.SpanContext().Equal(trace.SpanContextFromContext(ctx)) {
				t.inject(octx, in.Headers, out[n:])
			}
			t.end(octx, span, start, err, service, organ, in.Type)
			return out, err
		}
	}
}

type panicked struct{}

func (panicked) Error() string { return "panic" }

var errPanicked error = panicked{}

// end ends span with the outcome of err and records the metrics of an event
// (organ "") or an organ call that started at start (zero: not timed).
func (t *Telemetry) end(ctx context.Context, span trace.Span, start time.Time, err error, service, organ, eventType string) {
	if err != nil && span.IsRecording() {
		if err != errPanicked {
			span.RecordError(err)
		}
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	t.m.record(ctx, start, err != nil, service, organ, eventType)
}

// spanNames caches the names of event spans, "process TYPE", so that naming
// a span does not allocate.
type spanNames struct {
	mu sync.RWMutex
	m  map[string]string
}

func (n *spanNames) get(eventType string) string {
	n.mu.RLock()
	name, ok := n.m[eventType]
	n.mu.RUnlock()
	if ok {
		return name
	}
	name = "process " + eventType
	n.mu.Lock()
	if n.m == nil {
		n.m = map[string]string{}
	}
	if len(n.m) < maxAttrSets {
		n.m[eventType] = name
	}
	n.mu.Unlock()
	return name
}

func eventAttrs(in runtime.Event, service string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs,
		systemAttr,
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(in.Type),
		semconv.MessagingMessageID(in.ID.String()),
	)
	if service != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(service))
	}
	if in.CorrelationID != uuid.Nil {
		attrs = append(attrs, AttrCorrelationID.String(in.CorrelationID.String()))
	}
	if in.CausationID != uuid.Nil {
		attrs = append(attrs, AttrCausationID.String(in.CausationID.String()))
	}
	return attrs
}

// inject gives the events emitted that still carry the trace context of
// headers (the incoming event's) the context of ctx, in a copy of their
// headers: the incoming map is shared with the other children and never
// changed. Children with the incoming headers themselves share one copy.
func (t *Telemetry) inject(ctx context.Context, headers map[string]string, emitted []runtime.Event) {
	var shared map[string]string
	for i := range emitted {
		h := emitted[i].Headers
		if !t.sameContext(h, headers) {
			continue // an inner middleware or the organ set a context of its own
		}
		if sameMap(h, headers) {
			if shared == nil {
				shared = t.injected(ctx, headers)
			}
			emitted[i].Headers = shared
			continue
		}
		emitted[i].Headers = t.injected(ctx, h)
	}
}

// sameContext reports whether two header maps hold the same trace context.
func (t *Telemetry) sameContext(a, b map[string]string) bool {
	for _, f := range t.fields {
		if a[f] != b[f] {
			return false
		}
	}
	return true
}

// sameMap reports whether a and b are one map (or both nil).
func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// injected returns a copy of h with the trace context of ctx in place of
// the one h has. It returns h when the result would be empty.
func (t *Telemetry) injected(ctx context.Context, h map[string]string) map[string]string {
	m := make(map[string]string, len(h)+len(t.fields))
	for k, v := range h {
		m[k] = v
	}
	for _, f := range t.fields {
		delete(m, f)
	}
	t.prop.Inject(ctx, propagation.MapCarrier(m))
	if len(m) == 0 {
		return h
	}
	return m
}

// Inject returns ev with the trace context of ctx in its headers (a copy:
// ev's map is not changed). Use it for the events that start a chain, so
// that their handling joins the trace of the code that published them.
func (t *Telemetry) Inject(ctx context.Context, ev runtime.Event) runtime.Event {
	ev.Headers = t.injected(ctx, ev.Headers)
	return ev
}

// Extract returns ctx with the trace context (and baggage) of ev's headers.
func (t *Telemetry) Extract(ctx context.Context, ev runtime.Event) context.Context {
	return t.prop.Extract(ctx, propagation.MapCarrier(ev.Headers))
}
