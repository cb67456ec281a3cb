// Package otelnecro traces and measures NecroStack services with
// OpenTelemetry. The runtime core does not link OpenTelemetry: this package
// plugs into it through the Runner's middleware (runtime.WithMiddleware and
// runtime.WithOrganMiddleware), so a service pays for telemetry only when it
// asks for it.
//
// Add it to a Spine's options:
//
//	tel := otelnecro.New() // the otel global providers; see WithTracerProvider, WithMeterProvider
//	spine := NewSpine(backend, organs, tel.Options()...)
//
// # Traces
//
// Every handled event gets a span of kind consumer named "process TYPE",
// whose parent is the trace context in the event's headers ("traceparent",
// "tracestate", "baggage": the W3C propagators unless WithPropagator says
// otherwise). Every organ call gets a child span named after the organ. The
// events an organ emits carry the organ span's context in their headers, so
// the services that handle them, in this process or another one across
// Redis, continue the same trace. A failed event or organ has an error status
// and the error recorded on its span.
//
// Event spans carry the OpenTelemetry messaging attributes
// (messaging.system "necrostack", messaging.operation.type "process",
// messaging.destination.name the event type, messaging.message.id,
// messaging.consumer.group.name the service) and necrostack.correlation_id
// and necrostack.causation_id; organ spans carry necrostack.organ. They are
// set once the span is known to be sampled, so that an unsampled event pays
// nothing for them; samplers do not see them.
//
// An event published outside any handler starts a new trace, unless
// Telemetry.Inject gave it the publisher's span context.
//
// # Metrics
//
//	necrostack.events.handled    counter    service, event_type, outcome ("ok" or "failed")
//	necrostack.event.duration    histogram  seconds; service, event_type, outcome
//	necrostack.organ.calls       counter    service, organ, event_type, outcome
//	necrostack.organ.duration    histogram  seconds; service, organ, event_type, outcome
//	necrostack.dead_letters      gauge      service (ObserveMemory; otelredis.Observe on Redis)
//	necrostack.topic.lag         gauge      service, topic (otelredis.Observe)
//	necrostack.topic.pending     gauge      service, topic (otelredis.Observe)
//
// The Prometheus exporter writes them as necrostack_events_handled_total,
// necrostack_event_duration_seconds and so on; package otelprom serves them.
package otelnecro
