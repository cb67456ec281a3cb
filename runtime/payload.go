package runtime

import (
	"encoding/json"
	"fmt"
)

// Payload returns the payload of ev as a T. Generated adapters call it: for an
// event that stayed in memory it is a type assertion (T or a non-nil *T); for
// one decoded from a wire format it decodes the json.RawMessage into a T.
// Anything else is an error matching ErrPayloadType.
func Payload[T any](ev Event) (T, error) {
	switch p := ev.Payload.(type) {
	case T:
		return p, nil
	case *T:
		if p != nil {
			return *p, nil
		}
	case json.RawMessage:
		var v T
		if err := json.Unmarshal(p, &v); err != nil {
			return v, fmt.Errorf("event %s (%s): decode payload into %T: %w: %w", ev.ID, ev.Type, v, ErrPayloadType, err)
		}
		return v, nil
	}
	var zero T
	return zero, fmt.Errorf("event %s (%s): payload is %T, want %T: %w", ev.ID, ev.Type, ev.Payload, zero, ErrPayloadType)
}
