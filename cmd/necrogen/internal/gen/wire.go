package gen

import (
	"fmt"
	"go/token"
	"go/types"
	"reflect"
	"strings"
)

// checkWire reports, for every payload type of the package (those of other
// packages are checked where they are declared), what would not survive the
// trip through JSON that the Redis backend makes while the memory backend
// passes the Go value as it is: an error where a field cannot be encoded (or
// decoded) at all, a warning where data is dropped or comes back as another
// type. Each is reported at the field (or the nearest declaration in this
// package on the way to it), once, with the path from its payload type.
func checkWire(m *pkgModel, d *diags) {
	w := &wireChecker{pkg: m.Types, d: d, seen: map[types.Type]bool{}}
	for _, e := range m.Events {
		if e.Type != nil && !m.foreign(e) {
			w.walk(e.Type.Type(), wirePath{payload: e.Type.Name(), pos: e.Type.Pos()})
		}
	}
}

type wireChecker struct {
	pkg  *types.Package
	d    *diags
	seen map[types.Type]bool // named types already walked, from any payload
}

// wirePath is where the walk is: the payload type, the fields on the way
// ("Lines[].Note") and the nearest position in this package.
type wirePath struct {
	payload string
	fields  string
	pos     token.Pos
}

func (p wirePath) field(name string, pos token.Pos, local bool) wirePath {
	if p.fields != "" {
		name = p.fields + "." + name
	}
	if !local {
		pos = p.pos
	}
	return wirePath{payload: p.payload, fields: name, pos: pos}
}

func (p wirePath) elem(suffix string) wirePath {
	p.fields += suffix
	return p
}

// what names the place for a message: "payload type Job" or "field Lines[].Note of payload type Job".
func (p wirePath) what() string {
	if p.fields == "" {
		return "payload type " + p.payload
	}
	return "field " + p.fields + " of payload type " + p.payload
}

const dropped = "the memory backend keeps it, but JSON (the Redis backend) drops it"

func (w *wireChecker) errorf(p wirePath, format string, args ...any) {
	w.d.errorf(p.pos, "%s %s", p.what(), fmt.Sprintf(format, args...))
}

func (w *wireChecker) warnf(p wirePath, format string, args ...any) {
	w.d.warnf(p.pos, "%s %s", p.what(), fmt.Sprintf(format, args...))
}

func (w *wireChecker) walk(t types.Type, p wirePath) {
	if named, ok := t.(*types.Named); ok {
		if w.seen[named] {
			return
		}
		w.seen[named] = true
		if w.customCodec(named, p) {
			return
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch {
		case u.Info()&types.IsComplex != 0:
			w.errorf(p, "is %s, which JSON cannot encode: sending the event on the Redis backend would fail; use two floats", types.TypeString(t, types.RelativeTo(w.pkg)))
		case u.Kind() == types.UnsafePointer:
			w.errorf(p, "is an unsafe.Pointer, which JSON cannot encode: sending the event on the Redis backend would fail")
		}
	case *types.Chan:
		w.errorf(p, "is a channel, which JSON cannot encode: sending the event on the Redis backend would fail; keep channels out of payloads")
	case *types.Signature:
		w.errorf(p, "is a function, which JSON cannot encode: sending the event on the Redis backend would fail; keep functions out of payloads")
	case *types.Interface:
		if u.NumMethods() == 0 {
			w.warnf(p, "is an interface (%s): the memory backend keeps the Go type of its value, but from JSON (the Redis backend) it comes back as map[string]any, []any, float64, string, bool or nil", types.TypeString(t, types.RelativeTo(w.pkg)))
		} else {
			w.errorf(p, "is an interface (%s), which JSON can encode but not decode into: the Redis backend would fail on every event where it is set; use a concrete type", types.TypeString(t, types.RelativeTo(w.pkg)))
		}
	case *types.Pointer:
		w.walk(u.Elem(), p)
	case *types.Slice:
		w.walk(u.Elem(), p.elem("[]"))
	case *types.Array:
		w.walk(u.Elem(), p.elem("[]"))
	case *types.Map:
		if !jsonKey(u.Key()) {
			w.errorf(p, "is a map with keys of type %s, which JSON cannot encode as object keys (it takes strings, integers and encoding.TextMarshaler types): sending the event on the Redis backend would fail", types.TypeString(u.Key(), types.RelativeTo(w.pkg)))
		}
		w.walk(u.Elem(), p.elem("[]"))
	case *types.Struct:
		w.fields(u, p)
	}
}

// fields walks the fields of a struct as encoding/json sees them.
func (w *wireChecker) fields(s *types.Struct, p wirePath) {
	byJSON := map[string][]*types.Var{} // JSON name → the direct fields that have it
	var names []string
	for i := range s.NumFields() {
		f := s.Field(i)
		local := f.Pkg() == w.pkg
		fp := p.field(f.Name(), f.Pos(), local)
		if isInvalid(f.Type()) {
			continue
		}
		name, dashField := jsonName(s.Tag(i))
		switch {
		case name == "-" && !dashField:
			w.warnf(fp, "is tagged json:\"-\": %s", dropped)
			continue
		case f.Embedded() && name == "":
			if st, ok := deref(f.Type()).Underlying().(*types.Struct); ok {
				// Its fields are promoted, exported or not.
				if named, ok := deref(f.Type()).(*types.Named); ok {
					if w.seen[named] {
						continue
					}
					w.seen[named] = true
				}
				w.fields(st, fp)
				continue
			}
			if !f.Exported() {
				w.warnf(fp, "is unexported: %s", dropped)
				continue
			}
		case !f.Exported():
			w.warnf(fp, "is unexported: %s", dropped)
			continue
		}
		if name == "" {
			name = f.Name()
		}
		if len(byJSON[name]) == 0 {
			names = append(names, name)
		}
		byJSON[name] = append(byJSON[name], f)
		w.walk(f.Type(), fp)
	}
	for _, name := range names {
		if fs := byJSON[name]; len(fs) > 1 {
			var list []string
			for _, f := range fs {
				list = append(list, f.Name())
			}
			w.warnf(p.field(fs[len(fs)-1].Name(), fs[len(fs)-1].Pos(), fs[len(fs)-1].Pkg() == w.pkg),
				"has the JSON name %q, as %s do: JSON (the Redis backend) keeps at most one of them, the memory backend all", name, andList(list))
		}
	}
}

// customCodec reports whether a named type encodes itself (MarshalJSON or
// MarshalText declared on it, not inherited), warning when it cannot decode
// what it encodes, and when a struct inherits its encoder from an embedded
// field (the way embedding time.Time swallows every other field).
func (w *wireChecker) customCodec(named *types.Named, p wirePath) bool {
	enc, encPromoted := method(named, "MarshalJSON", "MarshalText")
	dec, _ := method(named, "UnmarshalJSON", "UnmarshalText")
	switch {
	case enc == "":
		return false
	case encPromoted:
		return w.customCodecPromoted(named, p)
	case dec == "":
		w.warnf(p, "has a %s method but no UnmarshalJSON or UnmarshalText: JSON (the Redis backend) decodes it by the default rules, which may not read back what %s wrote", enc, enc)
	}
	return true
}

// customCodecPromoted warns about a struct whose JSON encoder is promoted
// from an embedded field, and reports whether it has one.
func (w *wireChecker) customCodecPromoted(named *types.Named, p wirePath) bool {
	st, ok := named.Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for _, ptr := range []bool{false, true} {
		var t types.Type = named
		if ptr {
			t = types.NewPointer(named)
		}
		for _, name := range []string{"MarshalJSON", "MarshalText"} {
			sel := types.NewMethodSet(t).Lookup(nil, name)
			if sel == nil || len(sel.Index()) < 2 {
				continue
			}
			f := st.Field(sel.Index()[0])
			var others []string
			for i := range st.NumFields() {
				if i != sel.Index()[0] && st.Field(i).Exported() {
					others = append(others, st.Field(i).Name())
				}
			}
			fp := p.field(f.Name(), f.Pos(), f.Pkg() == w.pkg)
			drops := "the whole value"
			if len(others) > 0 {
				drops = "the other fields (" + strings.Join(others, ", ") + ")"
			}
			w.warnf(fp, "is embedded and its %s method is promoted: JSON (the Redis backend) encodes only %s and drops %s, which the memory backend keeps; give the field a name", name, types.TypeString(f.Type(), types.RelativeTo(w.pkg)), drops)
			return true
		}
	}
	return false
}

// method returns which of the named methods t or *t has, and whether it is
// promoted from an embedded field.
func method(t *types.Named, names ...string) (string, bool) {
	ms := types.NewMethodSet(types.NewPointer(t))
	for _, name := range names {
		if sel := ms.Lookup(nil, name); sel != nil {
			return name, len(sel.Index()) > 1
		}
	}
	return "", false
}

// jsonKey reports whether encoding/json can use values of t as object keys.
func jsonKey(t types.Type) bool {
	if b, ok := t.Underlying().(*types.Basic); ok && b.Info()&(types.IsString|types.IsInteger) != 0 {
		return true
	}
	if named, ok := t.(*types.Named); ok {
		if m, _ := method(named, "MarshalText"); m != "" {
			return true
		}
	}
	return false
}

// jsonName returns the name in a field's json tag, and whether the tag is
// the "-," form that names a field "-" rather than leaving it out.
func jsonName(tag string) (name string, dashField bool) {
	v, ok := reflect.StructTag(tag).Lookup("json")
	if !ok {
		return "", false
	}
	name, _, comma := strings.Cut(v, ",")
	return name, name == "-" && comma
}

func deref(t types.Type) types.Type {
	if p, ok := t.(*types.Pointer); ok {
		return p.Elem()
	}
	return t
}
