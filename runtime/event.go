package runtime

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Event is the envelope every queue carries: who (ID), when (Timestamp, UTC),
// what (Type), and the data (Payload). It is a value type; copy it freely.
//
// In memory, Payload holds the typed Go value an organ returned, passed by
// value with no serialisation. Decoded from a wire format (DecodeEvent), it
// holds the raw JSON (json.RawMessage) until the typed adapter decodes it; see
// Payload.
//
// CausationID is the ID of the event whose handling emitted this one, and
// CorrelationID the ID of the first event of the chain; both are the zero UUID
// for an event that started a chain.
//
// Headers carry metadata across processes: W3C trace context
// ("traceparent", "tracestate") and whatever else the application adds. An
// event emitted while handling another inherits its headers (the same map:
// treat it as read-only, and set a new map to change them).
type Event struct {
	ID            uuid.UUID
	Timestamp     time.Time
	Type          string
	Payload       any
	CausationID   uuid.UUID
	CorrelationID uuid.UUID
	Headers       map[string]string

	// stampChildren is set by the Runner on the event it dispatches: the
	// events AppendChild builds while handling it are stamped (ID and
	// timestamp) by the Runner when the handling ends, with one clock read.
	stampChildren bool
	// unstamped marks such an event until the Runner stamps it.
	unstamped bool
}

// NewEvent returns an event of the given type with a fresh ID and the current
// UTC time. The type must not be empty or only white space.
func NewEvent(eventType string, payload any) (Event, error) {
	if err := validateType(eventType); err != nil {
		return Event{}, err
	}
	t := time.Now().UTC()
	return Event{ID: newID(t), Timestamp: t, Type: eventType, Payload: payload}, nil
}

// NewChildEvent returns an event emitted while handling parent: it is NewEvent
// with CausationID set to parent.ID, CorrelationID carried down the chain, and
// parent's Headers.
func NewChildEvent(parent Event, eventType string, payload any) (Event, error) {
	ev, err := NewEvent(eventType, payload)
	if err != nil {
		return Event{}, err
	}
	ev.CausationID = parent.ID
	ev.CorrelationID = parent.CorrelationID
	if ev.CorrelationID == uuid.Nil {
		ev.CorrelationID = parent.ID
	}
	ev.Headers = parent.Headers
	return ev, nil
}

// Validate reports whether e can be enqueued: it has an ID, a timestamp and a
// type that is not blank. The error matches ErrInvalidEvent.
func (e Event) Validate() error {
	if e.ID == uuid.Nil {
		return &FieldError{Field: "id", Reason: "is the nil UUID; build events with NewEvent"}
	}
	if e.Timestamp.IsZero() {
		return &FieldError{Field: "timestamp", Reason: "is zero; build events with NewEvent"}
	}
	return validateType(e.Type)
}

// ValidateType reports whether t can be an event type: not empty and not only
// white space. The error matches ErrInvalidEvent.
func ValidateType(t string) error { return validateType(t) }

func validateType(t string) error {
	if strings.TrimSpace(t) == "" {
		if t == "" {
			return &FieldError{Field: "event_type", Reason: "is empty; give the event a type such as \"ORDER_PLACED\""}
		}
		return &FieldError{Field: "event_type", Reason: "is only white space; give the event a type such as \"ORDER_PLACED\""}
	}
	return nil
}

// newID returns a version 7 UUID: 48 bits of Unix milliseconds then random
// bits, so IDs sort by creation time in logs and in Redis. The 12 bits after
// the milliseconds hold the fraction of the millisecond (RFC 9562's method 3,
// "increased clock precision"), and the last 62 bits come from the runtime's
// per-thread ChaCha8 source: fast, lock-free and unique enough for
// identifiers (they are not secrets).
func newID(now time.Time) uuid.UUID {
	var id uuid.UUID
	ns := uint64(now.UnixNano())
	ms, frac := ns/1e6, ns%1e6*4096/1e6
	binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	binary.BigEndian.PutUint64(id[0:], ms<<16|0x7000|frac) // version 7
	id[8] = 0x80 | id[8]&0x3f                              // RFC 4122 variant
	return id
}
