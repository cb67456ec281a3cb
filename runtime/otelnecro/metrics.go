package otelnecro

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// The metrics of NecroStack: names, and the keys of their attributes.
const (
	MetricEventsHandled = "necrostack.events.handled" // counter: service, event_type, outcome
	MetricEventDuration = "necrostack.event.duration" // histogram, seconds: service, event_type, outcome
	MetricOrganCalls    = "necrostack.organ.calls"    // counter: service, organ, event_type, outcome
	MetricOrganDuration = "necrostack.organ.duration" // histogram, seconds: service, organ, event_type, outcome
	MetricDeadLetters   = "necrostack.dead_letters"   // gauge: service
	MetricTopicLag      = "necrostack.topic.lag"      // gauge: service, topic
	MetricTopicPending  = "necrostack.topic.pending"  // gauge: service, topic

	LabelService   = attribute.Key("service")
	LabelEventType = attribute.Key("event_type")
	LabelOrgan     = attribute.Key("organ")
	LabelOutcome   = attribute.Key("outcome") // OutcomeOK or OutcomeFailed
	LabelTopic     = attribute.Key("topic")

	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
)

// DurationBuckets are the bucket boundaries, in seconds, of the duration
// histograms: from 50µs (an organ that computes) to 10s (one that waits on
// the network).
var DurationBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type instruments struct {
	handled    metric.Int64Counter
	eventDur   metric.Float64Histogram
	organCalls metric.Int64Counter
	organDur   metric.Float64Histogram

	mu    sync.RWMutex
	attrs map[attrKey]*measure
}

// attrKey is one combination of attributes. Event types and organs are
// known to a service's Spine, so there are few.
type attrKey struct {
	service, organ, eventType string
	failed                    bool
}

// measure is an attribute set as the options of Add and Record, built once.
type measure struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

// maxAttrSets bounds the cache of attribute sets; past it, sets are built
// for each measurement.
const maxAttrSets = 10_000

func (m *instruments) init(meter metric.Meter) {
	var err error
	noops := noop.NewMeterProvider().Meter(ScopeName)
	buckets := metric.WithExplicitBucketBoundaries(DurationBuckets...)
	if m.handled, err = meter.Int64Counter(MetricEventsHandled, metric.WithUnit("{event}"),
		metric.WithDescription("Events handled by a service, by type and outcome.")); err != nil {
		otel.Handle(err)
		m.handled, _ = noops.Int64Counter(MetricEventsHandled)
	}
	if m.eventDur, err = meter.Float64Histogram(MetricEventDuration, metric.WithUnit("s"), buckets,
		metric.WithDescription("How long a service took to handle an event, all its organs included.")); err != nil {
		otel.Handle(err)
		m.eventDur, _ = noops.Float64Histogram(MetricEventDuration)
	}
	if m.organCalls, err = meter.Int64Counter(MetricOrganCalls, metric.WithUnit("{call}"),
		metric.WithDescription("Organ calls, by organ, event type and outcome.")); err != nil {
		otel.Handle(err)
		m.organCalls, _ = noops.Int64Counter(MetricOrganCalls)
	}
	if m.organDur, err = meter.Float64Histogram(MetricOrganDuration, metric.WithUnit("s"), buckets,
		metric.WithDescription("How long an organ took to handle an event.")); err != nil {
		otel.Handle(err)
		m.organDur, _ = noops.Float64Histogram(MetricOrganDuration)
	}
	m.attrs = map[attrKey]*measure{}
}

// start returns the time an event (organ "") or organ call starts, or the
// zero time when its duration is not recorded: reading the clock is not free.
func (m *instruments) start(ctx context.Context, organ string) time.Time {
	h := m.eventDur
	if organ != "" {
		h = m.organDur
	}
	if h.Enabled(ctx) {
		return time.Now()
	}
	return time.Time{}
}

// record counts an event (organ "") or an organ call, and its duration
// since start unless start is zero.
func (m *instruments) record(ctx context.Context, start time.Time, failed bool, service, organ, eventType string) {
	counter, hist := m.handled, m.eventDur
	if organ != "" {
		counter, hist = m.organCalls, m.organDur
	}
	count := counter.Enabled(ctx)
	if !count && start.IsZero() {
		return
	}
	ms := m.measure(attrKey{service: service, organ: organ, eventType: eventType, failed: failed})
	if count {
		counter.Add(ctx, 1, ms.add...)
	}
	if !start.IsZero() {
		hist.Record(ctx, time.Since(start).Seconds(), ms.rec...)
	}
}

func (m *instruments) measure(k attrKey) *measure {
	m.mu.RLock()
	ms := m.attrs[k]
	m.mu.RUnlock()
	if ms != nil {
		return ms
	}
	outcome := OutcomeOK
	if k.failed {
		outcome = OutcomeFailed
	}
	kvs := make([]attribute.KeyValue, 0, 4)
	kvs = append(kvs, LabelService.String(k.service), LabelEventType.String(k.eventType), LabelOutcome.String(outcome))
	if k.organ != "" {
		kvs = append(kvs, LabelOrgan.String(k.organ))
	}
	set := attribute.NewSet(kvs...)
	ms = &measure{add: []metric.AddOption{metric.WithAttributeSet(set)}, rec: []metric.RecordOption{metric.WithAttributeSet(set)}}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.attrs[k]; old != nil {
		return old
	}
	if len(m.attrs) < maxAttrSets {
		m.attrs[k] = ms
	}
	return ms
}
