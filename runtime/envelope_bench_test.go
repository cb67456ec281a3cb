package runtime_test

import (
	"testing"

	"github.com/necrostack/necrostack/runtime"
)

func BenchmarkDecodeEnvelope(b *testing.B) {
	p, _ := runtime.NewEvent("SUMMON_RITUAL", order{Name: "Lenore", Count: 3, Tags: []string{"a", "b"}})
	ev, _ := runtime.NewChildEvent(p, "SPIRIT_APPEARED", order{Name: "Lenore", Count: 3})
	data, _ := ev.MarshalJSON()
	b.Run("impl=reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			referenceDecode(data)
		}
	})
	b.Run("impl=codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			runtime.DecodeEvent(data)
		}
	})
	d := runtime.NewDecoder("SPIRIT_APPEARED")
	b.Run("impl=codec-interned", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.Decode(data)
		}
	})
}
