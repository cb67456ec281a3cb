package otelnecro_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/otelnecro"
)

// spans indexes recorded spans.
type spans []sdktrace.ReadOnlySpan

func (s spans) named(name string) spans {
	var out spans
	for _, sp := range s {
		if sp.Name() == name {
			out = append(out, sp)
		}
	}
	return out
}

func (s spans) one(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	got := s.named(name)
	if len(got) != 1 {
		t.Fatalf("%d spans named %q, want 1; spans: %v", len(got), name, s)
	}
	return got[0]
}

func (s spans) String() string {
	var b strings.Builder
	for _, sp := range s {
		fmt.Fprintf(&b, "\n  %s span %s parent %s status %v", sp.Name(), sp.SpanContext().SpanID(), sp.Parent().SpanID(), sp.Status().Code)
	}
	return b.String()
}

func attr(sp sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range sp.Attributes() {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func childOf(t *testing.T, child, parent sdktrace.ReadOnlySpan) {
	t.Helper()
	if child.Parent().SpanID() != parent.SpanContext().SpanID() || child.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("span %q (trace %s) has parent %s; want %q, span %s of trace %s", child.Name(), child.SpanContext().TraceID(),
			child.Parent().SpanID(), parent.Name(), parent.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
}

// One trace follows a chain across two services of a bus: the root's
// publisher, each service's event span, each organ's span under it; the
// events an organ emits are handled under its span; a failed organ and its
// event have an error status and the error recorded.
func TestOneTraceAcrossServices(t *testing.T) {
	tp, rec := tracing(t)
	tel := otelnecro.New(otelnecro.WithTracerProvider(tp))
	b := memory.New()
	defer b.Close()
	split := func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		out = runtime.AppendChild(out, in, "WORK", "ok")
		return runtime.AppendChild(out, in, "WORK", "fail"), nil
	}
	ra, _ := newRunner(b, "a", map[string][]organ{"START": {{"Split", split}}}, tel.Options()...)
	rb, _ := newRunner(b, "b", map[string][]organ{"WORK": {{"Work", failWhen("fail")}}}, tel.Options()...)
	ctx := context.Background()
	if err := rb.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	pctx, publish := tp.Tracer("test").Start(ctx, "publish")
	root := tel.Inject(pctx, runtime.MustNewEvent("START", 0))
	publish.End()
	if err := ra.RunUntilIdle(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := rb.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}

	all := spans(rec.Ended())
	if len(all) != 7 {
		t.Fatalf("%d spans, want 7: publish, process START, Split, 2 × process WORK, 2 × Work:%v", len(all), all)
	}
	for _, sp := range all {
		if sp.SpanContext().TraceID() != publish.SpanContext().TraceID() {
			t.Fatalf("span %q is in trace %s, want the publisher's %s", sp.Name(), sp.SpanContext().TraceID(), publish.SpanContext().TraceID())
		}
	}
	start, splitSpan := all.one(t, "process START"), all.one(t, "Split")
	childOf(t, start, all.one(t, "publish"))
	childOf(t, splitSpan, start)
	if start.SpanKind() != trace.SpanKindConsumer || splitSpan.SpanKind() != trace.SpanKindInternal {
		t.Fatalf("kinds %v and %v, want consumer and internal", start.SpanKind(), splitSpan.SpanKind())
	}
	for key, want := range map[attribute.Key]string{
		"messaging.system":              "necrostack",
		"messaging.operation.type":      "process",
		"messaging.destination.name":    "START",
		"messaging.consumer.group.name": "a",
		"messaging.message.id":          root.ID.String(),
		otelnecro.AttrCorrelationID:     "",
		otelnecro.AttrCausationID:       "",
	} {
		if got := attr(start, key); got != want {
			t.Errorf("process START: %s = %q, want %q", key, got, want)
		}
	}
	if got := attr(splitSpan, otelnecro.AttrOrgan); got != "Split" {
		t.Errorf("Split: %s = %q", otelnecro.AttrOrgan, got)
	}

	works, organs := all.named("process WORK"), all.named("Work")
	failed := 0
	for _, w := range works {
		childOf(t, w, splitSpan)
		if attr(w, "messaging.consumer.group.name") != "b" || attr(w, otelnecro.AttrCausationID) != root.ID.String() || attr(w, otelnecro.AttrCorrelationID) != root.ID.String() {
			t.Errorf("process WORK attributes %v", w.Attributes())
		}
		var organ sdktrace.ReadOnlySpan
		for _, o := range organs {
			if o.Parent().SpanID() == w.SpanContext().SpanID() {
				organ = o
			}
		}
		if organ == nil {
			t.Fatalf("no Work span under %s:%v", w.SpanContext().SpanID(), all)
		}
		if w.Status().Code != organ.Status().Code {
			t.Errorf("event status %v, organ status %v", w.Status(), organ.Status())
		}
		if w.Status().Code == codes.Error {
			failed++
			if want := "organ Work: the spirits refuse"; w.Status().Description != want || organ.Status().Description != want {
				t.Errorf("status descriptions %q and %q, want %q", w.Status().Description, organ.Status().Description, want)
			}
			if len(w.Events()) != 1 || w.Events()[0].Name != "exception" {
				t.Errorf("the failed event's span has events %v, want the error recorded", w.Events())
			}
		} else if len(w.Events()) != 0 || w.Status().Code != codes.Unset {
			t.Errorf("the handled event's span has status %v and events %v", w.Status(), w.Events())
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed WORK spans, want 1:%v", failed, all)
	}
}

// capture is an outermost middleware that keeps what the event middleware
// inside it emitted, and the headers map of the incoming event.
type capture struct {
	in      map[string]string
	emitted []runtime.Event
}

func (c *capture) middleware(next runtime.Handler) runtime.Handler {
	return func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		n := len(out)
		out, err := next(ctx, in, out)
		c.in = in.Headers
		c.emitted = append(c.emitted, out[n:]...)
		return out, err
	}
}

func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// Children get a copy of their headers with the organ span's context; the
// incoming event's headers, which its children share, are never changed;
// metadata and baggage are kept; a child given a trace context of its own
// keeps it.
func TestChildHeaders(t *testing.T) {
	tp, rec := tracing(t)
	tel := otelnecro.New(otelnecro.WithTracerProvider(tp))
	b := memory.New()
	defer b.Close()
	own := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	mixed := func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		out = runtime.AppendChild(out, in, "INHERITS", 1)
		out = runtime.AppendChild(out, in, "INHERITS", 2)
		withMeta := runtime.MustNewEvent("META", 3)
		withMeta.Headers = maps.Clone(in.Headers)
		withMeta.Headers["step"] = "2"
		ownTrace := runtime.MustNewEvent("OWN", 4)
		ownTrace.Headers = map[string]string{"traceparent": own}
		return runtime.AppendEmitted(out, in, withMeta, ownTrace)
	}
	c := &capture{}
	r, _ := newRunner(b, "s", map[string][]organ{"IN": {{"Mixed", mixed}}},
		append([]runtime.Option{runtime.WithMiddleware(c.middleware)}, tel.Options()...)...)

	pctx, publish := tp.Tracer("test").Start(baggageContext(t, "tenant=ghosts"), "publish")
	in := tel.Inject(pctx, runtime.MustNewEvent("IN", 0))
	in.Headers["user"] = "medium"
	publish.End()
	orig := maps.Clone(in.Headers)
	if err := r.RunUntilIdle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(c.in, orig) || !maps.Equal(in.Headers, orig) {
		t.Fatalf("the incoming event's headers changed: %v, were %v", c.in, orig)
	}
	organSpan := spans(rec.Ended()).one(t, "Mixed")
	want := propagation.TraceContext{}
	wantTP := map[string]string{}
	want.Inject(trace.ContextWithSpanContext(context.Background(), organSpan.SpanContext()), propagation.MapCarrier(wantTP))
	if len(c.emitted) != 4 {
		t.Fatalf("%d emitted, want 4", len(c.emitted))
	}
	inherits, meta, ownEv := c.emitted[:2], c.emitted[2], c.emitted[3]
	for _, ev := range append(inherits, meta) {
		if ev.Headers["traceparent"] != wantTP["traceparent"] {
			t.Fatalf("%s has traceparent %q, want the organ span's %q", ev.Type, ev.Headers["traceparent"], wantTP["traceparent"])
		}
		if ev.Headers["user"] != "medium" || ev.Headers["baggage"] != "tenant=ghosts" {
			t.Fatalf("%s lost its metadata or baggage: %v", ev.Type, ev.Headers)
		}
		if sameMap(ev.Headers, in.Headers) {
			t.Fatalf("%s has the incoming event's headers map", ev.Type)
		}
	}
	if !sameMap(inherits[0].Headers, inherits[1].Headers) {
		t.Errorf("the children that inherited one map do not share its copy")
	}
	if meta.Headers["step"] != "2" {
		t.Errorf("META lost the header its organ set: %v", meta.Headers)
	}
	if ownEv.Headers["traceparent"] != own || len(ownEv.Headers) != 1 {
		t.Errorf("OWN's trace context was replaced: %v", ownEv.Headers)
	}
}

func baggageContext(t *testing.T, s string) context.Context {
	t.Helper()
	bg, err := baggage.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return baggage.ContextWithBaggage(context.Background(), bg)
}

// A dispatcher that calls its organs directly (no organ span) still passes
// the trace on: its children get the event span's context.
func TestEventSpanContextWithoutOrganMiddleware(t *testing.T) {
	tp, rec := tracing(t)
	tel := otelnecro.New(otelnecro.WithTracerProvider(tp))
	b := memory.New()
	defer b.Close()
	c := &capture{}
	r, d := newRunner(b, "s", map[string][]organ{"IN": {{"Emit", emit("OUT")}}},
		runtime.WithMiddleware(c.middleware), runtime.WithMiddleware(tel.Middleware()))
	d.direct = true
	if err := r.RunUntilIdle(context.Background(), runtime.MustNewEvent("IN", 0)); err != nil {
		t.Fatal(err)
	}
	all := spans(rec.Ended())
	ev := all.one(t, "process IN")
	if len(all) != 1 || ev.Parent().IsValid() {
		t.Fatalf("spans %v, want one root span", all)
	}
	got := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier(c.emitted[0].Headers))
	if sc := trace.SpanContextFromContext(got); sc.SpanID() != ev.SpanContext().SpanID() {
		t.Fatalf("the child carries span %s, want the event span %s", sc.SpanID(), ev.SpanContext().SpanID())
	}
}

// A dispatcher that panics outside any organ: the Runner recovers, and the
// event span still ends, with an error status.
func TestPanicEndsTheSpan(t *testing.T) {
	tp, rec := tracing(t)
	mp, reader := metering(t)
	tel := otelnecro.New(otelnecro.WithTracerProvider(tp), otelnecro.WithMeterProvider(mp))
	b := memory.New()
	defer b.Close()
	d := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		panic("the table levitates")
	})
	r := runtime.NewRunner(b, d, append([]runtime.Option{runtime.WithService("s"), runtime.WithTopics("IN"), quiet()}, tel.Options()...)...)
	if err := r.RunUntilIdle(context.Background(), runtime.MustNewEvent("IN", 0)); err != nil {
		t.Fatal(err)
	}
	sp := spans(rec.Ended()).one(t, "process IN")
	if sp.Status().Code != codes.Error || sp.Status().Description != "panic" {
		t.Fatalf("status %v, want an error", sp.Status())
	}
	if got := counts(t, collect(t, reader)[otelnecro.MetricEventsHandled]); got["s IN failed"] != 1 {
		t.Fatalf("handled %v, want one failed", got)
	}
}

// Without any configuration, Telemetry uses otel's global providers, and
// W3C propagation even when otel's global propagator is unset.
func TestDefaults(t *testing.T) {
	tp, rec := tracing(t)
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	tel := otelnecro.New()
	b := memory.New()
	defer b.Close()
	r, _ := newRunner(b, "s", map[string][]organ{"IN": {{"Emit", emit()}}}, tel.Options()...)
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	in := tel.Inject(trace.ContextWithRemoteSpanContext(context.Background(), parent), runtime.MustNewEvent("IN", 0))
	if err := r.RunUntilIdle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	sp := spans(rec.Ended()).one(t, "process IN")
	if sp.Parent().SpanID() != parent.SpanID() || sp.SpanContext().TraceID() != parent.TraceID() {
		t.Fatalf("the event span's parent is %v, want %v", sp.Parent(), parent)
	}
}

// With no SDK (a no-op TracerProvider), the trace context passes through
// unchanged and no headers are copied.
func TestNoopPassesHeadersThrough(t *testing.T) {
	tel := otelnecro.New(otelnecro.WithTracerProvider(noop.NewTracerProvider()))
	b := memory.New()
	defer b.Close()
	c := &capture{}
	r, _ := newRunner(b, "s", map[string][]organ{"IN": {{"Emit", emit("OUT")}}},
		append([]runtime.Option{runtime.WithMiddleware(c.middleware)}, tel.Options()...)...)
	in := runtime.MustNewEvent("IN", 0)
	in.Headers = map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	if err := r.RunUntilIdle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if !sameMap(c.emitted[0].Headers, c.in) {
		t.Fatalf("the child's headers %v are a copy; want the parent's map", c.emitted[0].Headers)
	}
}

// Extract reads what Inject wrote.
func TestInjectExtract(t *testing.T) {
	tel := otelnecro.New()
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8}, TraceFlags: trace.FlagsSampled})
	ev := runtime.MustNewEvent("E", 0)
	ev.Headers = map[string]string{"k": "v"}
	got := tel.Inject(trace.ContextWithSpanContext(context.Background(), sc), ev)
	if len(ev.Headers) != 1 || got.Headers["k"] != "v" || got.Headers["traceparent"] == "" {
		t.Fatalf("Inject: headers %v, original %v", got.Headers, ev.Headers)
	}
	if back := trace.SpanContextFromContext(tel.Extract(context.Background(), got)); !back.Equal(sc.WithRemote(true)) {
		t.Fatalf("Extract gave %v, want %v", back, sc)
	}
	if plain := tel.Inject(context.Background(), runtime.MustNewEvent("E", 0)); plain.Headers != nil {
		t.Fatalf("Inject with no trace context made headers %v", plain.Headers)
	}
}
