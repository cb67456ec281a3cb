package otelnecro_test

import (
	"context"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/otelnecro"
	"github.com/necrostack/necrostack/runtime/otelnecro/otelprom"
	"github.com/necrostack/necrostack/runtime/otelnecro/otelredis"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// NewSpine stands in for the constructor necrogen generates for a package
// whose organs are functions: here service "payments", on ORDER_PLACED.
func NewSpine(backend runtime.Backend, opts ...runtime.Option) *runtime.Runner {
	charge := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		return out, nil
	})
	base := []runtime.Option{runtime.WithService("payments"), runtime.WithTopics("ORDER_PLACED")}
	return runtime.NewRunner(backend, charge, append(base, opts...)...)
}

// Trace and measure a service on a Redis bus: spans go to an OpenTelemetry
// SDK TracerProvider, metrics to Prometheus at http://localhost:9090/metrics,
// with the bus's lag, pending events and dead letters. The example is
// compiled, not run: it needs a Redis server.
func Example() {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider() // and sdktrace.WithBatcher(exporter): OTLP, Jaeger, stdout…
	defer tp.Shutdown(ctx)
	metrics, err := otelprom.Serve(":9090")
	if err != nil {
		log.Fatal(err)
	}
	defer metrics.Close(ctx)

	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer client.Close()
	bus, err := redisstream.New(ctx, client, redisstream.WithBus("shop"))
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()
	if _, err := otelredis.Observe(metrics.MeterProvider(), client, "shop"); err != nil {
		log.Fatal(err)
	}

	tel := otelnecro.New(otelnecro.WithTracerProvider(tp), otelnecro.WithMeterProvider(metrics.MeterProvider()))
	spine := NewSpine(bus, tel.Options()...)
	if err := spine.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// An event published outside any handler — here by an HTTP handler —
// starts its chain in the publisher's trace when its headers carry the
// publisher's span.
func ExampleTelemetry_Inject() {
	tp := sdktrace.NewTracerProvider()
	tel := otelnecro.New(otelnecro.WithTracerProvider(tp))

	ctx, span := tp.Tracer("shop/http").Start(context.Background(), "POST /orders")
	order := tel.Inject(ctx, runtime.MustNewEvent("ORDER_PLACED", 42))
	span.End()

	sc := span.SpanContext()
	fmt.Println(order.Headers["traceparent"] == "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01")
	// Output: true
}
