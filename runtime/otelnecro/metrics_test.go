package otelnecro_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/otelnecro"
)

func quiet() runtime.Option { return runtime.WithLogger(slog.New(slog.DiscardHandler)) }

// key names a data point by its attribute values: "service [organ] type outcome".
func key(set attribute.Set) string {
	var parts []string
	for _, k := range []attribute.Key{otelnecro.LabelService, otelnecro.LabelOrgan, otelnecro.LabelTopic, otelnecro.LabelEventType, otelnecro.LabelOutcome} {
		if v, ok := set.Value(k); ok {
			parts = append(parts, v.AsString())
		}
	}
	return strings.Join(parts, " ")
}

// counts returns the values of a counter or gauge, or the counts of a
// histogram, by key.
func counts(t *testing.T, m metricdata.Metrics) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
			t.Fatalf("%s is not a cumulative counter", m.Name)
		}
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = p.Value
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = p.Value
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = int64(p.Count)
			if p.Sum < 0 || len(p.Bounds) != len(otelnecro.DurationBuckets) {
				t.Fatalf("%s: sum %v, bounds %v", m.Name, p.Sum, p.Bounds)
			}
		}
	case nil:
		t.Fatalf("no metric %s", m.Name)
	default:
		t.Fatalf("%s has data of type %T", m.Name, m.Data)
	}
	return out
}

// The metrics count handled events and organ calls per service, type, organ
// and outcome, with their durations in seconds; ObserveMemory reports the
// dead letters of a memory bus.
func TestMetrics(t *testing.T) {
	mp, reader := metering(t)
	tel := otelnecro.New(otelnecro.WithMeterProvider(mp))
	b := memory.New()
	defer b.Close()
	reg, err := otelnecro.ObserveMemory(mp, b, "oracle", "nobody")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	r, _ := newRunner(b, "oracle", map[string][]organ{
		"ASK":    {{"Listen", failWhen("fail")}, {"Answer", emit("ANSWER")}},
		"ANSWER": {{"Record", failWhen("never")}},
	}, tel.Options()...)
	start := []runtime.Event{runtime.MustNewEvent("ASK", "fine"), runtime.MustNewEvent("ASK", "fail"), runtime.MustNewEvent("ASK", "fine")}
	if err := r.RunUntilIdle(context.Background(), start...); err != nil {
		t.Fatal(err)
	}
	ms := collect(t, reader)
	want := map[string]map[string]int64{
		otelnecro.MetricEventsHandled: {"oracle ASK ok": 2, "oracle ASK failed": 1, "oracle ANSWER ok": 3},
		otelnecro.MetricEventDuration: {"oracle ASK ok": 2, "oracle ASK failed": 1, "oracle ANSWER ok": 3},
		otelnecro.MetricOrganCalls:    {"oracle Listen ASK ok": 2, "oracle Listen ASK failed": 1, "oracle Answer ASK ok": 3, "oracle Record ANSWER ok": 3},
		otelnecro.MetricOrganDuration: {"oracle Listen ASK ok": 2, "oracle Listen ASK failed": 1, "oracle Answer ASK ok": 3, "oracle Record ANSWER ok": 3},
		otelnecro.MetricDeadLetters:   {"oracle": 1, "nobody": 0},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, counts(t, ms[name])); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	units := map[string]string{otelnecro.MetricEventsHandled: "{event}", otelnecro.MetricEventDuration: "s",
		otelnecro.MetricOrganCalls: "{call}", otelnecro.MetricOrganDuration: "s", otelnecro.MetricDeadLetters: "{event}"}
	for name, unit := range units {
		if ms[name].Unit != unit {
			t.Errorf("%s has unit %q, want %q", name, ms[name].Unit, unit)
		}
	}
}
