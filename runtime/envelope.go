package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The JSON envelope has exactly these keys; causation_id and correlation_id
// are written only when set.
const (
	keyID            = "id"
	keyTimestamp     = "timestamp"
	keyType          = "event_type"
	keyPayload       = "payload"
	keyCausationID   = "causation_id"
	keyCorrelationID = "correlation_id"
)

// MarshalJSON encodes the envelope
// {"id","timestamp","event_type","payload"[,"causation_id","correlation_id"]}
// with the timestamp in RFC 3339 UTC ending in Z. The payload is encoded with
// encoding/json unless it already is a json.RawMessage.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil)
}

// AppendJSON appends the JSON envelope of e to dst (see MarshalJSON).
func (e Event) AppendJSON(dst []byte) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return dst, err
	}
	payload, err := marshalPayload(e.Payload)
	if err != nil {
		return dst, fmt.Errorf("event %s (%s): encode payload: %w", e.ID, e.Type, err)
	}
	dst = append(dst, `{"id":"`...)
	dst = appendUUID(dst, e.ID)
	dst = append(dst, `","timestamp":"`...)
	dst = e.Timestamp.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","event_type":`...)
	dst = appendJSONString(dst, e.Type)
	dst = append(dst, `,"payload":`...)
	dst = append(dst, payload...)
	if e.CausationID != uuid.Nil {
		dst = append(dst, `,"causation_id":"`...)
		dst = appendUUID(dst, e.CausationID)
		dst = append(dst, '"')
	}
	if e.CorrelationID != uuid.Nil {
		dst = append(dst, `,"correlation_id":"`...)
		dst = appendUUID(dst, e.CorrelationID)
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil
}

// appendJSONString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD (as encoding/json does).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}

func appendUUID(dst []byte, id uuid.UUID) []byte {
	var buf [36]byte
	text, _ := id.MarshalText()
	copy(buf[:], text)
	return append(dst, buf[:]...)
}

func marshalPayload(p any) ([]byte, error) {
	switch p := p.(type) {
	case json.RawMessage:
		if !json.Valid(p) {
			return nil, errors.New("payload is a json.RawMessage that is not valid JSON")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, p); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	case nil:
		return []byte("null"), nil
	}
	return json.Marshal(p)
}

// UnmarshalJSON decodes an envelope strictly; see DecodeEvent.
func (e *Event) UnmarshalJSON(data []byte) error {
	ev, err := DecodeEvent(data)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// DecodeEvent decodes a JSON envelope. It rejects anything but one JSON object
// with exactly the known keys (unknown or repeated keys are errors), a missing
// or blank event_type, an id that is not a UUID, and a timestamp that is not
// RFC 3339 in UTC ending in Z. Every error matches ErrInvalidEvent and names the
// field at fault. The payload is kept as json.RawMessage; Payload decodes it
// into the handler's type.
func DecodeEvent(data []byte) (Event, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return Event{}, &FieldError{Field: "(envelope)", Reason: "is not JSON: " + jsonReason(err)}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Event{}, &FieldError{Field: "(envelope)", Reason: "must be a JSON object"}
	}
	var (
		ev   Event
		seen = make(map[string]bool, 6)
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Event{}, &FieldError{Field: "(envelope)", Reason: "is not valid JSON: " + jsonReason(err)}
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return Event{}, &FieldError{Field: key, Reason: "appears more than once"}
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Event{}, &FieldError{Field: key, Reason: "is not valid JSON: " + jsonReason(err)}
		}
		if err := ev.setField(key, raw); err != nil {
			return Event{}, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return Event{}, &FieldError{Field: "(envelope)", Reason: "is not valid JSON: " + jsonReason(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Event{}, &FieldError{Field: "(envelope)", Reason: "has data after the JSON object"}
	}
	for _, k := range [...]string{keyID, keyTimestamp, keyType, keyPayload} {
		if !seen[k] {
			return Event{}, &FieldError{Field: k, Reason: "is missing"}
		}
	}
	return ev, nil
}

func (e *Event) setField(key string, raw json.RawMessage) error {
	switch key {
	case keyID, keyCausationID, keyCorrelationID:
		id, err := decodeUUID(key, raw)
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
			return &FieldError{Field: key, Reason: "must be a string in RFC 3339 UTC such as \"2026-01-02T15:04:05.123Z\""}
		}
		if !strings.HasSuffix(s, "Z") {
			return &FieldError{Field: key, Reason: fmt.Sprintf("%q is not in UTC: it must end in Z", s)}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return &FieldError{Field: key, Reason: fmt.Sprintf("%q is not an RFC 3339 time such as \"2026-01-02T15:04:05.123Z\"", s)}
		}
		e.Timestamp = t.UTC()
	case keyType:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return &FieldError{Field: key, Reason: "must be a string"}
		}
		if err := validateType(s); err != nil {
			return err
		}
		e.Type = s
	case keyPayload:
		e.Payload = raw
	default:
		return &FieldError{Field: key, Reason: "is not a known envelope key (known: id, timestamp, event_type, payload, causation_id, correlation_id)"}
	}
	return nil
}

func decodeUUID(key string, raw json.RawMessage) (uuid.UUID, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return uuid.Nil, &FieldError{Field: key, Reason: "must be a UUID string"}
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, &FieldError{Field: key, Reason: fmt.Sprintf("%q is not a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)}
	}
	if id == uuid.Nil && key == keyID {
		return uuid.Nil, &FieldError{Field: key, Reason: "is the nil UUID"}
	}
	return id, nil
}

func jsonReason(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "unexpected end of input"
	}
	return err.Error()
}
