package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The JSON envelope has these keys; causation_id, correlation_id and headers
// are written only when set.
const (
	keyID            = "id"
	keyTimestamp     = "timestamp"
	keyType          = "event_type"
	keyPayload       = "payload"
	keyCausationID   = "causation_id"
	keyCorrelationID = "correlation_id"
	keyHeaders       = "headers"
)

// MarshalJSON encodes the envelope
// {"id","timestamp","event_type","payload"[,"causation_id","correlation_id"][,"headers"]}
// with the timestamp in RFC 3339 UTC ending in Z and the headers' keys
// sorted. The payload is encoded with encoding/json unless it already is a
// json.RawMessage.
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
	if len(e.Headers) > 0 {
		dst = append(dst, `,"headers":{`...)
		for i, k := range slices.Sorted(maps.Keys(e.Headers)) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONString(dst, e.Headers[k])
		}
		dst = append(dst, '}')
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
	const hex = "0123456789abcdef"
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return dst
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
	ev, err := DecodeEvent(bytes.Clone(data)) // the payload keeps a slice of it
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// DecodeEvent decodes a JSON envelope. It rejects anything but one JSON object
// with known keys (unknown or repeated keys are errors), a missing or blank
// event_type, an id that is not a UUID, a timestamp that is not RFC 3339 in
// UTC ending in Z, and headers that are not an object of strings. Every error
// matches ErrInvalidEvent and names the field at fault. The payload is kept as
// json.RawMessage (a slice of data, which the event then shares); Payload
// decodes it into the handler's type.
//
// It reads the envelope in one pass, without encoding/json's reflection; it
// accepts and rejects exactly what encoding/json's grammar does.
func DecodeEvent(data []byte) (Event, error) {
	return (*Decoder)(nil).Decode(data)
}

// Decoder decodes envelopes like DecodeEvent, and gives the event types it
// knows as the strings it was made with instead of allocating new ones. A
// nil *Decoder knows none. It is safe for concurrent use.
type Decoder struct {
	types map[string]string
}

// NewDecoder returns a Decoder that knows eventTypes.
func NewDecoder(eventTypes ...string) *Decoder {
	d := &Decoder{types: make(map[string]string, len(eventTypes))}
	for _, t := range eventTypes {
		d.types[t] = t
	}
	return d
}

// Decode decodes one JSON envelope; see DecodeEvent.
func (d *Decoder) Decode(data []byte) (Event, error) {
	p := envParser{data: data, d: d}
	ev, err := p.envelope()
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// The fields of an envelope, as bits, to catch missing and repeated keys.
const (
	seenID uint8 = 1 << iota
	seenTimestamp
	seenType
	seenPayload
	seenCausation
	seenCorrelation
	seenHeaders
)

// envParser reads one envelope from data.
type envParser struct {
	data []byte
	pos  int
	d    *Decoder
	buf  []byte // scratch for strings with escapes
}

// syntaxError is what the grammar found wrong, before it is given a field.
type syntaxError string

func (e syntaxError) Error() string { return string(e) }

func (p *envParser) fail(field string, err error) error {
	var se syntaxError
	if errors.As(err, &se) {
		return &FieldError{Field: field, Reason: "is not valid JSON: " + string(se)}
	}
	return err
}

func (p *envParser) errAt(what string) error {
	if p.pos >= len(p.data) {
		return syntaxError("unexpected end of input")
	}
	return syntaxError(fmt.Sprintf("invalid character %s %s", quoteChar(p.data[p.pos]), what))
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= 0x7f:
		return fmt.Sprintf("%q", []byte{c})
	}
	return "'" + string(c) + "'"
}

func (p *envParser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *envParser) envelope() (Event, error) {
	const env = "(envelope)"
	var ev Event
	p.ws()
	if p.pos >= len(p.data) {
		return ev, &FieldError{Field: env, Reason: "is not JSON: unexpected end of input"}
	}
	if p.data[p.pos] != '{' {
		if err := p.value(0); err != nil {
			return ev, &FieldError{Field: env, Reason: "is not JSON: " + string(err.(syntaxError))}
		}
		return ev, &FieldError{Field: env, Reason: "must be a JSON object"}
	}
	p.pos++
	var seen uint8
	p.ws()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
	} else {
		for {
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return ev, p.fail(env, p.errAt("looking for beginning of object key string"))
			}
			key, err := p.str()
			if err != nil {
				return ev, p.fail(env, err)
			}
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return ev, p.fail(env, p.errAt("after object key"))
			}
			p.pos++
			p.ws()
			if err := p.field(&ev, key, &seen); err != nil {
				return ev, err
			}
			p.ws()
			if p.pos >= len(p.data) {
				return ev, p.fail(env, p.errAt(""))
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == '}' {
				p.pos++
				break
			}
			return ev, p.fail(env, p.errAt("after object key:value pair"))
		}
	}
	p.ws()
	if p.pos < len(p.data) {
		return ev, &FieldError{Field: env, Reason: "has data after the JSON object"}
	}
	for _, k := range [...]struct {
		bit  uint8
		name string
	}{{seenID, keyID}, {seenTimestamp, keyTimestamp}, {seenType, keyType}, {seenPayload, keyPayload}} {
		if seen&k.bit == 0 {
			return ev, &FieldError{Field: k.name, Reason: "is missing"}
		}
	}
	return ev, nil
}

// field reads the value of key into ev.
func (p *envParser) field(ev *Event, key []byte, seen *uint8) error {
	var bit uint8
	var name string // a constant: no allocation
	switch string(key) {
	case keyID:
		bit, name = seenID, keyID
	case keyTimestamp:
		bit, name = seenTimestamp, keyTimestamp
	case keyType:
		bit, name = seenType, keyType
	case keyPayload:
		bit, name = seenPayload, keyPayload
	case keyCausationID:
		bit, name = seenCausation, keyCausationID
	case keyCorrelationID:
		bit, name = seenCorrelation, keyCorrelationID
	case keyHeaders:
		bit, name = seenHeaders, keyHeaders
	default:
		// Read the value first: a syntax error in it is reported as such.
		name := string(key)
		if err := p.value(0); err != nil {
			return p.fail(name, err)
		}
		return &FieldError{Field: name, Reason: "is not a known envelope key (known: id, timestamp, event_type, payload, causation_id, correlation_id, headers)"}
	}
	if *seen&bit != 0 {
		if err := p.value(0); err != nil {
			return p.fail(name, err)
		}
		return &FieldError{Field: name, Reason: "appears more than once"}
	}
	*seen |= bit
	switch bit {
	case seenPayload:
		start := p.pos
		if err := p.value(0); err != nil {
			return p.fail(name, err)
		}
		ev.Payload = json.RawMessage(p.data[start:p.pos:p.pos])
		return nil
	case seenHeaders:
		return p.headers(ev)
	}
	// The other fields are strings; a value of another kind is read first, so
	// that a syntax error in it is reported as such.
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		if err := p.value(0); err != nil {
			return p.fail(name, err)
		}
		switch bit {
		case seenTimestamp:
			return &FieldError{Field: name, Reason: "must be a string in RFC 3339 UTC such as \"2026-01-02T15:04:05.123Z\""}
		case seenType:
			return &FieldError{Field: name, Reason: "must be a string"}
		}
		return &FieldError{Field: name, Reason: "must be a UUID string"}
	}
	s, err := p.str()
	if err != nil {
		return p.fail(name, err)
	}
	switch bit {
	case seenID, seenCausation, seenCorrelation:
		id, err := decodeUUID(name, s)
		if err != nil {
			return err
		}
		switch bit {
		case seenID:
			ev.ID = id
		case seenCausation:
			ev.CausationID = id
		default:
			ev.CorrelationID = id
		}
	case seenTimestamp:
		t, err := decodeTimestamp(s)
		if err != nil {
			return err
		}
		ev.Timestamp = t
	case seenType:
		typ, ok := p.d.intern(s)
		if !ok {
			if err := validateType(typ); err != nil {
				return err
			}
		}
		ev.Type = typ
	}
	return nil
}

// intern returns the known event type equal to b, or b as a new string.
func (d *Decoder) intern(b []byte) (string, bool) {
	if d != nil {
		if t, ok := d.types[string(b)]; ok {
			return t, true
		}
	}
	return string(b), false
}

// headers reads an object of strings.
func (p *envParser) headers(ev *Event) error {
	const name = keyHeaders
	if p.pos >= len(p.data) || p.data[p.pos] != '{' {
		if err := p.value(0); err != nil {
			return p.fail(name, err)
		}
		return &FieldError{Field: name, Reason: "must be an object of strings such as {\"traceparent\":\"00-…\"}"}
	}
	start := p.pos
	if err := p.value(0); err != nil { // the grammar first, so that errors are syntax errors
		return p.fail(name, err)
	}
	end := p.pos
	p.pos = start + 1
	h := map[string]string{}
	for {
		p.ws()
		if p.data[p.pos] == '}' {
			break
		}
		k, _ := p.str()
		key := string(k)
		p.ws()
		p.pos++ // ':'
		p.ws()
		if p.data[p.pos] != '"' {
			return &FieldError{Field: name, Reason: fmt.Sprintf("header %q is not a string", key)}
		}
		v, _ := p.str()
		if _, dup := h[key]; dup {
			return &FieldError{Field: name, Reason: fmt.Sprintf("header %q appears more than once", key)}
		}
		h[key] = string(v)
		p.ws()
		if p.data[p.pos] == ',' {
			p.pos++
		}
	}
	p.pos = end
	if len(h) > 0 {
		ev.Headers = h
	}
	return nil
}

// value skips one JSON value, checking its grammar as encoding/json does.
func (p *envParser) value(depth int) error {
	if depth > 10000 {
		return syntaxError("exceeded max depth")
	}
	if p.pos >= len(p.data) {
		return syntaxError("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		p.ws()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return nil
		}
		for {
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return p.errAt("looking for beginning of object key string")
			}
			if _, err := p.str(); err != nil {
				return err
			}
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return p.errAt("after object key")
			}
			p.pos++
			p.ws()
			if err := p.value(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.pos >= len(p.data) {
				return p.errAt("")
			}
			switch p.data[p.pos] {
			case ',':
				p.pos++
			case '}':
				p.pos++
				return nil
			default:
				return p.errAt("after object key:value pair")
			}
		}
	case c == '[':
		p.pos++
		p.ws()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return nil
		}
		for {
			p.ws()
			if err := p.value(depth + 1); err != nil {
				return err
			}
			p.ws()
			if p.pos >= len(p.data) {
				return p.errAt("")
			}
			switch p.data[p.pos] {
			case ',':
				p.pos++
			case ']':
				p.pos++
				return nil
			default:
				return p.errAt("after array element")
			}
		}
	case c == '"':
		_, err := p.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return p.errAt("looking for beginning of value")
}

func (p *envParser) literal(lit string) error {
	for i := range len(lit) {
		if p.pos >= len(p.data) {
			return syntaxError("unexpected end of input")
		}
		if p.data[p.pos] != lit[i] {
			return p.errAt("in literal " + lit + " (expecting " + quoteChar(lit[i]) + ")")
		}
		p.pos++
	}
	return nil
}

func (p *envParser) digits() int {
	n := 0
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
		n++
	}
	return n
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *envParser) number() error {
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos >= len(p.data) {
		return syntaxError("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '0':
		p.pos++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return p.errAt("in numeric literal")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return p.errAt("after decimal point in numeric literal")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return p.errAt("in exponent of numeric literal")
		}
	}
	return nil
}

// str reads a JSON string at p.pos and returns its value, unescaped as
// encoding/json does (invalid UTF-8 and lone surrogates become U+FFFD). The
// result aliases data or the parser's scratch buffer: copy it to keep it.
func (p *envParser) str() ([]byte, error) {
	p.pos++ // the opening quote
	start := p.pos
	// The common case: no escapes, no control characters, valid UTF-8.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := p.data[start:p.pos]
			p.pos++
			return s, nil
		case c == '\\' || c >= utf8.RuneSelf:
			return p.strSlow(start)
		case c < 0x20:
			return nil, p.errAt("in string literal")
		}
		p.pos++
	}
	return nil, syntaxError("unexpected end of input")
}

func (p *envParser) strSlow(start int) ([]byte, error) {
	p.pos = start
	buf := p.buf[:0]
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			p.buf = buf
			return buf, nil
		case c < 0x20:
			return nil, p.errAt("in string literal")
		case c == '\\':
			p.pos++
			if p.pos >= len(p.data) {
				return nil, syntaxError("unexpected end of input")
			}
			switch e := p.data[p.pos]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return nil, err
				}
				if utf16IsSurrogate(r) {
					r2 := rune(-1)
					if p.pos+2 < len(p.data) && p.data[p.pos+1] == '\\' && p.data[p.pos+2] == 'u' {
						save := p.pos
						p.pos += 2
						r2, err = p.hex4()
						if err != nil {
							return nil, err
						}
						if dec := utf16Decode(r, r2); dec != utf8.RuneError {
							r = dec
						} else {
							p.pos = save // not a pair: the second escape stands alone
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return nil, p.errAt("in string escape code")
			}
			p.pos++
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, p.data[p.pos:p.pos+size]...)
			}
			p.pos += size
		}
	}
	return nil, syntaxError("unexpected end of input")
}

// hex4 reads the four hex digits after \u; p.pos is on the u and ends on the
// last digit.
func (p *envParser) hex4() (rune, error) {
	var r rune
	for range 4 {
		p.pos++
		if p.pos >= len(p.data) {
			return 0, syntaxError("unexpected end of input")
		}
		c := p.data[p.pos]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, p.errAt("in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

func utf16IsSurrogate(r rune) bool { return 0xd800 <= r && r < 0xe000 }

func utf16Decode(r1, r2 rune) rune {
	if 0xd800 <= r1 && r1 < 0xdc00 && 0xdc00 <= r2 && r2 < 0xe000 {
		return (r1-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
	}
	return utf8.RuneError
}

func decodeUUID(key string, s []byte) (uuid.UUID, error) {
	id, err := uuid.ParseBytes(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, &FieldError{Field: key, Reason: fmt.Sprintf("%q is not a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", s)}
	}
	if id == uuid.Nil && key == keyID {
		return uuid.Nil, &FieldError{Field: key, Reason: "is the nil UUID"}
	}
	return id, nil
}

// decodeTimestamp parses an RFC 3339 time in UTC ending in Z, as
// time.Parse(time.RFC3339Nano) does, without allocating in the usual case:
// YYYY-MM-DDTHH:MM:SS[.fraction]Z.
func decodeTimestamp(s []byte) (time.Time, error) {
	if len(s) == 0 || s[len(s)-1] != 'Z' {
		return time.Time{}, &FieldError{Field: keyTimestamp, Reason: fmt.Sprintf("%q is not in UTC: it must end in Z", s)}
	}
	if t, ok := fastTimestamp(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, &FieldError{Field: keyTimestamp, Reason: fmt.Sprintf("%q is not an RFC 3339 time such as \"2026-01-02T15:04:05.123Z\"", s)}
	}
	return t.UTC(), nil
}

// fastTimestamp parses the usual form; ok is false for anything else, which
// time.Parse then decides.
func fastTimestamp(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for _, c := range s[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	switch rest := s[19 : len(s)-1]; {
	case len(rest) == 0:
	case rest[0] == '.' && len(rest) >= 2 && len(rest) <= 10:
		n, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(rest) {
			n *= 10
		}
		nsec = n
	default:
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
