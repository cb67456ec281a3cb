package runtime

import (
	"time"

	"github.com/google/uuid"
)

// MustNewEvent is NewEvent for a type known to be valid, such as a constant
// that necrogen checked; it panics if eventType is blank.
func MustNewEvent(eventType string, payload any) Event {
	ev, err := NewEvent(eventType, payload)
	if err != nil {
		panic("necrostack: " + err.Error())
	}
	return ev
}

// AppendChild appends to out an event of eventType emitted while handling
// parent (see NewChildEvent). Generated adapters call it with a constant that
// necrogen checked; it panics if eventType is blank.
//
// When parent is an event the Runner is dispatching, the child gets its ID
// and timestamp when the handling ends, before any middleware sees it: one
// clock read stamps every child of a handled event.
func AppendChild(out []Event, parent Event, eventType string, payload any) []Event {
	if !parent.stampChildren {
		ev, err := NewChildEvent(parent, eventType, payload)
		if err != nil {
			panic("necrostack: " + err.Error())
		}
		return append(out, ev)
	}
	if eventType == "" {
		panic("necrostack: AppendChild: the event type is empty")
	}
	corr := parent.CorrelationID
	if corr == uuid.Nil {
		corr = parent.ID
	}
	return append(out, Event{Type: eventType, Payload: payload, CausationID: parent.ID, CorrelationID: corr, Headers: parent.Headers, unstamped: true})
}

// stamp gives the events AppendChild built while the Runner dispatched their
// parent an ID and a timestamp, reading the clock once.
func stamp(evs []Event) {
	var t time.Time
	for i := range evs {
		if evs[i].unstamped {
			if t.IsZero() {
				t = time.Now().UTC()
			}
			evs[i].ID, evs[i].Timestamp, evs[i].unstamped = newID(t), t, false
		}
	}
}

// AppendEmitted appends envelopes that a handler built itself, after
// validating them and filling in CausationID, CorrelationID and Headers from
// parent where they are unset. An invalid event is an error and nothing is
// appended.
func AppendEmitted(out []Event, parent Event, events ...Event) ([]Event, error) {
	for i := range events {
		if events[i].unstamped { // built by AppendChild: the Runner stamps it
			continue
		}
		if err := events[i].Validate(); err != nil {
			return out, err
		}
	}
	corr := parent.CorrelationID
	if corr == uuid.Nil {
		corr = parent.ID
	}
	for _, ev := range events {
		if ev.CausationID == uuid.Nil {
			ev.CausationID = parent.ID
		}
		if ev.CorrelationID == uuid.Nil {
			ev.CorrelationID = corr
		}
		if ev.Headers == nil {
			ev.Headers = parent.Headers
		}
		out = append(out, ev)
	}
	return out, nil
}

// Recover turns a panic in an organ into a *HandlerError stored in *err.
// Generated adapters defer it: defer runtime.Recover("Oracle.AskQuestion", &err).
func Recover(organ string, err *error) {
	if p := recover(); p != nil {
		*err = newPanicError(organ, p)
	}
}

// OrganError wraps a non-nil error returned by an organ as a *HandlerError;
// it returns nil for nil.
func OrganError(organ string, err error) error {
	if err == nil {
		return nil
	}
	return &HandlerError{Organ: organ, Err: err}
}

// Route is one entry of a generated Spine's routing table: an organ and the
// event type it listens to, for introspection (graphs, docs, tests).
type Route struct {
	EventType   string   // the event type routed
	Organ       string   // "SummonSpirit" or "Oracle.AskQuestion"
	PayloadType string   // the Go type of the payload, package-qualified
	Emits       []string // the event types its result can emit; nil if it returns envelopes
}
