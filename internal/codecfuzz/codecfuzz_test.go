package codecfuzz

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/necrostack/necrostack/internal/codeccheck"
)

// checks runs a codeccheck function for every payload type with a codec.
var checks = []struct {
	name   string
	check  func(t testing.TB, seed uint64, n, mutations int) codeccheck.Stats
	decode func(t testing.TB, data []byte) bool
	encode func(t testing.TB, g *codeccheck.Gen) []byte
}{
	{"Scalars", codeccheck.Check[Scalars], codeccheck.Decode[Scalars], encode[Scalars]},
	{"Tagged", codeccheck.Check[Tagged], codeccheck.Decode[Tagged], encode[Tagged]},
	{"Containers", codeccheck.Check[Containers], codeccheck.Decode[Containers], encode[Containers]},
	{"Embedding", codeccheck.Check[Embedding], codeccheck.Decode[Embedding], encode[Embedding]},
	{"Tree", codeccheck.Check[Tree], codeccheck.Decode[Tree], encode[Tree]},
	{"Custom", codeccheck.Check[Custom], codeccheck.Decode[Custom], encode[Custom]},
	{"Batch", codeccheck.Check[Batch], codeccheck.Decode[Batch], encode[Batch]},
	{"Counts", codeccheck.Check[Counts], codeccheck.Decode[Counts], encode[Counts]},
	{"PtrMarshals", codeccheck.Check[PtrMarshals], codeccheck.Decode[PtrMarshals], encode[PtrMarshals]},
	{"Order", codeccheck.Check[Order], codeccheck.Decode[Order], encode[Order]},
}

func encode[T any](t testing.TB, g *codeccheck.Gen) []byte {
	var v T
	g.Fill(reflect.ValueOf(&v).Elem(), 0)
	data, _ := codeccheck.Encode(t, v)
	return data
}

var (
	values = flag.Int("codec.values", 400, "random values per payload type for TestCodecsMatchEncodingJSON")
	seed   = flag.Uint64("codec.seed", 1, "seed of TestCodecsMatchEncodingJSON")
)

// TestCodecsMatchEncodingJSON encodes random values of every payload type
// and decodes their encodings and mutations of them, with the generated
// codec and with encoding/json.
func TestCodecsMatchEncodingJSON(t *testing.T) {
	n := *values
	if testing.Short() {
		n = 50
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			st := c.check(t, *seed, n, 8)
			t.Logf("%s: %v", c.name, st)
			if st.Encodings < n/4 || st.Accepted < st.Encodings/4 {
				t.Errorf("too few values encoded or inputs accepted to be a test: %v", st)
			}
		})
	}
}

// TestFallbacks checks that the payload types necrogen leaves to
// encoding/json have no codec methods.
func TestFallbacks(t *testing.T) {
	for _, v := range []any{Stamp{}, Settable{}} {
		if _, ok := v.(interface {
			AppendNecroJSON([]byte) ([]byte, error)
		}); ok {
			t.Errorf("%T has a generated codec; it must be left to encoding/json", v)
		}
	}
}

// TestDeepTree encodes a list longer than the depth at which the generated
// encoder of a recursive type hands over to encoding/json, and a cycle, which
// encoding/json reports as an error.
func TestDeepTree(t *testing.T) {
	var head *Tree
	for i := range 3000 {
		head = &Tree{Label: string(rune('a' + i%26)), Next: head}
	}
	codeccheck.Encode(t, *head)
	cycle := &Tree{Label: "loop"}
	cycle.Next = cycle
	if _, err := cycle.AppendNecroJSON(nil); err == nil {
		t.Error("a cycle was encoded")
	} else if _, want := json.Marshal(cycle); want == nil || err.Error() != want.Error() {
		t.Errorf("cycle: %v, want %v", err, want)
	}
	deep := []byte(`{"Children":[`)
	for range 20000 {
		deep = append(deep, `{"Children":[`...)
	}
	codeccheck.Decode[Tree](t, deep) // too deep for encoding/json too
	// encoding/json's limit is 10000 nested arrays and objects, in a field
	// the codec decodes and in one it skips.
	for n := 9998; n <= 10001; n++ {
		nested := strings.Repeat("[", n) + strings.Repeat("]", n)
		codeccheck.Decode[Tree](t, []byte(`{"unknown":`+nested+`}`))
		codeccheck.Decode[Batch](t, []byte(`[`+nested[2:len(nested)-2]+`]`))
		codeccheck.Decode[Tree](t, []byte(strings.Repeat(`{"Children":[`, n/2)+strings.Repeat("]}", n/2)))
	}
}

// FuzzDecode decodes its input into every payload type, with the generated
// codec and with encoding/json.
func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range checks {
		for range 4 {
			if b := c.encode(f, &codeccheck.Gen{Rand: rng}); b != nil {
				f.Add(b)
				f.Add(codeccheck.Mutate(rng, b))
			}
		}
	}
	for _, s := range []string{`null`, ``, `{}`, `[]`, `{"Ritual":1}`, `{"qi":"1"}`, `{"qi":"01"}`, `{"qp":"null"}`,
		`{"qs":"\"a\\'b\""}`, `{"ſ":1}`, `{"K":2}`, `{"Same":1}`, `{"Secret":"x"}`, `{"a<b>&c":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range checks {
			c.decode(t, data)
		}
	})
}

// FuzzEncode encodes values built from its seed.
func FuzzEncode(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		for _, c := range checks {
			c.encode(t, &codeccheck.Gen{Rand: rand.New(rand.NewPCG(seed, seed))})
		}
	})
}
