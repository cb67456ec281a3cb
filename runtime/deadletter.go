package runtime

import "errors"

// The reasons a dead letter gives. Backends that keep dead letters use them.
const (
	ReasonUndecodable      = "undecodable"        // not a valid JSON envelope
	ReasonTooLarge         = "too_large"          // larger than the backend's limit
	ReasonUnknownEventType = "unknown_event_type" // no organ listens to its type (ErrNoRoute)
	ReasonBadPayload       = "bad_payload"        // its payload does not decode into the organ's type (ErrPayloadType)
	ReasonMaxDeliveries    = "max_deliveries"     // handed out the most times allowed without success
	ReasonUnencodable      = "unencodable_emit"   // what its handling emitted cannot be published
	ReasonFailed           = "failed"             // an organ failed and the backend cannot redeliver (memory)
	ReasonTimeout          = "timeout"            // an organ overran WithHandlerTimeout, at its last delivery
)

// PermanentReason returns the dead-letter reason of a handling failure that
// no redelivery can fix — an event type nobody routes, a payload that does not
// fit — and "" for any other failure, which is worth retrying.
func PermanentReason(cause error) string {
	switch {
	case errors.Is(cause, ErrNoRoute):
		return ReasonUnknownEventType
	case errors.Is(cause, ErrPayloadType):
		return ReasonBadPayload
	}
	return ""
}

// FinalReason returns the dead-letter reason of a handling failure worth
// retrying when it is the last: ReasonTimeout for an organ that overran its
// timeout, and "" for any other (the backend says why it gave up).
func FinalReason(cause error) string {
	if errors.Is(cause, ErrTimeout) {
		return ReasonTimeout
	}
	return ""
}
