package runtime_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/necrostack/necrostack/runtime"
)

type order struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

func drawEvent(t *rapid.T) runtime.Event {
	typ := rapid.StringMatching(`[A-Z][A-Z0-9_]{0,20}|[a-z .\-:é"\\]{1,10}`).Filter(func(s string) bool { return strings.TrimSpace(s) != "" }).Draw(t, "type")
	p := order{
		Name:  rapid.String().Draw(t, "name"),
		Count: rapid.Int().Draw(t, "count"),
		Tags:  rapid.SliceOf(rapid.String()).Draw(t, "tags"),
	}
	ev, err := runtime.NewEvent(typ, p)
	if err != nil {
		t.Fatalf("NewEvent(%q): %v", typ, err)
	}
	if rapid.Bool().Draw(t, "headers") {
		ev.Headers = rapid.MapOfN(rapid.String(), rapid.String(), 1, 3).Draw(t, "header")
	}
	if rapid.Bool().Draw(t, "child") {
		ev, _ = runtime.NewChildEvent(ev, typ, p)
	}
	return ev
}

// Property: encoding an event and decoding it gives back the same envelope,
// and the payload decodes into the same typed value.
func TestEnvelopeRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ev := drawEvent(t)
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := runtime.DecodeEvent(data)
		if err != nil {
			t.Fatalf("DecodeEvent(%s): %v", data, err)
		}
		if got.ID != ev.ID || got.Type != ev.Type || !got.Timestamp.Equal(ev.Timestamp) ||
			got.CausationID != ev.CausationID || got.CorrelationID != ev.CorrelationID || !sameHeaders(got.Headers, ev.Headers) {
			t.Fatalf("round trip changed the envelope:\n got %+v\nwant %+v", got, ev)
		}
		if got.Timestamp.Location() != time.UTC {
			t.Fatalf("decoded timestamp is in %v, want UTC", got.Timestamp.Location())
		}
		want, _ := runtime.Payload[order](ev)
		p, err := runtime.Payload[order](got)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != want.Name || p.Count != want.Count || len(p.Tags) != len(want.Tags) {
			t.Fatalf("payload %+v, want %+v", p, want)
		}
		again, err := json.Marshal(got)
		if err != nil || string(again) != string(data) {
			t.Fatalf("re-encoding differs:\n%s\n%s (%v)", again, data, err)
		}
		if !strings.Contains(string(data), `Z","event_type"`) {
			t.Fatalf("timestamp does not end in Z: %s", data)
		}
	})
}

// Property: NewEvent never returns the same ID twice, and IDs are version 7.
func TestUniqueIDs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 2000).Draw(t, "n")
		seen := make(map[uuid.UUID]bool, n)
		for range n {
			ev, _ := runtime.NewEvent("X", nil)
			if seen[ev.ID] {
				t.Fatalf("duplicate ID %s", ev.ID)
			}
			if ev.ID.Version() != 7 || ev.ID.Variant() != uuid.RFC4122 {
				t.Fatalf("ID %s is version %d variant %v", ev.ID, ev.ID.Version(), ev.ID.Variant())
			}
			seen[ev.ID] = true
		}
	})
}

// Property: a type that is empty or only white space is rejected, by the
// constructor and by the decoder, with an error that says so.
func TestBlankTypeRejected(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		blank := rapid.StringOfN(rapid.SampledFrom([]rune{' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0xA0, 0x2003}), 0, 6, -1).Draw(t, "blank")
		_, err := runtime.NewEvent(blank, nil)
		if !errors.Is(err, runtime.ErrInvalidEvent) {
			t.Fatalf("NewEvent(%q) = %v, want ErrInvalidEvent", blank, err)
		}
		if !strings.Contains(err.Error(), "event_type") || !(strings.Contains(err.Error(), "empty") || strings.Contains(err.Error(), "white space")) {
			t.Fatalf("error %q does not say the type is empty or white space", err)
		}
		good, _ := runtime.NewEvent("OK", 1)
		data, _ := json.Marshal(good)
		bad := strings.Replace(string(data), `"event_type":"OK"`, `"event_type":`+mustJSON(blank), 1)
		if _, err := runtime.DecodeEvent([]byte(bad)); !errors.Is(err, runtime.ErrInvalidEvent) || !strings.Contains(err.Error(), "event_type") {
			t.Fatalf("DecodeEvent with blank type: %v", err)
		}
	})
}

// Property: any key beyond the known seven is rejected, naming the key.
func TestUnknownFieldRejected(t *testing.T) {
	known := map[string]bool{"id": true, "timestamp": true, "event_type": true, "payload": true, "causation_id": true, "correlation_id": true, "headers": true}
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.String().Filter(func(s string) bool { return !known[s] }).Draw(t, "key")
		ev, _ := runtime.NewEvent("OK", 1)
		data, _ := json.Marshal(ev)
		bad := string(data[:len(data)-1]) + "," + mustJSON(key) + ":1}"
		_, err := runtime.DecodeEvent([]byte(bad))
		var fe *runtime.FieldError
		if !errors.As(err, &fe) || fe.Field != key || !errors.Is(err, runtime.ErrInvalidEvent) {
			t.Fatalf("DecodeEvent with extra key %q: %v", key, err)
		}
	})
}

func TestDecodeNamesTheField(t *testing.T) {
	const (
		id = `"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f"`
		ts = `"timestamp":"2026-01-02T15:04:05.123Z"`
		ty = `"event_type":"OK"`
		pl = `"payload":{}`
	)
	cases := map[string]struct{ in, field string }{
		"missing id":         {`{` + ts + `,` + ty + `,` + pl + `}`, "id"},
		"malformed id":       {`{"id":"nope",` + ts + `,` + ty + `,` + pl + `}`, "id"},
		"numeric id":         {`{"id":7,` + ts + `,` + ty + `,` + pl + `}`, "id"},
		"missing timestamp":  {`{` + id + `,` + ty + `,` + pl + `}`, "timestamp"},
		"offset timestamp":   {`{` + id + `,"timestamp":"2026-01-02T15:04:05+02:00",` + ty + `,` + pl + `}`, "timestamp"},
		"garbage timestamp":  {`{` + id + `,"timestamp":"yesterday Z",` + ty + `,` + pl + `}`, "timestamp"},
		"missing type":       {`{` + id + `,` + ts + `,` + pl + `}`, "event_type"},
		"numeric type":       {`{` + id + `,` + ts + `,"event_type":1,` + pl + `}`, "event_type"},
		"missing payload":    {`{` + id + `,` + ts + `,` + ty + `}`, "payload"},
		"duplicate key":      {`{` + id + `,` + id + `,` + ts + `,` + ty + `,` + pl + `}`, "id"},
		"bad causation":      {`{` + id + `,` + ts + `,` + ty + `,` + pl + `,"causation_id":"x"}`, "causation_id"},
		"not an object":      {`[1,2]`, "(envelope)"},
		"truncated":          {`{` + id + `,` + ts, "(envelope)"},
		"trailing data":      {`{` + id + `,` + ts + `,` + ty + `,` + pl + `} {}`, "(envelope)"},
		"empty input":        {``, "(envelope)"},
		"truncated in value": {`{"id":`, "id"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := runtime.DecodeEvent([]byte(c.in))
			var fe *runtime.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("DecodeEvent(%s) = %v, want a FieldError for %q", c.in, err, c.field)
			}
		})
	}
	if _, err := runtime.DecodeEvent([]byte(`{` + id + `,` + ts + `,` + ty + `,` + pl + `}`)); err != nil {
		t.Fatalf("valid envelope rejected: %v", err)
	}
}

func TestPayloadTypeMismatch(t *testing.T) {
	ev, _ := runtime.NewEvent("OK", 42)
	if _, err := runtime.Payload[string](ev); !errors.Is(err, runtime.ErrPayloadType) {
		t.Fatalf("Payload[string] of an int: %v", err)
	}
	ev.Payload = json.RawMessage(`{"name":3}`)
	if _, err := runtime.Payload[order](ev); !errors.Is(err, runtime.ErrPayloadType) {
		t.Fatalf("Payload[order] of bad JSON: %v", err)
	}
	ev.Payload = &order{Name: "p"}
	if o, err := runtime.Payload[order](ev); err != nil || o.Name != "p" {
		t.Fatalf("Payload[order] of *order: %v %v", o, err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// FuzzDecodeEvent: the decoder never panics, and whatever it accepts encodes
// and decodes again to the same envelope.
func FuzzDecodeEvent(f *testing.F) {
	good, _ := runtime.NewEvent("SUMMON_RITUAL", order{Name: "x"})
	child, _ := runtime.NewChildEvent(good, "SPIRIT_APPEARED", nil)
	for _, ev := range []runtime.Event{good, child} {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"id":1}`,
		`{"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f","timestamp":"2026-01-02T15:04:05Z","event_type":"  ","payload":null}`,
		`{"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f","timestamp":"2026-01-02T15:04:05Z","event_type":"A","payload":null,"extra":1}`,
		`{"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f","timestamp":"2026-01-02T15:04:05+01:00","event_type":"A","payload":null}`,
		`{"id":"not-a-uuid","timestamp":"2026-01-02T15:04:05Z","event_type":"A","payload":null}`,
		`{"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f","timestamp":"2026-01-02T15:04:05Z","event_type":"A","payload":{"a":[1,2,{"b":null}]}}`,
		`{"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f","id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f"}`,
		`{"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f","timestamp":"2026-01-02T15:04:05Z","event_type":"A\u0000","payload":1}`,
		"{\"event_type\":\"\xff\"}", `{"payload":`, `{"a"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := runtime.DecodeEvent(data)
		if err != nil {
			if !errors.Is(err, runtime.ErrInvalidEvent) {
				t.Fatalf("error %v does not match ErrInvalidEvent", err)
			}
			return
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("accepted envelope %q does not encode: %v", data, err)
		}
		ev2, err := runtime.DecodeEvent(again)
		if err != nil {
			t.Fatalf("re-encoded envelope %s rejected: %v", again, err)
		}
		if ev2.ID != ev.ID || ev2.Type != ev.Type || !ev2.Timestamp.Equal(ev.Timestamp) {
			t.Fatalf("round trip changed %s", again)
		}
	})
}

// sameHeaders compares headers as the envelope carries them: sanitised to
// valid UTF-8, as encoding/json writes strings.
func sameHeaders(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[strings.ToValidUTF8(k, "\uFFFD")] != strings.ToValidUTF8(v, "\uFFFD") {
			return false
		}
	}
	return true
}

// Headers are optional, inherited by children, and must be an object of
// strings without repeated keys.
func TestHeaders(t *testing.T) {
	parent, _ := runtime.NewEvent("KNOCK", 1)
	parent.Headers = map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	child, _ := runtime.NewChildEvent(parent, "DOOR_OPENED", 2)
	if child.Headers["traceparent"] != parent.Headers["traceparent"] {
		t.Fatalf("child headers %v, want the parent's", child.Headers)
	}
	built, _ := runtime.NewEvent("BUILT", 3)
	out, err := runtime.AppendEmitted(nil, parent, built)
	if err != nil || out[0].Headers["traceparent"] == "" {
		t.Fatalf("AppendEmitted: %v, headers %v", err, out[0].Headers)
	}
	data, _ := json.Marshal(child)
	if !strings.HasSuffix(string(data), `,"headers":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`) {
		t.Fatalf("envelope %s does not end with its headers", data)
	}
	base := strings.TrimSuffix(string(data), `,"headers":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}`)
	for _, bad := range []string{`{"a":1}`, `{"a":"x","a":"y"}`, `["a"]`, `"a"`, `{"a":null}`} {
		_, err := runtime.DecodeEvent([]byte(base + `,"headers":` + bad + `}`))
		var fe *runtime.FieldError
		if !errors.As(err, &fe) || fe.Field != "headers" {
			t.Errorf("headers %s: %v, want a FieldError for headers", bad, err)
		}
	}
	noHeaders, err := runtime.DecodeEvent([]byte(base + `}`))
	if err != nil || noHeaders.Headers != nil {
		t.Fatalf("an envelope without headers: %v, headers %v", err, noHeaders.Headers)
	}
}

// FuzzDecodeEventMatchesReference: the single-pass decoder accepts exactly
// what the encoding/json-based reference decoder accepts, and decodes it to
// the same envelope, payload bytes and all.
func FuzzDecodeEventMatchesReference(f *testing.F) {
	good, _ := runtime.NewEvent("SUMMON_RITUAL", order{Name: "x\u00e9\"", Tags: []string{"a"}})
	good.Headers = map[string]string{"traceparent": "00-x", "k\n": "v\u2028"}
	child, _ := runtime.NewChildEvent(good, "SPIRIT_APPEARED", []any{1.5e3, -0, true, nil, "😀\u2028"})
	for _, ev := range []runtime.Event{good, child} {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	const id, ts = `"id":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f"`, `"timestamp":"2026-01-02T15:04:05Z"`
	for _, s := range []string{
		` {` + id + `,` + ts + `,"event_type":"\u0041\ud800x","payload": [ 1 , {"a" : -0.5e-3} ] } `,
		`{` + id + `,"timestamp":"2024-02-29T23:59:59.999999999Z","event_type":"A","payload":"\ud83d\ude00"}`,
		`{` + id + `,"timestamp":"2023-02-29T00:00:00Z","event_type":"A","payload":0}`,
		`{` + id + `,"timestamp":"2026-01-02T24:00:00Z","event_type":"A","payload":0}`,
		`{` + id + `,"timestamp":"2026-01-02T15:04:05.1234567891Z","event_type":"A","payload":0}`,
		`{` + id + `,"timestamp":"2026-01-02t15:04:05z","event_type":"A","payload":0}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":01}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":1.}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":"\x"}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":"\u12"}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":tru}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":{}, "headers":{}}`,
		`{"\u0069d":"0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f",` + ts + `,"event_type":"A","payload":null}`,
		"{" + id + "," + ts + ",\"event_type\":\"A\xff\",\"payload\":\"\t\"}",
		`{` + id + `,` + ts + `,"event_type":"A","payload":[[[[[[[[]]]]]]]]}`,
		// Each envelope value may nest as deep as encoding/json decodes a
		// value alone: 10,000 arrays, not 10,001.
		`{` + id + `,` + ts + `,"event_type":"A","payload":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		`{` + id + `,` + ts + `,"event_type":"A","payload":0,"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := runtime.DecodeEvent(data)
		want, werr := referenceDecode(data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeEvent(%q): %v; the reference says %v", data, err, werr)
		}
		if err != nil {
			if !errors.Is(err, runtime.ErrInvalidEvent) {
				t.Fatalf("error %v does not match ErrInvalidEvent", err)
			}
			return
		}
		gp, _ := got.Payload.(json.RawMessage)
		wp, _ := want.Payload.(json.RawMessage)
		if got.ID != want.ID || got.Type != want.Type || !got.Timestamp.Equal(want.Timestamp) ||
			got.Timestamp.Location() != time.UTC || got.CausationID != want.CausationID ||
			got.CorrelationID != want.CorrelationID || string(gp) != string(wp) || !sameHeaders(got.Headers, want.Headers) {
			t.Fatalf("DecodeEvent(%q) =\n%+v\nthe reference:\n%+v", data, got, want)
		}
	})
}

// The payload policy: a field the handler's type does not know is ignored,
// so that a producer can add a field before its consumers know it; a null
// or non-object payload for a struct type is an error, never a zero value.
func TestPayloadPolicy(t *testing.T) {
	ev, _ := runtime.NewEvent("ORDER", 0)
	ev.Payload = json.RawMessage(`{"name":"x","count":2,"added_later":{"a":[1]}}`)
	got, err := runtime.Payload[order](ev)
	if err != nil || got.Name != "x" || got.Count != 2 {
		t.Fatalf("payload with an unknown field: %+v, %v; want it decoded, the field ignored", got, err)
	}
	for _, bad := range []string{`null`, ` null `, `"x"`, `[1]`, `7`} {
		ev.Payload = json.RawMessage(bad)
		if _, err := runtime.Payload[order](ev); !errors.Is(err, runtime.ErrPayloadType) {
			t.Errorf("payload %s for a struct: %v, want an error matching ErrPayloadType", bad, err)
		}
	}
	// A null is fine where the Go value can be nil.
	ev.Payload = json.RawMessage(`null`)
	if tags, err := runtime.Payload[[]string](ev); err != nil || tags != nil {
		t.Fatalf("null for a slice payload: %v, %v; want nil", tags, err)
	}
}
