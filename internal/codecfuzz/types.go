// Package codecfuzz holds payload types of every shape necrogen generates
// JSON codecs for, with their checked-in necro_gen.go, and the tests and
// fuzz targets that compare those codecs with encoding/json
// (internal/codeccheck). Its handlers do nothing: they make the types
// payloads.
package codecfuzz

//lint:file-ignore SA5008 the types exercise encoding/json's handling of odd tags on purpose
//lint:file-ignore U1000 unexported fields are there to show that codecs skip them

//go:generate go tool necrogen

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Scalars has a field of every basic kind.
type Scalars struct {
	B    bool
	I    int
	I8   int8
	I16  int16
	I32  int32
	I64  int64
	U    uint
	U8   uint8
	U16  uint16
	U32  uint32
	U64  uint64
	UP   uintptr
	F32  float32
	F64  float64
	S    string
	R    rune
	Byte byte
}

// Level is a named integer; Name a named string; Ratio a named float; Flag
// a named bool.
type (
	Level int16
	Name  string
	Ratio float32
	Flag  bool
	Blob  []byte
	Tags  []Name
)

// Tagged exercises json tags: names, "-", omitempty and omitzero on every
// kind, ",string", names encoding/json escapes or rejects.
type Tagged struct {
	Renamed    int               `json:"renamed"`
	Dropped    int               `json:"-"`
	Dash       int               `json:"-,"`
	HTML       string            `json:"a<b>&c"`
	Unicode    string            `json:"ñame"`
	Invalid    string            `json:"a\"b"`
	Empty      string            `json:",omitempty"`
	OmitInt    int               `json:"oi,omitempty"`
	OmitUint   uint8             `json:"ou,omitempty"`
	OmitFloat  float64           `json:"of,omitempty"`
	OmitBool   bool              `json:"ob,omitempty"`
	OmitSlice  []int             `json:"osl,omitempty"`
	OmitMap    map[string]int    `json:"om,omitempty"`
	OmitPtr    *int              `json:"op,omitempty"`
	OmitArray  [2]int            `json:"oa,omitempty"`
	OmitArray0 [0]int            `json:"oa0,omitempty"`
	OmitStruct Inner             `json:"os,omitempty"`
	OmitAny    any               `json:"oany,omitempty"`
	OmitTime   time.Time         `json:"ot,omitempty"`
	ZeroTime   time.Time         `json:"zt,omitzero"`
	ZeroPtr    *time.Time        `json:"zpt,omitzero"`
	ZeroInt    int               `json:"zi,omitzero"`
	ZeroFloat  float32           `json:"zf,omitzero"`
	ZeroSlice  []string          `json:"zs,omitzero"`
	ZeroCustom Celsius           `json:"zc,omitzero"`
	Both       string            `json:"both,omitempty,omitzero"`
	QInt       int               `json:"qi,string"`
	QUint      uint16            `json:"qu,string"`
	QFloat     float64           `json:"qf,string"`
	QFloat32   float32           `json:"qf32,string"`
	QBool      bool              `json:"qb,string"`
	QString    string            `json:"qs,string"`
	QName      Name              `json:"qn,string"`
	QPtr       *int              `json:"qp,string"`
	QPtrString *string           `json:"qps,string,omitempty"`
	QSlice     []int             `json:"qsl,string"` // ignored: not a scalar
	Level      Level             `json:"level"`
	Name       Name              `json:"name"`
	Ratio      Ratio             `json:"ratio"`
	Flag       Flag              `json:"flag"`
	Blob       Blob              `json:"blob"`
	Tags       Tags              `json:"tags"`
	Kelvin     int               `json:"k"`
	Long       int               `json:"s"`
	Other      map[Level]Name    `json:"other"`
	Nested     map[string][]bool `json:"nested"`
	unexported int
}

// Celsius has an IsZero method, which omitzero uses.
type Celsius float64

// IsZero reports whether c is absolute zero, not 0 °C.
func (c Celsius) IsZero() bool { return c == -273.15 }

// Inner is a nested struct.
type Inner struct {
	X, Y int
	Note string `json:"note,omitempty"`
}

// Containers holds pointers, slices, arrays and maps of everything.
type Containers struct {
	Ptr      *int
	PtrPtr   **string
	Bytes    []byte
	Bytes0   []byte
	Array    [3]byte
	Floats   []float64
	Matrix   [][]int
	Inners   []Inner
	InnerPtr *Inner
	PtrSlice []*Inner
	Arr      [2]Inner
	ByName   map[string]Inner
	ByInt    map[int8]string
	ByUint   map[uint64][]int
	ByLevel  map[Level]*Inner
	Times    []time.Time
	When     time.Time
	WhenPtr  *time.Time
	Duration time.Duration
	Number   json.Number
	Raw      json.RawMessage
	Any      any
	Anon     struct{ A, B int }
	Strs     map[Name]Tags
}

// Embedding exercises encoding/json's rules for embedded structs: promoted
// fields, an unexported embedded struct, embedded pointers, a name two
// embedded structs share at one depth (neither is encoded), and a tagged
// field that wins over an untagged one.
type Embedding struct {
	Base
	*Extra
	*hidden
	inner2
	Conflict1
	Conflict2
	Own   string
	Shade string `json:"Shade"`
}

// Base is embedded by value.
type Base struct {
	ID    string
	Shade int
	Deep
}

// Deep is embedded two levels down.
type Deep struct{ Depth int }

// Extra is embedded by pointer.
type Extra struct{ More []string }

type hidden struct{ Secret, Public string }

type inner2 struct {
	Visible int
	private int
}

// Conflict1 and Conflict2 both have Same, at the same depth: encoding/json
// drops it; Tagged wins because of its tag.
type Conflict1 struct {
	Same   int
	Tagged int `json:"Tagged"`
}

// Conflict2 is the other half of the conflict.
type Conflict2 struct {
	Same   int
	Tagged int
}

// Tree is recursive: a value can nest deeply (and could be a cycle).
type Tree struct {
	Label    string
	Children []Tree
	Next     *Tree
	ByName   map[string]*Tree
}

// Custom fields are left to encoding/json: their types have their own
// methods.
type Custom struct {
	Temp   Temp
	TempP  *Temp
	Temps  []Temp
	Key    map[Code]int
	Text   Code
	Upper  Upper
	Caps   map[string]Upper
	Number Level
}

// Temp has MarshalJSON and UnmarshalJSON.
type Temp struct{ Deg float64 }

// MarshalJSON writes the degrees as a string.
func (t Temp) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Repeat("°", 1) + json.Number(formatDeg(t.Deg)).String())
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Temp) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	s, ok := strings.CutPrefix(s, "°")
	if !ok {
		return errors.New("temp: no degree sign")
	}
	return json.Unmarshal([]byte(s), &t.Deg)
}

func formatDeg(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// Code is a text-marshalled type, usable as a map key.
type Code struct{ A, B byte }

// MarshalText writes the two bytes in hex.
func (c Code) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, []byte{c.A, c.B}), nil }

// UnmarshalText reads what MarshalText writes.
func (c *Code) UnmarshalText(b []byte) error {
	d, err := hex.DecodeString(string(b))
	if err != nil || len(d) != 2 {
		return errors.New("code: want four hex digits")
	}
	c.A, c.B = d[0], d[1]
	return nil
}

// Upper decodes itself only.
type Upper string

// UnmarshalJSON upper-cases the string.
func (u *Upper) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*u = Upper(strings.ToUpper(s))
	return nil
}

// Batch is a payload that is not a struct.
type Batch []Inner

// Counts is a map payload.
type Counts map[string]int

// Stamp is left to encoding/json entirely: it has its own MarshalJSON.
type Stamp struct{ At time.Time }

// MarshalJSON writes the Unix time.
func (s Stamp) MarshalJSON() ([]byte, error) { return json.Marshal(s.At.Unix()) }

// Settable has a field whose MarshalJSON has a pointer receiver, which
// encoding/json calls only when the value is addressable: the payload is
// left to encoding/json.
type Settable struct{ V PtrMarshal }

// PtrMarshal has MarshalJSON on its pointer only.
type PtrMarshal struct{ N int }

// MarshalJSON writes the number as a string.
func (p *PtrMarshal) MarshalJSON() ([]byte, error) { return json.Marshal(formatDeg(float64(p.N))) }

// PtrMarshals holds PtrMarshal behind slices, pointers and maps, where
// encoding/json's choice does not depend on the payload: those fields are
// left to encoding/json whole.
type PtrMarshals struct {
	List []PtrMarshal
	Ptr  *PtrMarshal
	Map  map[string]PtrMarshal
}

// Order is a realistic payload, for benchmarks.
type Order struct {
	ID       string            `json:"id"`
	Customer string            `json:"customer"`
	Lines    []OrderLine       `json:"lines"`
	Tags     map[string]string `json:"tags,omitempty"`
	Placed   time.Time         `json:"placed"`
	Note     *string           `json:"note,omitempty"`
	Total    float64           `json:"total"`
	Paid     bool              `json:"paid"`
}

// OrderLine is a line of an Order.
type OrderLine struct {
	SKU   string  `json:"sku"`
	Qty   int     `json:"qty"`
	Price float64 `json:"price"`
}
