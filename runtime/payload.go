package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// Payload returns the payload of ev as a T. Generated adapters call it: for an
// event that stayed in memory it is a type assertion (T or a non-nil *T); for
// one decoded from a wire format it decodes the json.RawMessage into a T.
// Anything else is an error matching ErrPayloadType, and so is a JSON null
// or a value that is not an object where T is a struct: a handler never runs
// with a zero value that nobody sent. Unknown fields of an object are
// ignored, so that a producer may add fields before its consumers know them.
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
		if bytes.Equal(bytes.TrimSpace(p), []byte("null")) && reflect.TypeFor[T]().Kind() == reflect.Struct {
			return v, fmt.Errorf("event %s (%s): payload is null, want a JSON object for %T: %w", ev.ID, ev.Type, v, ErrPayloadType)
		}
		if err := json.Unmarshal(p, &v); err != nil {
			return v, fmt.Errorf("event %s (%s): decode payload into %T: %w: %w", ev.ID, ev.Type, v, ErrPayloadType, err)
		}
		return v, nil
	}
	var zero T
	return zero, fmt.Errorf("event %s (%s): payload is %T, want %T: %w", ev.ID, ev.Type, ev.Payload, zero, ErrPayloadType)
}
