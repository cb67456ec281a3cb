package otelredis_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/otelnecro"
	"github.com/necrostack/necrostack/runtime/otelnecro/otelredis"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// gauges reads the int64 gauges of reader: name → "service[ topic]" → value.
func gauges(t *testing.T, reader *sdkmetric.ManualReader) map[string]map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			g, ok := m.Data.(metricdata.Gauge[int64])
			if !ok {
				t.Fatalf("%s is a %T, want an int64 gauge", m.Name, m.Data)
			}
			out[m.Name] = map[string]int64{}
			for _, p := range g.DataPoints {
				k, _ := p.Attributes.Value(otelnecro.LabelService)
				name := k.AsString()
				if topic, ok := p.Attributes.Value(otelnecro.LabelTopic); ok {
					name += " " + topic.AsString()
				}
				out[m.Name][name] = p.Value
			}
		}
	}
	return out
}

// The gauges report, per service and topic, what a service has not read
// (lag) and what it read and did not settle (pending), and per service its
// dead letters, as Redis holds them for a bus that redisstream runs.
func TestObserve(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	opts, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	bus := "observed"
	b, err := redisstream.New(ctx, client, redisstream.WithBus(bus), redisstream.WithBatchSize(2), redisstream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	reg, err := otelredis.Observe(mp, client, bus)
	if err != nil {
		t.Fatal(err)
	}
	if got := gauges(t, reader); len(got[otelnecro.MetricTopicLag])+len(got[otelnecro.MetricDeadLetters]) != 0 {
		t.Fatalf("an empty bus has gauges %v", got)
	}

	// Service "busy" reads two of five ASK events and dead-letters one of
	// them; service "idle" reads nothing; nobody listens to ANSWER.
	busy, err := b.Subscribe(ctx, runtime.Subscription{Service: "busy", Topics: []string{"ASK"}})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	idle, err := b.Subscribe(ctx, runtime.Subscription{Service: "idle", Topics: []string{"ASK"}})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	for i := range 5 {
		if err := b.Enqueue(ctx, runtime.MustNewEvent("ASK", i), runtime.MustNewEvent("ANSWER", i)); err != nil {
			t.Fatal(err)
		}
	}
	var ds []runtime.Delivery
	for deadline := time.Now().Add(5 * time.Second); len(ds) < 2; {
		if ds, err = busy.Pull(ctx, ds, 2-len(ds), 100*time.Millisecond); err != nil || time.Now().After(deadline) {
			t.Fatalf("pulled %d events, error %v; want 2", len(ds), err)
		}
	}
	if err := busy.Nack(ctx, ds[0], nil, runtime.NoRoute(ds[0].Event)); err != nil {
		t.Fatal(err)
	}
	got := gauges(t, reader)
	want := map[string]map[string]int64{
		otelnecro.MetricTopicLag:     {"busy ASK": 3, "idle ASK": 5},
		otelnecro.MetricTopicPending: {"busy ASK": 1, "idle ASK": 0},
		otelnecro.MetricDeadLetters:  {"busy": 1, "idle": 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("gauges (-want +got):\n%s", diff)
	}

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	if got := gauges(t, reader); len(got[otelnecro.MetricTopicLag]) != 0 {
		t.Fatalf("gauges after Unregister: %v", got)
	}
}

// A Redis that cannot be reached is an error of the collection, reported
// through otel, not a panic or a hang.
func TestObserveUnreachable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer client.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	if _, err := otelredis.Observe(mp, client, "gone"); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err == nil {
		t.Fatal("collecting from an unreachable Redis did not fail")
	}
	if _, err := otelredis.Observe(mp, nil, "x"); err == nil {
		t.Fatal("a nil client was accepted")
	}
}
