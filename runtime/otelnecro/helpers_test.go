package otelnecro_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/necrostack/necrostack/runtime"
)

// organFunc is an organ of the tests' dispatcher.
type organFunc func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error)

type organ struct {
	name string
	fn   organFunc
}

// dispatcher calls its organs as generated Spines do: through
// Runner.CallOrgan when the Runner wraps organs (unless direct is set), each
// in an adapter that turns a panic into a HandlerError.
type dispatcher struct {
	r      *runtime.Runner
	routes map[string][]organ
	direct bool // call organs directly, as a hand-written dispatcher may
}

func (d *dispatcher) Dispatch(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	organs, ok := d.routes[in.Type]
	if !ok {
		return out, runtime.NoRoute(in)
	}
	var errs []error
	for _, o := range organs {
		call := func(ctx context.Context, name string, in runtime.Event, out []runtime.Event) (emitted []runtime.Event, err error) {
			emitted = out
			defer runtime.Recover(name, &err)
			emitted, err = o.fn(ctx, in, out)
			return emitted, runtime.OrganError(name, err)
		}
		var err error
		if d.r.WrapsOrgans() && !d.direct {
			out, err = d.r.CallOrgan(ctx, o.name, in, out, call)
		} else {
			out, err = call(ctx, o.name, in, out)
		}
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// newRunner returns a Runner of service on b whose dispatcher routes as
// routes says.
func newRunner(b runtime.Backend, service string, routes map[string][]organ, opts ...runtime.Option) (*runtime.Runner, *dispatcher) {
	d := &dispatcher{routes: routes}
	topics := make([]string, 0, len(routes))
	for t := range routes {
		topics = append(topics, t)
	}
	base := []runtime.Option{runtime.WithService(service), runtime.WithTopics(topics...), runtime.WithLogger(slog.New(slog.DiscardHandler))}
	d.r = runtime.NewRunner(b, d, append(base, opts...)...)
	return d.r, d
}

// emit returns an organ that emits one event of each type in types.
func emit(types ...string) organFunc {
	return func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		for _, t := range types {
			out = runtime.AppendChild(out, in, t, t)
		}
		return out, nil
	}
}

// failWhen returns an organ that fails when the payload is "fail".
func failWhen(bad string) organFunc {
	return func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		if p, _ := runtime.Payload[string](in); p == bad {
			return out, errors.New("the spirits refuse")
		}
		return out, nil
	}
}

// tracing returns a TracerProvider that records every span.
func tracing(t testing.TB) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

// metering returns a MeterProvider read on demand.
func metering(t testing.TB) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, reader
}

// collect reads the metrics of reader by name.
func collect(t testing.TB, reader *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}
