// Package codeccheck checks the JSON codecs necrogen generates against
// encoding/json: AppendNecroJSON must write what json.Marshal writes, byte
// for byte, and DecodeNecroJSON must accept and reject what json.Unmarshal
// does, with the same error and into the same value (but null, which it
// rejects for a struct).
//
// It builds random values by reflection and random JSON by mutating their
// encodings. The tests of necrogen's golden cases copy this file into the
// module they build; keep it self-contained (standard library only).
package codeccheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type appender interface {
	AppendNecroJSON(dst []byte) ([]byte, error)
}

type decoder interface {
	DecodeNecroJSON(data []byte) error
}

// Stats counts what a check did.
type Stats struct {
	Values    int // values encoded
	Encodings int // of which encoding/json encoded without error
	Inputs    int // JSON inputs decoded
	Accepted  int // of which encoding/json accepted
}

func (s Stats) String() string {
	return fmt.Sprintf("%d values (%d encodable), %d inputs (%d accepted)", s.Values, s.Encodings, s.Inputs, s.Accepted)
}

// Check encodes n random values of T and decodes their encodings and
// mutations of them (mutations per value), comparing each with encoding/json.
// It fails t on the first difference.
func Check[T any](t testing.TB, seed uint64, n, mutations int) Stats {
	t.Helper()
	var st Stats
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range n {
		g := &Gen{Rand: rng}
		var v T
		g.Fill(reflect.ValueOf(&v).Elem(), 0)
		st.Values++
		data, ok := Encode(t, v)
		if !ok {
			continue
		}
		st.Encodings++
		inputs := [][]byte{data}
		for range mutations {
			inputs = append(inputs, Mutate(rng, data))
		}
		for j, in := range inputs {
			st.Inputs++
			if Decode[T](t, in) {
				st.Accepted++
			}
			// Decoding into a value that is not zero (merging, as
			// encoding/json does): two equal values from one seed.
			if j%4 == 1 {
				seed := rng.Uint64()
				var a, b T
				(&Gen{Rand: rand.New(rand.NewPCG(seed, 1)), Finite: true}).Fill(reflect.ValueOf(&a).Elem(), 0)
				(&Gen{Rand: rand.New(rand.NewPCG(seed, 1)), Finite: true}).Fill(reflect.ValueOf(&b).Elem(), 0)
				DecodeInto(t, in, &a, &b)
			}
		}
		if t.Failed() {
			t.Fatalf("value %d of %T (seed %d)", i, v, seed)
		}
	}
	return st
}

// Encode compares the generated encoding of v with encoding/json's and
// returns it; ok is false when encoding/json fails (and so did the codec).
func Encode[T any](t testing.TB, v T) (data []byte, ok bool) {
	t.Helper()
	a, isAppender := any(v).(appender)
	if !isAppender {
		t.Fatalf("%T has no AppendNecroJSON method", v)
	}
	want, wantErr := json.Marshal(v)
	got, err := a.AppendNecroJSON(nil)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Errorf("%T %#v:\nAppendNecroJSON: %q, %v\njson.Marshal:    %q, %v", v, v, got, err, want, wantErr)
		return nil, false
	case err != nil:
		// The buffer given comes back as it was.
		prefix := []byte("prefix")
		if out, _ := a.AppendNecroJSON(prefix); !bytes.Equal(out, prefix) {
			t.Errorf("%T: AppendNecroJSON after an error returned %q, want the buffer given", v, out)
		}
		return nil, false
	case !bytes.Equal(got, want):
		t.Errorf("%T %#v:\nAppendNecroJSON: %s\njson.Marshal:    %s", v, v, got, want)
		return nil, false
	}
	if out, _ := a.AppendNecroJSON([]byte("prefix")); string(out) != "prefix"+string(want) {
		t.Errorf("%T: AppendNecroJSON does not append: %q", v, out)
	}
	return want, true
}

// Decode decodes data into a new T with DecodeNecroJSON and with
// json.Unmarshal and compares errors and values; it reports whether
// encoding/json accepted data.
func Decode[T any](t testing.TB, data []byte) bool {
	t.Helper()
	var a, b T
	return DecodeInto(t, data, &a, &b)
}

// DecodeInto is Decode into two equal values a and b.
func DecodeInto[T any](t testing.TB, data []byte, a, b *T) bool {
	t.Helper()
	d, ok := any(a).(decoder)
	if !ok {
		t.Fatalf("%T has no DecodeNecroJSON method", a)
	}
	wantErr := json.Unmarshal(data, b)
	err := d.DecodeNecroJSON(data)
	if reflect.TypeFor[T]().Kind() == reflect.Struct && string(bytes.TrimSpace(data)) == "null" {
		if err == nil {
			t.Errorf("%T: DecodeNecroJSON(null) succeeded; it must fail for a struct", a)
		}
		return wantErr == nil
	}
	switch {
	case (err == nil) != (wantErr == nil):
		t.Errorf("%T: decoding %q:\nDecodeNecroJSON: %v\njson.Unmarshal:  %v", a, data, err, wantErr)
	case err != nil:
		if err.Error() != wantErr.Error() {
			t.Errorf("%T: decoding %q:\nDecodeNecroJSON: %v\njson.Unmarshal:  %v", a, data, err, wantErr)
		}
	case !reflect.DeepEqual(a, b):
		t.Errorf("%T: decoding %q:\nDecodeNecroJSON: %#v\njson.Unmarshal:  %#v", a, data, *a, *b)
	}
	return wantErr == nil
}

// Gen fills values at random, favouring the edges of each kind.
type Gen struct {
	Rand *rand.Rand
	// Finite leaves out NaN, which no decoding gives and no equality test
	// finds equal to itself.
	Finite bool
}

const maxDepth = 4

// Fill sets v (settable) to a random value of its type.
func (g *Gen) Fill(v reflect.Value, depth int) {
	r := g.Rand
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(g.Time()))
		return
	case reflect.TypeFor[json.Number]():
		// Mostly valid: encoding/json rejects the others.
		n := []json.Number{"0", "-1.5e3", "12345678901234567890", "1.0", "", "01", "x"}[r.IntN(7)]
		if r.IntN(2) == 0 {
			n = json.Number(strconv.FormatFloat(g.Float(64), 'g', -1, 64))
		}
		v.SetString(string(n))
		return
	case reflect.TypeFor[json.RawMessage]():
		raw := []string{`null`, `{"a":[1,2,{}]}`, ` [ true ] `, `"<&>"`, `1e2`, `{`, ``}[r.IntN(7)]
		if r.IntN(4) == 0 {
			v.SetZero()
			return
		}
		v.SetBytes([]byte(raw))
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		edges := []int64{0, 1, -1, 1<<(bits-1) - 1, -1 << (bits - 1), 42, -42}
		if r.IntN(2) == 0 {
			v.SetInt(edges[r.IntN(len(edges))])
		} else {
			v.SetInt(int64(r.Uint64()) >> (64 - bits))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := v.Type().Bits()
		edges := []uint64{0, 1, 1<<bits - 1, 42}
		if bits == 64 {
			edges[2] = math.MaxUint64
		}
		if r.IntN(2) == 0 {
			v.SetUint(edges[r.IntN(len(edges))])
		} else {
			v.SetUint(r.Uint64() >> (64 - bits))
		}
	case reflect.Float32, reflect.Float64:
		v.SetFloat(g.Float(v.Type().Bits()))
	case reflect.String:
		v.SetString(g.String())
	case reflect.Pointer:
		if depth >= maxDepth || r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		g.Fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		switch {
		case depth >= maxDepth || r.IntN(5) == 0:
			v.SetZero()
			return
		case r.IntN(5) == 0:
			v.Set(reflect.MakeSlice(v.Type(), 0, r.IntN(3)))
			return
		}
		n := 1 + r.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n+r.IntN(3))
		for i := range s.Cap() {
			g.Fill(s.Slice(0, s.Cap()).Index(i), depth+1) // stale elements past the length too
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			g.Fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		if depth >= maxDepth || r.IntN(5) == 0 {
			v.SetZero()
			return
		}
		m := reflect.MakeMap(v.Type())
		for range r.IntN(4) {
			k := reflect.New(v.Type().Key()).Elem()
			g.Fill(k, maxDepth)
			e := reflect.New(v.Type().Elem()).Elem()
			g.Fill(e, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				g.Fill(f, depth+1)
			} else if v.Type().Field(i).Anonymous && f.Kind() == reflect.Struct {
				// An unexported embedded struct: its exported fields.
				g.fillExported(f, depth+1)
			}
		}
	case reflect.Interface:
		if v.NumMethod() > 0 || depth >= maxDepth || r.IntN(3) == 0 {
			return
		}
		var x any
		switch r.IntN(5) {
		case 0:
			x = g.String()
		case 1:
			x = g.Float(64)
		case 2:
			x = r.IntN(2) == 0
		case 3:
			x = []any{g.String(), float64(r.IntN(100))}
		case 4:
			x = map[string]any{g.String(): g.String()}
		}
		v.Set(reflect.ValueOf(x))
	}
}

func (g *Gen) fillExported(v reflect.Value, depth int) {
	for i := range v.NumField() {
		if f := v.Field(i); f.CanSet() {
			g.Fill(f, depth)
		}
	}
}

// Float returns a float of the given size, often one at an edge of
// encoding/json's format switch, sometimes NaN or an infinity.
func (g *Gen) Float(bits int) float64 {
	r := g.Rand
	edges := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 1e21, 1e20, 123456789.125, 5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64}
	var f float64
	switch r.IntN(8) {
	case 0, 1:
		f = edges[r.IntN(len(edges))]
	case 2:
		e := edges[5+r.IntN(2)]
		if bits == 32 {
			f32 := float32(e)
			if r.IntN(2) == 0 {
				f32 = math.Nextafter32(f32, 0)
			} else {
				f32 = math.Nextafter32(f32, float32(math.Inf(1)))
			}
			return float64(f32)
		}
		f = math.Nextafter(e, math.Inf(r.IntN(2)*2-1))
	case 3:
		if r.IntN(10) == 0 && !g.Finite {
			return []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[r.IntN(3)]
		}
		f = float64(r.IntN(1000)) / 8
	case 4:
		f = math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0
		}
	default:
		f = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(60)-30))
	}
	if bits == 32 {
		if math.Abs(f) > math.MaxFloat32 {
			f = math.MaxFloat32
		}
		return float64(float32(f))
	}
	return f
}

var stringEdges = []string{
	"", "a", "Edgar", "<b>&amp;</b>", "\"quoted\" \\ back", "tab\tnew\nline\r", "\x00\x01\x1f\x7f",
	"\u2028\u2029", "é", "日本語", "😀", "\xff", "a\xc3", "\xed\xa0\x80", "\ufffd", "null", "1", "true",
	"{\"a\":1}", "\\u0041", "/", "K", "ſ",
}

// String returns a string, often one encoding/json escapes or repairs.
func (g *Gen) String() string {
	r := g.Rand
	if r.IntN(2) == 0 {
		return stringEdges[r.IntN(len(stringEdges))]
	}
	var b strings.Builder
	for range r.IntN(8) {
		switch r.IntN(6) {
		case 0:
			b.WriteByte(byte(r.IntN(256)))
		case 1:
			b.WriteRune(rune(r.IntN(0x3000)))
		default:
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.String()
}

// Time returns a time, in UTC or another zone, sometimes outside the years
// RFC 3339 can write (an encoding error).
func (g *Gen) Time() time.Time {
	r := g.Rand
	var t time.Time
	switch r.IntN(40) {
	case 0, 1, 2, 3:
		return time.Time{}
	case 4:
		t = time.Date(10000+r.IntN(10), 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		t = time.Unix(r.Int64N(1<<34)-1<<33, r.Int64N(1e9))
	}
	switch r.IntN(16) {
	case 0, 1, 2, 3, 4:
		return t.UTC()
	case 5, 6, 7, 8, 9:
		return t.In(time.FixedZone("", (r.IntN(48)-24)*1800))
	case 10:
		return t.In(time.FixedZone("X", 25*3600)) // an offset RFC 3339 cannot write
	}
	return t.UTC().Truncate(time.Second)
}

// literals are JSON values a mutation puts in place of another.
var literals = []string{
	`null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `1.5`, `1e2`, `1E+2`, `-1e-7`, `1e400`, `-1e400`,
	`127`, `128`, `-129`, `255`, `256`, `65536`, `4294967296`, `9223372036854775807`, `9223372036854775808`,
	`-9223372036854775809`, `18446744073709551615`, `18446744073709551616`, `3.4028235e38`, `3.5e38`,
	`""`, `"x"`, `"é"`, `"\u00e9"`, `"\ud800"`, `"\ud83d\ude00"`, `"\ud83d x"`, `"<&>"`, `"\u2028"`, `"a\/b"`,
	`"\"1\""`, `"null"`, `"nul"`, `"1"`, `"-1"`, `"01"`, `"+1"`, `" 1"`, `"1e2"`, `"0x1p-2"`, `"-Inf"`, `"1_0"`,
	`"true"`, `"false"`, `"tru"`, `"\"a\\'b\""`, `"\"\\u00e9\""`, `"\"a"`, `""`, `"AQID"`, `"AQI="`, `"AQI"`,
	`"2026-01-02T15:04:05Z"`, `"2026-01-02T15:04:05.123456789+01:00"`, `"2026-13-02T15:04:05Z"`,
	`"2026-01-02T15:04:05\u005a"`, `{}`, `[]`, `[1,2]`, `[null]`, `{"a":1}`, `[[]]`, `{"":null}`,
}

// Mutate returns a variant of data: a member dropped, repeated or renamed
// (in another case, by Unicode folding), a value replaced by another of any
// kind, an element added, or the text cut or changed at a byte.
func Mutate(r *rand.Rand, data []byte) []byte {
	if r.IntN(8) == 0 {
		return mutateBytes(r, data)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return mutateBytes(r, data)
	}
	root := toNode(tree)
	var nodes []*node
	var walk func(n *node)
	walk = func(n *node) {
		nodes = append(nodes, n)
		for _, c := range n.vals {
			walk(c)
		}
	}
	walk(root)
	var b strings.Builder
	root.write(r, &b, nodes[r.IntN(len(nodes))])
	return []byte(b.String())
}

// node is a JSON value: a scalar's text, an object's keys and values or an
// array's elements (keys nil).
type node struct {
	text   string
	object bool
	keys   []string
	vals   []*node
}

func toNode(v any) *node {
	switch x := v.(type) {
	case map[string]any:
		n := &node{object: true}
		for k := range x {
			n.keys = append(n.keys, k)
		}
		slices.Sort(n.keys)
		for _, k := range n.keys {
			n.vals = append(n.vals, toNode(x[k]))
		}
		return n
	case []any:
		n := &node{text: "["}
		for _, e := range x {
			n.vals = append(n.vals, toNode(e))
		}
		return n
	case json.Number:
		return &node{text: string(x)}
	}
	q, _ := json.Marshal(v)
	return &node{text: string(q)}
}

func mutateBytes(r *rand.Rand, data []byte) []byte {
	out := bytes.Clone(data)
	switch n := len(out); {
	case n == 0:
		return []byte(literals[r.IntN(len(literals))])
	case r.IntN(4) == 0:
		return out[:r.IntN(n)]
	case r.IntN(3) == 0:
		const junk = "{}[],:\"\\ 0-eE.ntfu\x00\xff"
		out[r.IntN(n)] = junk[r.IntN(len(junk))]
		return out
	case r.IntN(2) == 0:
		return append([]byte(" \t\n"), append(out, " \r\n"[r.IntN(3)])...)
	}
	return append(out, " x"...)
}

func (n *node) write(r *rand.Rand, b *strings.Builder, target *node) {
	mutate := n == target
	if mutate && r.IntN(3) == 0 {
		b.WriteString(literals[r.IntN(len(literals))])
		return
	}
	switch {
	case n.object:
		b.WriteByte('{')
		first := true
		key := func(k string) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			q, _ := json.Marshal(k)
			b.Write(q)
			b.WriteByte(':')
		}
		for i, k := range n.keys {
			if mutate {
				switch r.IntN(6) {
				case 0:
					continue // dropped
				case 1:
					key(otherCase(r, k))
					n.vals[i].write(r, b, target)
				case 2:
					// Repeated: the last one wins, or merges into the first.
					key(k)
					b.WriteString(literals[r.IntN(len(literals))])
				}
			}
			key(k)
			n.vals[i].write(r, b, target)
		}
		if mutate && r.IntN(2) == 0 {
			key("unknown")
			b.WriteString(literals[r.IntN(len(literals))])
		}
		b.WriteByte('}')
	case n.text == "[":
		b.WriteByte('[')
		for i, e := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			if mutate && r.IntN(4) == 0 {
				b.WriteString(literals[r.IntN(len(literals))])
				b.WriteByte(',')
			}
			e.write(r, b, target)
		}
		if mutate && r.IntN(3) == 0 {
			if len(n.vals) > 0 {
				b.WriteByte(',')
			}
			b.WriteString(literals[r.IntN(len(literals))])
		}
		b.WriteByte(']')
	default:
		b.WriteString(n.text)
	}
}

// otherCase returns key in another case, or with a rune replaced by one
// that Unicode folds to it (ſ for s, the Kelvin sign for k).
func otherCase(r *rand.Rand, key string) string {
	switch r.IntN(3) {
	case 0:
		return strings.ToUpper(key)
	case 1:
		return strings.ToLower(key)
	}
	var b strings.Builder
	for i, c := range key {
		switch {
		case (c == 's' || c == 'S') && r.IntN(2) == 0:
			b.WriteRune('ſ')
		case (c == 'k' || c == 'K') && r.IntN(2) == 0:
			b.WriteRune('\u212a')
		case i == 0:
			b.WriteString(strings.ToLower(string(c)))
		default:
			b.WriteRune(c)
		}
	}
	if !utf8.ValidString(b.String()) {
		return key
	}
	return b.String()
}
