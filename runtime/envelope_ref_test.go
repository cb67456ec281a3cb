package runtime_test

// The envelope decoder of NecroStack before the single-pass codec, built on
// encoding/json's tokens, kept as the reference the codec is fuzzed against.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/necrostack/necrostack/runtime"
)

const (
	keyID            = "id"
	keyTimestamp     = "timestamp"
	keyType          = "event_type"
	keyPayload       = "payload"
	keyCausationID   = "causation_id"
	keyCorrelationID = "correlation_id"
	keyHeaders       = "headers"
)

// DecodeEvent decodes a JSON envelope. It rejects anything but one JSON object
// with exactly the known keys (unknown or repeated keys are errors), a missing
// or blank event_type, an id that is not a UUID, and a timestamp that is not
// RFC 3339 in UTC ending in Z. Every error matches ErrInvalidEvent and names the
// field at fault. The payload is kept as json.RawMessage; Payload decodes it
// into the handler's type.
func referenceDecode(data []byte) (runtime.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return runtime.Event{}, &runtime.FieldError{Field: "(envelope)", Reason: "is not JSON: " + jsonReason(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return runtime.Event{}, &runtime.FieldError{Field: "(envelope)", Reason: "must be a JSON object"}
	}
	var (
		ev   runtime.Event
		seen = make(map[string]bool, 6)
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return runtime.Event{}, &runtime.FieldError{Field: "(envelope)", Reason: "is not valid JSON: " + jsonReason(err)}
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return runtime.Event{}, &runtime.FieldError{Field: key, Reason: "appears more than once"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return runtime.Event{}, &runtime.FieldError{Field: key, Reason: "is not valid JSON: " + jsonReason(err)}
		}
		if err := refSetField(&ev, key, raw); err != nil {
			return runtime.Event{}, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return runtime.Event{}, &runtime.FieldError{Field: "(envelope)", Reason: "is not valid JSON: " + jsonReason(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return runtime.Event{}, &runtime.FieldError{Field: "(envelope)", Reason: "has data after the JSON object"}
	}
	for _, k := range [...]string{keyID, keyTimestamp, keyType, keyPayload} {
		if !seen[k] {
			return runtime.Event{}, &runtime.FieldError{Field: k, Reason: "is missing"}
		}
	}
	return ev, nil
}

func refSetField(e *runtime.Event, key string, raw json.RawMessage) error {
	switch key {
	case keyID, keyCausationID, keyCorrelationID:
		id, err := refDecodeUUID(key, raw)
		if err != nil {
			return err
		}
		switch key {
		case keyID:
			e.ID = id
		case keyCausationID:
			e.CausationID = id
		default:
			e.CorrelationID = id
		}
	case keyTimestamp:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return &runtime.FieldError{Field: key, Reason: "must be a string in RFC 3339 UTC such as \"2026-01-02T15:04:05.123Z\""}
		}
		if !strings.HasSuffix(s, "Z") {
			return &runtime.FieldError{Field: key, Reason: fmt.Sprintf("%q is not in UTC: it must end in Z", s)}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return &runtime.FieldError{Field: key, Reason: fmt.Sprintf("%q is not an RFC 3339 time such as \"2026-01-02T15:04:05.123Z\"", s)}
		}
		e.Timestamp = t.UTC()
	case keyType:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return &runtime.FieldError{Field: key, Reason: "must be a string"}
		}
		if err := runtime.ValidateType(s); err != nil {
			return err
		}
		e.Type = s
	case keyPayload:
		e.Payload = raw
	case keyHeaders:
		h, err := refHeaders(raw)
		if err != nil {
			return err
		}
		e.Headers = h
	default:
		return &runtime.FieldError{Field: key, Reason: "is not a known envelope key"}
	}
	return nil
}

func refDecodeUUID(key string, raw json.RawMessage) (uuid.UUID, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return uuid.Nil, &runtime.FieldError{Field: key, Reason: "must be a UUID string"}
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, &runtime.FieldError{Field: key, Reason: fmt.Sprintf("%q is not a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)}
	}
	if id == uuid.Nil && key == keyID {
		return uuid.Nil, &runtime.FieldError{Field: key, Reason: "is the nil UUID"}
	}
	return id, nil
}

// refHeaders decodes headers with encoding/json's tokens, rejecting repeated
// keys and values that are not strings.
func refHeaders(raw json.RawMessage) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, _ := dec.Token()
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &runtime.FieldError{Field: keyHeaders, Reason: "must be an object of strings"}
	}
	h := map[string]string{}
	for dec.More() {
		k, _ := dec.Token()
		v, err := dec.Token()
		s, ok := v.(string)
		if err != nil || !ok {
			return nil, &runtime.FieldError{Field: keyHeaders, Reason: "not a string"}
		}
		if _, dup := h[k.(string)]; dup {
			return nil, &runtime.FieldError{Field: keyHeaders, Reason: "repeated"}
		}
		h[k.(string)] = s
	}
	if len(h) == 0 {
		return nil, nil
	}
	return h, nil
}

func jsonReason(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of input"
	}
	return err.Error()
}
