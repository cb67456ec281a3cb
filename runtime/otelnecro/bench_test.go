package otelnecro_test

import (
	"context"
	goruntime "runtime"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/otelnecro"
)

// step emits the next event of a chain until its payload counts down to 0.
func step(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	n, err := runtime.Payload[int](in)
	if err != nil || n == 0 {
		return out, err
	}
	return runtime.AppendChild(out, in, "STEP", n-1), nil
}

// BenchmarkHandle measures what telemetry adds to the handling of an event
// on the memory bus (one organ that emits one event): chains of 100 events,
// reported per event.
//
//	none             no middleware: the Runner calls the organ directly
//	hooks            empty event and organ middleware: what the runtime's hooks cost
//	otel-noop        otelnecro on otel's no-op providers (no SDK configured)
//	otel-metrics     SDK metrics (a reader that is never collected), no-op traces
//	otel-traces      SDK traces, every span sampled and exported to a no-op exporter, no-op metrics
//	otel-full        SDK traces and SDK metrics
//	otel-unsampled   SDK metrics, SDK traces that sample nothing
func BenchmarkHandle(b *testing.B) {
	sdkTraces := func(s sdktrace.Sampler) *sdktrace.TracerProvider {
		return sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()), sdktrace.WithSampler(s))
	}
	sdkMetrics := func() *sdkmetric.MeterProvider {
		return sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	}
	noopT, noopM := otelnecro.WithTracerProvider(tracenoop.NewTracerProvider()), otelnecro.WithMeterProvider(metricnoop.NewMeterProvider())
	cases := []struct {
		name string
		opts func() []runtime.Option
	}{
		{"none", func() []runtime.Option { return nil }},
		{"hooks", func() []runtime.Option {
			return []runtime.Option{
				runtime.WithMiddleware(func(next runtime.Handler) runtime.Handler { return next }),
				runtime.WithOrganMiddleware(func(next runtime.OrganHandler) runtime.OrganHandler { return next }),
			}
		}},
		{"otel-noop", func() []runtime.Option { return otelnecro.Options(noopT, noopM) }},
		{"otel-metrics", func() []runtime.Option {
			return otelnecro.Options(noopT, otelnecro.WithMeterProvider(sdkMetrics()))
		}},
		{"otel-traces", func() []runtime.Option {
			return otelnecro.Options(otelnecro.WithTracerProvider(sdkTraces(sdktrace.AlwaysSample())), noopM)
		}},
		{"otel-full", func() []runtime.Option {
			return otelnecro.Options(otelnecro.WithTracerProvider(sdkTraces(sdktrace.AlwaysSample())), otelnecro.WithMeterProvider(sdkMetrics()))
		}},
		{"otel-unsampled", func() []runtime.Option {
			return otelnecro.Options(otelnecro.WithTracerProvider(sdkTraces(sdktrace.NeverSample())), otelnecro.WithMeterProvider(sdkMetrics()))
		}},
	}
	const chain = 100
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			bus := memory.New()
			defer bus.Close()
			r, _ := newRunner(bus, "bench", map[string][]organ{"STEP": {{"Step", step}}}, c.opts()...)
			start := runtime.MustNewEvent("STEP", chain-1)
			ctx := context.Background()
			if err := r.RunUntilIdle(ctx, start); err != nil { // warm up
				b.Fatal(err)
			}
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				if err := r.RunUntilIdle(ctx, start); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			goruntime.ReadMemStats(&after)
			events := float64(b.N * chain)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/events, "B/event")
			b.ReportMetric(0, "ns/op")
		})
	}
}
