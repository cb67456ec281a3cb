package otelnecro

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/necrostack/necrostack/runtime/memory"
)

// Meter returns the meter of this package on mp, or on otel's global
// MeterProvider when mp is nil.
func Meter(mp metric.MeterProvider) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopeName)
}

// DeadLettersGauge creates the gauge necrostack.dead_letters on meter.
func DeadLettersGauge(meter metric.Meter) (metric.Int64ObservableGauge, error) {
	return meter.Int64ObservableGauge(MetricDeadLetters, metric.WithUnit("{event}"),
		metric.WithDescription("Dead letters a service holds: events it gave up on."))
}

// ObserveMemory reports the dead letters that services hold on a memory bus
// as the gauge necrostack.dead_letters, on mp (nil: otel's global
// MeterProvider), at each collection. Unregister the result to stop.
func ObserveMemory(mp metric.MeterProvider, b *memory.Backend, services ...string) (metric.Registration, error) {
	meter := Meter(mp)
	dead, err := DeadLettersGauge(meter)
	if err != nil {
		return nil, err
	}
	services = append([]string(nil), services...)
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, s := range services {
			o.ObserveInt64(dead, int64(len(b.DeadLetters(s))), metric.WithAttributes(LabelService.String(s)))
		}
		return nil
	}, dead)
}
