package runtime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// This file holds what the JSON codecs necrogen generates for payload types
// call: JSONWriter and the Write helpers encode, JSONReader and the Read
// helpers decode. Generated code is the only intended caller; the contract
// of the pair is encoding/json's, byte for byte out and value for value in
// (see the README's "Wire codec").

// SupportPackageIsVersion2 is referenced by generated files that contain
// JSON codecs (JSONWriter, JSONReader and their helpers).
const SupportPackageIsVersion2 = true

// jsonAppender and jsonDecoder are the methods necrogen generates on a
// payload type. The runtime uses them instead of encoding/json when the type
// declares them itself (see ownCodec).
type jsonAppender interface {
	AppendNecroJSON(dst []byte) ([]byte, error)
}

type jsonDecoder interface {
	DecodeNecroJSON(data []byte) error
}

// codecInfo is what the runtime knows about a dynamic type's codec methods.
type codecInfo struct {
	own bool // its codec methods are its own, not promoted from an embedded field
	ptr bool // the type is a pointer
}

var codecInfos sync.Map // reflect.Type → codecInfo

// ownCodec reports whether t (or the type t points to) has codec methods of
// its own. A struct that embeds a type with a codec gets that codec's methods
// promoted, and they would encode only the embedded part; necrogen never
// generates a codec for such a struct, and the runtime never trusts one: it
// uses encoding/json for a type with any embedded field (at any depth) whose
// type has a codec method.
func ownCodec(t reflect.Type) codecInfo {
	if v, ok := codecInfos.Load(t); ok {
		return v.(codecInfo)
	}
	info := codecInfo{ptr: t.Kind() == reflect.Pointer}
	base := t
	if info.ptr {
		base = t.Elem()
	}
	info.own = !embedsCodec(base, map[reflect.Type]bool{})
	codecInfos.Store(t, info)
	return info
}

func embedsCodec(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t.Kind() != reflect.Struct || seen[t] {
		return false
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Anonymous {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		pt := reflect.PointerTo(ft)
		if _, ok := pt.MethodByName("AppendNecroJSON"); ok {
			return true
		}
		if _, ok := pt.MethodByName("DecodeNecroJSON"); ok {
			return true
		}
		if embedsCodec(ft, seen) {
			return true
		}
	}
	return false
}

// decodePayload decodes data into v with v's generated codec, or with
// encoding/json when it has none.
func decodePayload[T any](data []byte, v *T) error {
	if d, ok := any(v).(jsonDecoder); ok && ownCodec(reflect.TypeFor[T]()).own {
		return d.DecodeNecroJSON(data)
	}
	return json.Unmarshal(data, v)
}

// payloadBufSize is the capacity of the buffer a generated codec encodes a
// payload into: most payloads fit, so it is the only allocation.
const payloadBufSize = 128

// ownAppender returns p's generated codec, if it has one of its own and is
// not a nil pointer (which encodes as null).
func ownAppender(p any) (jsonAppender, bool) {
	a, ok := p.(jsonAppender)
	if !ok {
		return nil, false
	}
	info := ownCodec(reflect.TypeOf(p))
	if !info.own || info.ptr && reflect.ValueOf(p).IsNil() {
		return nil, false
	}
	return a, true
}

// encodePayload encodes p with its generated codec; ok is false when it has
// none.
func encodePayload(p any) (out []byte, ok bool, err error) {
	a, ok := ownAppender(p)
	if !ok {
		return nil, false, nil
	}
	out, err = a.AppendNecroJSON(make([]byte, 0, payloadBufSize))
	return out, true, err
}

// maxJSONDepth is encoding/json's limit on nested arrays and objects.
const maxJSONDepth = 10000

// maxPtrDepth is how deep a generated encoder of a recursive type goes before
// it hands the rest of the value to encoding/json, which detects pointer
// cycles (after the same depth) where the generated code would recurse
// without end.
const maxPtrDepth = 1000

// JSONWriter is the output of a generated encoder: it appends to a buffer and
// keeps the first error.
type JSONWriter struct {
	buf   []byte
	start int
	depth int
	err   error
}

// NewJSONWriter returns a writer that appends to dst.
func NewJSONWriter(dst []byte) JSONWriter { return JSONWriter{buf: dst, start: len(dst)} }

// End returns the buffer, or dst as it was given and the first error.
func (w *JSONWriter) End() ([]byte, error) {
	if w.err != nil {
		return w.buf[:w.start], w.err
	}
	return w.buf, nil
}

func (w *JSONWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Raw appends s as it is: punctuation and field names.
func (w *JSONWriter) Raw(s string) { w.buf = append(w.buf, s...) }

// Byte appends c.
func (w *JSONWriter) Byte(c byte) { w.buf = append(w.buf, c) }

// Len returns the length of the buffer.
func (w *JSONWriter) Len() int { return len(w.buf) }

// Comma appends a comma when something was written since Len returned n.
func (w *JSONWriter) Comma(n int) {
	if len(w.buf) > n {
		w.buf = append(w.buf, ',')
	}
}

// Null appends null.
func (w *JSONWriter) Null() { w.buf = append(w.buf, "null"...) }

// Bool appends true or false.
func (w *JSONWriter) Bool(v bool) { w.buf = strconv.AppendBool(w.buf, v) }

// Int appends a signed integer.
func (w *JSONWriter) Int(v int64) { w.buf = strconv.AppendInt(w.buf, v, 10) }

// Uint appends an unsigned integer.
func (w *JSONWriter) Uint(v uint64) { w.buf = strconv.AppendUint(w.buf, v, 10) }

// Float appends a float of the given size (32 or 64) as encoding/json does;
// NaN and infinities are an error.
func (w *JSONWriter) Float(v float64, bits int) {
	var ok bool
	if w.buf, ok = appendJSONFloat(w.buf, v, bits); !ok {
		w.fail(unsupportedFloat(v, bits))
	}
}

// String appends s as encoding/json does: <, > and & escaped, invalid UTF-8
// as U+FFFD, U+2028 and U+2029 escaped.
func (w *JSONWriter) String(s string) { w.buf = appendHTMLString(w.buf, s) }

// Bytes appends b in base64, or null for a nil slice.
func (w *JSONWriter) Bytes(b []byte) {
	if b == nil {
		w.Null()
		return
	}
	w.buf = append(w.buf, '"')
	w.buf = base64.StdEncoding.AppendEncode(w.buf, b)
	w.buf = append(w.buf, '"')
}

// Time appends t as its MarshalJSON method does.
func (w *JSONWriter) Time(t time.Time) {
	b, err := t.AppendText(append(w.buf, '"'))
	if err != nil {
		_, err = t.MarshalJSON() // for its message
		w.fail(&json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err})
		return
	}
	w.buf = append(b, '"')
}

// Value appends v encoded by encoding/json: what the generated codec leaves
// to it.
func (w *JSONWriter) Value(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.fail(err)
		return
	}
	w.buf = append(w.buf, b...)
}

// QuotedString appends s as a JSON string inside a JSON string (the
// ",string" tag option).
func (w *JSONWriter) QuotedString(s string) {
	var tmp [64]byte
	inner := appendHTMLString(tmp[:0], s)
	w.buf = appendString(w.buf, inner, false)
}

// QuotedBool appends "true" or "false".
func (w *JSONWriter) QuotedBool(v bool) {
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendBool(w.buf, v)
	w.buf = append(w.buf, '"')
}

// QuotedInt appends a signed integer in quotes: a ",string" field or a map key.
func (w *JSONWriter) QuotedInt(v int64) {
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendInt(w.buf, v, 10)
	w.buf = append(w.buf, '"')
}

// QuotedUint appends an unsigned integer in quotes: a ",string" field or a
// map key.
func (w *JSONWriter) QuotedUint(v uint64) {
	w.buf = append(w.buf, '"')
	w.buf = strconv.AppendUint(w.buf, v, 10)
	w.buf = append(w.buf, '"')
}

// QuotedFloat appends a float in quotes (a ",string" field).
func (w *JSONWriter) QuotedFloat(v float64, bits int) {
	n := len(w.buf)
	w.buf = append(w.buf, '"')
	var ok bool
	if w.buf, ok = appendJSONFloat(w.buf, v, bits); !ok {
		w.buf = w.buf[:n]
		w.fail(unsupportedFloat(v, bits))
		return
	}
	w.buf = append(w.buf, '"')
}

// Enter counts one level of a recursive type's encoder and reports whether it
// may go on; past maxPtrDepth the encoder hands its value to Value. Leave
// undoes Enter.
func (w *JSONWriter) Enter() bool {
	if w.depth >= maxPtrDepth {
		return false
	}
	w.depth++
	return true
}

// Leave ends what Enter began.
func (w *JSONWriter) Leave() { w.depth-- }

func unsupportedFloat(v float64, bits int) error {
	rv := reflect.ValueOf(v)
	if bits == 32 {
		rv = reflect.ValueOf(float32(v))
	}
	return &json.UnsupportedValueError{Value: rv, Str: strconv.FormatFloat(v, 'g', -1, bits)}
}

// appendJSONFloat is encoding/json's floatEncoder: 'f' format, or 'e' for
// magnitudes under 1e-6 or from 1e21 on, without a two-digit exponent.
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// htmlSafe marks the ASCII bytes encoding/json writes as they are in a string
// when it escapes HTML: all but control characters, ", \, <, > and &.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		switch c {
		case '"', '\\', '<', '>', '&':
		default:
			t[c] = true
		}
	}
	return t
}()

// safe is htmlSafe with <, > and & allowed.
var safe = func() (t [utf8.RuneSelf]bool) {
	t = htmlSafe
	t['<'], t['>'], t['&'] = true, true, true
	return t
}()

// appendHTMLString is encoding/json's appendString with HTML escaping.
func appendHTMLString(dst []byte, s string) []byte { return appendString(dst, s, true) }

// appendString is encoding/json's appendString.
func appendString[Bytes []byte | string](dst []byte, src Bytes, escapeHTML bool) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		if b := src[i]; b < utf8.RuneSelf {
			if htmlSafe[b] || (!escapeHTML && safe[b]) {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(src)-i, utf8.UTFMax)
		c, size := utf8.DecodeRuneInString(string(src[i : i+n]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, src[start:]...)
	return append(dst, '"')
}

// SortedKeys returns the keys of a map with string keys in the order
// encoding/json writes them.
func SortedKeys[M ~map[K]V, K ~string, V any](m M) []K {
	return slices.Sorted(maps.Keys(m))
}

// SortedIntKeys returns the keys of a map with signed integer keys in the
// order encoding/json writes them: by their decimal text.
func SortedIntKeys[M ~map[K]V, K ~int | ~int8 | ~int16 | ~int32 | ~int64, V any](m M) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b K) int {
		var x, y [24]byte
		return bytes.Compare(strconv.AppendInt(x[:0], int64(a), 10), strconv.AppendInt(y[:0], int64(b), 10))
	})
	return keys
}

// SortedUintKeys returns the keys of a map with unsigned integer keys in the
// order encoding/json writes them: by their decimal text.
func SortedUintKeys[M ~map[K]V, K ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr, V any](m M) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b K) int {
		var x, y [24]byte
		return bytes.Compare(strconv.AppendUint(x[:0], uint64(a), 10), strconv.AppendUint(y[:0], uint64(b), 10))
	})
	return keys
}

// JSONReader is the input of a generated decoder: it reads one JSON value,
// checking the grammar as encoding/json does, and keeps the first error. The
// Read helpers and its methods do nothing once it has one.
type JSONReader struct {
	p     envParser
	depth int
	err   error
	key   []byte
	fold  [48]byte
}

// NewJSONReader returns a reader of data.
func NewJSONReader(data []byte) JSONReader { return JSONReader{p: envParser{data: data}} }

// errJSONType is what a decoder records for a value of the wrong kind;
// End replaces it with encoding/json's own error.
type jsonTypeError struct {
	what   string
	offset int
}

func (e *jsonTypeError) Error() string {
	return fmt.Sprintf("json: cannot unmarshal %s (at offset %d)", e.what, e.offset)
}

type jsonSyntaxError struct {
	msg    string
	offset int
}

func (e *jsonSyntaxError) Error() string { return e.msg }

func (r *JSONReader) fail(err error) {
	if r.err != nil {
		return
	}
	var se syntaxError
	if errors.As(err, &se) {
		msg := string(se)
		if msg == "unexpected end of input" {
			msg = "unexpected end of JSON input"
		}
		err = &jsonSyntaxError{msg: msg, offset: r.p.pos}
	}
	r.err = err
}

func (r *JSONReader) typeError(what string) {
	r.fail(&jsonTypeError{what: what, offset: r.p.pos})
}

// End checks that nothing but white space follows the value. On an error it
// returns encoding/json's error for the same input and target v, so that the
// generated decoder fails exactly as json.Unmarshal does.
func (r *JSONReader) End(v any) error {
	if r.err == nil {
		r.p.ws()
		if r.p.pos < len(r.p.data) {
			r.fail(r.p.errAt("after top-level value"))
		}
	}
	if r.err == nil {
		return nil
	}
	if err := json.Unmarshal(r.p.data, v); err != nil {
		return err
	}
	return r.err
}

// EndNull ends the decoding of a payload that is null where a struct is
// expected: as End, then NullPayloadError when End found nothing wrong.
func (r *JSONReader) EndNull(v any, typeName string) error {
	if err := r.End(v); err != nil {
		return err
	}
	return NullPayloadError(typeName)
}

// NullPayloadError is the error of a generated decoder given null where its
// struct payload type (named as pkg.Type) is expected.
func NullPayloadError(typeName string) error {
	return fmt.Errorf("payload is null, want a JSON object for %s: %w", typeName, ErrPayloadType)
}

// Null reports whether the next value is null, and reads it if so. After an
// error it returns true, so that the caller reads nothing more.
func (r *JSONReader) Null() bool {
	if r.err != nil {
		return true
	}
	r.p.ws()
	if r.p.pos < len(r.p.data) && r.p.data[r.p.pos] == 'n' {
		if err := r.p.literal("null"); err != nil {
			r.fail(err)
		}
		return true
	}
	return false
}

// kind names the JSON value at c as encoding/json's errors do.
func kind(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	}
	return "number"
}

// peek skips white space and returns the next byte; ok is false after an
// error or at the end of the input, which is then an error.
func (r *JSONReader) peek() (byte, bool) {
	if r.err != nil {
		return 0, false
	}
	r.p.ws()
	if r.p.pos >= len(r.p.data) {
		r.fail(syntaxError("unexpected end of input"))
		return 0, false
	}
	return r.p.data[r.p.pos], true
}

// mismatch skips a value of the wrong kind and records a type error.
func (r *JSONReader) mismatch(c byte) {
	at := r.p.pos
	r.skipValue()
	if r.err == nil {
		r.fail(&jsonTypeError{what: kind(c), offset: at})
	}
}

// BeginObject begins reading an object; it returns false (having read the
// value) for null, for a value of another kind (an error) and after an error.
func (r *JSONReader) BeginObject() bool { return r.begin('{') }

// BeginArray begins reading an array, as BeginObject an object.
func (r *JSONReader) BeginArray() bool { return r.begin('[') }

func (r *JSONReader) begin(open byte) bool {
	c, ok := r.peek()
	switch {
	case !ok:
		return false
	case c == open:
		if r.depth >= maxJSONDepth {
			r.fail(syntaxError("exceeded max depth"))
			return false
		}
		r.depth++
		r.p.pos++
		return true
	case c == 'n':
		r.Null()
		return false
	}
	r.mismatch(c)
	return false
}

// NextKey reads the key of the i-th member of an object (from 0) and the colon
// after it, or the end of the object, when it returns false.
func (r *JSONReader) NextKey(i int) bool {
	if !r.next(i, '}', "after object key:value pair") {
		return false
	}
	r.p.ws()
	if r.p.pos >= len(r.p.data) || r.p.data[r.p.pos] != '"' {
		r.fail(r.p.errAt("looking for beginning of object key string"))
		return false
	}
	key, err := r.p.str()
	if err != nil {
		r.fail(err)
		return false
	}
	r.p.ws()
	if r.p.pos >= len(r.p.data) || r.p.data[r.p.pos] != ':' {
		r.fail(r.p.errAt("after object key"))
		return false
	}
	r.p.pos++
	r.key = key
	return true
}

// next reads what comes before the i-th member or element of an object or
// array (from 0): nothing or a comma; or its end, when it returns false.
func (r *JSONReader) next(i int, closing byte, after string) bool {
	c, ok := r.peek()
	switch {
	case !ok:
		return false
	case c == closing:
		r.p.pos++
		r.depth--
		return false
	case i == 0:
		return true
	case c == ',':
		r.p.pos++
		return true
	}
	r.fail(r.p.errAt(after))
	return false
}

// Fields is the table of the JSON names of a struct's fields that a
// generated decoder matches keys against, as encoding/json does: exactly
// first, then folded (ASCII letters in upper case, other runes as the
// smallest rune of their Unicode fold set), where the first field whose
// folded name matches takes the key. Build it once, with NewFields.
type Fields struct {
	names  []string
	folded []string // "" where an earlier field has the same folded name
}

// NewFields returns the table of names, given in the struct's field order.
func NewFields(names ...string) *Fields {
	t := &Fields{names: names, folded: make([]string, len(names))}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		f := string(fold(nil, []byte(n)))
		if !seen[f] {
			seen[f] = true
			t.folded[i] = f
		}
	}
	return t
}

// Field returns which field of t (from 1) the key NextKey read names, or 0
// when none does.
func (r *JSONReader) Field(t *Fields) int {
	for i, n := range t.names {
		if string(r.key) == n {
			return i + 1
		}
	}
	k := r.FoldedKey()
	for i, f := range t.folded {
		if f != "" && string(k) == f {
			return i + 1
		}
	}
	return 0
}

// Key returns the key NextKey read. It is valid until the next string is read.
func (r *JSONReader) Key() []byte { return r.key }

// FoldedKey returns the key NextKey read folded as encoding/json folds names
// to match them without regard to case: ASCII letters in upper case, other
// runes as the smallest rune of their Unicode fold set.
func (r *JSONReader) FoldedKey() []byte {
	return fold(r.fold[:0], r.key)
}

// fold appends in, folded as encoding/json folds names, to out.
func fold(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		c, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(c))
		i += n
	}
	return out
}

func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// NextElem reads what comes before the i-th element of an array (from 0):
// nothing or a comma; or the end of the array, when it returns false.
func (r *JSONReader) NextElem(i int) bool { return r.next(i, ']', "after array element") }

// Skip reads a value and ignores it: a member of an object that no field
// takes, an element past the end of an array.
func (r *JSONReader) Skip() {
	if _, ok := r.peek(); ok {
		r.skipValue()
	}
}

func (r *JSONReader) skipValue() {
	if err := r.p.skip(r.depth); err != nil {
		r.fail(err)
	}
}

// raw reads a value and returns its text.
func (r *JSONReader) raw() ([]byte, bool) {
	if _, ok := r.peek(); !ok {
		return nil, false
	}
	start := r.p.pos
	r.skipValue()
	if r.err != nil {
		return nil, false
	}
	return r.p.data[start:r.p.pos], true
}

// CannotSet records the error of a member for a field behind a nil embedded
// pointer to an unexported struct type, which encoding/json cannot allocate.
func (r *JSONReader) CannotSet() {
	r.fail(errors.New("json: cannot set embedded pointer to unexported struct"))
}

// Time decodes a time.Time with its UnmarshalJSON method, as encoding/json
// does (null leaves it as it is).
func (r *JSONReader) Time(v *time.Time) {
	if raw, ok := r.raw(); ok {
		if err := v.UnmarshalJSON(raw); err != nil {
			r.fail(err)
		}
	}
}

// Value decodes into v (a pointer) with encoding/json: what the generated
// codec leaves to it.
func (r *JSONReader) Value(v any) {
	if raw, ok := r.raw(); ok {
		if err := json.Unmarshal(raw, v); err != nil {
			r.fail(err)
		}
	}
}

// literal reads a number, string or boolean for a scalar of the given kind
// (the first byte it takes: '0' for numbers, '"' or 't'); null is read and
// gives false, as does a value of another kind (an error).
func (r *JSONReader) literal(want byte) ([]byte, bool) {
	c, ok := r.peek()
	if !ok {
		return nil, false
	}
	switch {
	case c == 'n':
		r.Null()
		return nil, false
	case want == '0' && (c == '-' || c >= '0' && c <= '9'):
		start := r.p.pos
		if err := r.p.number(); err != nil {
			r.fail(err)
			return nil, false
		}
		return r.p.data[start:r.p.pos], true
	case want == '"' && c == '"':
		s, err := r.p.str()
		if err != nil {
			r.fail(err)
			return nil, false
		}
		return s, true
	case want == 't' && (c == 't' || c == 'f'):
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		start := r.p.pos
		if err := r.p.literal(lit); err != nil {
			r.fail(err)
			return nil, false
		}
		return r.p.data[start:r.p.pos], true
	}
	r.mismatch(c)
	return nil, false
}

// ReadString decodes a JSON string into v; null leaves v as it is.
func ReadString[T ~string](r *JSONReader, v *T) {
	if s, ok := r.literal('"'); ok {
		*v = T(s)
	}
}

// ReadBool decodes true or false into v; null leaves v as it is.
func ReadBool[T ~bool](r *JSONReader, v *T) {
	if s, ok := r.literal('t'); ok {
		*v = s[0] == 't'
	}
}

// ReadInt decodes a JSON number into v: an integer that fits, else an error.
func ReadInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](r *JSONReader, v *T) {
	if s, ok := r.literal('0'); ok {
		n, ok := parseJSONInt(s)
		if !ok || int64(T(n)) != n {
			r.typeError("number " + string(s))
			return
		}
		*v = T(n)
	}
}

// ReadUint decodes a JSON number into v: an integer that fits, else an error.
func ReadUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](r *JSONReader, v *T) {
	if s, ok := r.literal('0'); ok {
		n, ok := parseJSONUint(s)
		if !ok || uint64(T(n)) != n {
			r.typeError("number " + string(s))
			return
		}
		*v = T(n)
	}
}

// ReadFloat decodes a JSON number into v, an error out of its range.
func ReadFloat[T ~float32 | ~float64](r *JSONReader, v *T) {
	if s, ok := r.literal('0'); ok {
		n, err := strconv.ParseFloat(string(s), int(unsafe.Sizeof(*v))*8)
		if err != nil {
			r.typeError("number " + string(s))
			return
		}
		*v = T(n)
	}
}

// parseJSONInt is strconv.ParseInt(s, 10, 64) for s in JSON's number grammar.
func parseJSONInt(s []byte) (int64, bool) {
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	u, ok := parseJSONUint(s)
	switch {
	case !ok:
		return 0, false
	case neg && u <= 1<<63:
		return -int64(u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// parseJSONUint is strconv.ParseUint(s, 10, 64) for s in JSON's number grammar.
func parseJSONUint(s []byte) (uint64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > math.MaxUint64/10 {
			return 0, false
		}
		n1 := n*10 + uint64(c-'0')
		if n1 < n {
			return 0, false
		}
		n = n1
	}
	return n, true
}

// ReadBytes decodes a []byte as encoding/json does: base64 in a string, or
// an array of numbers; null gives nil.
func ReadBytes[S ~[]byte](r *JSONReader, v *S) {
	c, ok := r.peek()
	switch {
	case !ok:
	case c == 'n':
		r.Null()
		*v = nil
	case c == '"':
		s, err := r.p.str()
		if err != nil {
			r.fail(err)
			return
		}
		b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(b, s)
		if err != nil {
			r.fail(err)
			return
		}
		*v = b[:n]
	case c == '[':
		r.BeginArray()
		i := 0
		for ; r.NextElem(i); i++ {
			ReadUint(r, SliceElem(v, i))
		}
		SliceEnd(v, i)
	default:
		r.mismatch(c)
	}
}

// quoted reads the string around a ",string" field's value and returns its
// content; null gives false, as does anything but a string (an error).
func (r *JSONReader) quoted() ([]byte, bool) {
	c, ok := r.peek()
	switch {
	case !ok:
		return nil, false
	case c == 'n':
		r.Null()
		return nil, false
	case c == '"':
		s, err := r.p.str()
		if err != nil {
			r.fail(err)
			return nil, false
		}
		return s, true
	}
	at := r.p.pos
	r.skipValue()
	r.fail(&jsonTypeError{what: "unquoted value (a \",string\" field)", offset: at})
	return nil, false
}

func (r *JSONReader) invalidQuoted(s []byte) {
	r.fail(fmt.Errorf("json: invalid use of ,string struct tag, trying to unmarshal %q", s))
}

// QuotedNull reports whether a ",string" field's value is null or the
// string "null", which make a pointer field nil, and reads it if so.
func (r *JSONReader) QuotedNull() bool {
	c, ok := r.peek()
	switch {
	case !ok:
		return true
	case c == 'n':
		r.Null()
		return true
	case c == '"':
		save := r.p.pos
		s, err := r.p.str()
		if err != nil {
			r.fail(err)
			return true
		}
		if string(s) == "null" {
			return true
		}
		r.p.pos = save
	}
	return false
}

// ReadQuotedString decodes a ",string" string field: a JSON string holding a
// JSON string ("null" leaves v as it is).
func ReadQuotedString[T ~string](r *JSONReader, v *T) {
	s, ok := r.quoted()
	if !ok {
		return
	}
	switch {
	case string(s) == "null":
	case len(s) > 0 && s[0] == '"':
		t, ok := unquoteBytes(s)
		if !ok {
			r.invalidQuoted(s)
			return
		}
		*v = T(t)
	default:
		r.invalidQuoted(s)
	}
}

// ReadQuotedBool decodes a ",string" bool field: "true" or "false".
func ReadQuotedBool[T ~bool](r *JSONReader, v *T) {
	if s, ok := r.quoted(); ok {
		switch string(s) {
		case "null":
		case "true":
			*v = true
		case "false":
			*v = false
		default:
			r.invalidQuoted(s)
		}
	}
}

// quotedNumber returns the text of a ",string" number field, or false for
// "null" and for text that does not start like a number (an error).
func (r *JSONReader) quotedNumber() ([]byte, bool) {
	s, ok := r.quoted()
	switch {
	case !ok || string(s) == "null":
		return nil, false
	case len(s) == 0 || s[0] != '-' && (s[0] < '0' || s[0] > '9'):
		r.invalidQuoted(s)
		return nil, false
	}
	return s, true
}

// ReadQuotedInt decodes a ",string" signed integer field.
func ReadQuotedInt[T ~int | ~int8 | ~int16 | ~int32 | ~int64](r *JSONReader, v *T) {
	if s, ok := r.quotedNumber(); ok {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || int64(T(n)) != n {
			r.typeError("number " + string(s))
			return
		}
		*v = T(n)
	}
}

// ReadQuotedUint decodes a ",string" unsigned integer field.
func ReadQuotedUint[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr](r *JSONReader, v *T) {
	if s, ok := r.quotedNumber(); ok {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil || uint64(T(n)) != n {
			r.typeError("number " + string(s))
			return
		}
		*v = T(n)
	}
}

// ReadQuotedFloat decodes a ",string" float field.
func ReadQuotedFloat[T ~float32 | ~float64](r *JSONReader, v *T) {
	if s, ok := r.quotedNumber(); ok {
		bits := int(unsafe.Sizeof(*v)) * 8
		n, err := strconv.ParseFloat(string(s), bits)
		if err != nil || bits == 32 && overflowFloat32(n) {
			r.typeError("number " + string(s))
			return
		}
		*v = T(n)
	}
}

// overflowFloat32 is reflect.Value.OverflowFloat for a float32.
func overflowFloat32(x float64) bool {
	if x < 0 {
		x = -x
	}
	return math.MaxFloat32 < x && x <= math.MaxFloat64
}

// unquoteBytes is encoding/json's unquoteBytes: s must be a quoted JSON
// string, escapes are decoded (and \' accepted), invalid UTF-8 becomes U+FFFD.
func unquoteBytes(s []byte) (t []byte, ok bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return
	}
	s = s[1 : len(s)-1]
	b := make([]byte, 0, len(s)+2*utf8.UTFMax)
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return
			}
			switch s[r] {
			default:
				return
			case '"', '\\', '/', '\'':
				b = append(b, s[r])
				r++
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				r--
				rr := getu4(s[r:])
				if rr < 0 {
					return
				}
				r += 6
				if utf16IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16Decode(rr, rr1); dec != utf8.RuneError {
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
			}
		case c == '"', c < ' ':
			return
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b, true
}

// getu4 decodes \uXXXX from the beginning of s, returning the hex value, or
// it returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// Alloc returns *p, first setting it to a new T if it is nil: decoding into
// a pointer reuses what it points to, as encoding/json does.
func Alloc[T any](p **T) *T {
	if *p == nil {
		*p = new(T)
	}
	return *p
}

// SliceElem returns the i-th element of *s to decode into, growing *s as
// encoding/json does: within its capacity the old element is reused.
func SliceElem[S ~[]E, E any](s *S, i int) *E {
	if i >= len(*s) {
		if i < cap(*s) {
			*s = (*s)[:i+1]
		} else {
			var zero E
			*s = append(*s, zero)
		}
	}
	return &(*s)[i]
}

// SliceEnd cuts *s to the n elements decoded; an empty array gives an empty
// slice that is not nil.
func SliceEnd[S ~[]E, E any](s *S, n int) {
	if n < len(*s) {
		*s = (*s)[:n]
	}
	if n == 0 {
		*s = S{}
	}
}

// ClearFrom zeroes s[i:]: the elements of an array that a shorter JSON array
// did not set.
func ClearFrom[E any](s []E, i int) {
	if i < len(s) {
		clear(s[i:])
	}
}

// MakeMap makes *m if it is nil.
func MakeMap[M ~map[K]V, K comparable, V any](m *M) {
	if *m == nil {
		*m = make(M)
	}
}

// ZeroElem returns the zero value of m's elements, to decode an element into
// before it is stored.
func ZeroElem[M ~map[K]V, K comparable, V any](M) (v V) { return }

// StringKey returns the key NextKey read as a key of m.
func StringKey[M ~map[K]V, K ~string, V any](_ M, r *JSONReader) K { return K(r.key) }

// IntKey returns the key NextKey read as a signed integer key of m, as
// strconv.ParseInt reads it; one that is not, or does not fit, is an error.
func IntKey[M ~map[K]V, K ~int | ~int8 | ~int16 | ~int32 | ~int64, V any](_ M, r *JSONReader) K {
	n, err := strconv.ParseInt(string(r.key), 10, 64)
	if err != nil || int64(K(n)) != n {
		r.typeError("number " + string(r.key) + " (an object key)")
		return 0
	}
	return K(n)
}

// UintKey returns the key NextKey read as an unsigned integer key of m.
func UintKey[M ~map[K]V, K ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr, V any](_ M, r *JSONReader) K {
	n, err := strconv.ParseUint(string(r.key), 10, 64)
	if err != nil || uint64(K(n)) != n {
		r.typeError("number " + string(r.key) + " (an object key)")
		return 0
	}
	return K(n)
}

// IsEmptyFloat reports whether encoding/json's omitempty leaves out a float
// field holding f, and IsZeroFloat whether its omitzero does: 0, and -0 as
// the toolchain's encoding/json (through reflect.Value.IsZero) decides,
// which this package asks it once.
func IsEmptyFloat(f float64) bool { return f == 0 && (!math.Signbit(f) || negZeroEmpty) }

// IsZeroFloat: see IsEmptyFloat.
func IsZeroFloat(f float64) bool { return f == 0 && (!math.Signbit(f) || negZeroZero) }

var negZeroEmpty, negZeroZero = func() (bool, bool) {
	negZero := math.Copysign(0, -1)
	empty, _ := json.Marshal(struct {
		F float64 `json:",omitempty"`
	}{negZero})
	zero, _ := json.Marshal(struct {
		F float64 `json:",omitzero"`
	}{negZero})
	return string(empty) == "{}", string(zero) == "{}"
}()
