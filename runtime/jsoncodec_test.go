package runtime_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/necrostack/necrostack/internal/codecfuzz"
	"github.com/necrostack/necrostack/runtime"
)

func testOrder() codecfuzz.Order {
	note := "<door> & porch"
	return codecfuzz.Order{ID: "o-1", Customer: "Edgar", Placed: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Note: &note,
		Lines: []codecfuzz.OrderLine{{SKU: "R", Qty: 2, Price: 1.5}}, Tags: map[string]string{"b": "2", "a": "1"}, Total: 3}
}

// wirePayload returns the payload of ev as the envelope encodes it.
func wirePayload(t *testing.T, ev runtime.Event) string {
	t.Helper()
	data, err := ev.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Payload json.RawMessage }
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	return string(env.Payload)
}

// embedsOrder has the codec methods of Order promoted: the runtime must not
// use them, or Extra would be lost.
type embedsOrder struct {
	codecfuzz.Order
	Extra int
}

func TestEnvelopeEncodesPayloadAsEncodingJSON(t *testing.T) {
	o := testOrder()
	for _, p := range []any{o, &o, (*codecfuzz.Order)(nil), embedsOrder{Order: o, Extra: 7}, codecfuzz.Batch{{X: 1}}} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := wirePayload(t, runtime.MustNewEvent("ORDER", p)); got != string(want) {
			t.Errorf("%T: payload %s, want %s", p, got, want)
		}
	}
	// An encoding error is the event's, and nothing is appended.
	bad := runtime.MustNewEvent("ORDER", codecfuzz.Order{Placed: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	out, err := bad.AppendJSON([]byte("x"))
	if err == nil || string(out) != "x" || !strings.Contains(err.Error(), "year outside of range") {
		t.Errorf("AppendJSON of an unencodable payload: %q, %v", out, err)
	}
}

func TestPayloadDecodesAsEncodingJSON(t *testing.T) {
	o := testOrder()
	data, _ := json.Marshal(o)
	ev := runtime.MustNewEvent("ORDER", json.RawMessage(data))
	got, err := runtime.Payload[codecfuzz.Order](ev)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := json.Marshal(got); string(again) != string(data) {
		t.Errorf("decoded %s, want %s", again, data)
	}
	// Promoted codec methods are not used.
	w, err := runtime.Payload[embedsOrder](runtime.MustNewEvent("ORDER", json.RawMessage(`{"id":"x","Extra":7}`)))
	if err != nil || w.ID != "x" || w.Extra != 7 {
		t.Errorf("embedsOrder: %+v, %v", w, err)
	}
	for _, in := range []string{`null`, ` null `, `{"id":1}`, `{"id":"x"`, `[]`, ``} {
		ev := runtime.MustNewEvent("ORDER", json.RawMessage(in))
		_, err := runtime.Payload[codecfuzz.Order](ev)
		if !errors.Is(err, runtime.ErrPayloadType) {
			t.Errorf("payload %q: %v, want an error matching ErrPayloadType", in, err)
		}
		var ref codecfuzz.Order
		if jerr := json.Unmarshal([]byte(in), &ref); jerr != nil && !strings.HasSuffix(err.Error(), jerr.Error()) {
			t.Errorf("payload %q: %v, want encoding/json's error %v", in, err, jerr)
		}
	}
}
