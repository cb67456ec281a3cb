package gen

import (
	"fmt"
	"go/types"
	"strings"
	"unicode"

	"github.com/dave/jennifer/jen"
)

// nameCodecs chooses the package-level names of the codec functions.
func nameCodecs(p *codecPlan, pkgScope namespace) {
	if p == nil {
		return
	}
	for _, s := range p.structs {
		name := exportName(s.named.Obj().Name())
		s.appendFn = pkgScope.fresh("necroAppend" + name)
		s.readFn = pkgScope.fresh("necroRead" + name)
		s.fieldsVar = pkgScope.fresh("necroFields" + name)
	}
}

// The local names of codec functions. They cannot clash: a codec function
// refers to nothing at package level but the runtime import (whose name is
// never one of these), the codec functions (named necro...) and the type
// of its parameter, which is out of the parameters' scope.
const (
	cw    = "w"    // the *runtime.JSONWriter
	cr    = "r"    // the *runtime.JSONReader
	cp    = "p"    // the value: the receiver, or a pointer to it
	cdst  = "dst"  // AppendNecroJSON's buffer
	cdata = "data" // DecodeNecroJSON's input
	cn    = "n"    // the writer's length after an object's {
	cf    = "f"    // the field a key selects
	ci    = "i"    // the member of an object being read
)

// codecs writes the JSON codecs of the package's payload types: their
// methods, then the functions of the struct types they contain.
func (e *emitter) codecs() {
	p := e.m.codecs
	if p.empty() {
		return
	}
	e.f.Line()
	e.f.Comment("JSON codecs of the payload types: encoding/json's encoding and decoding, without")
	e.f.Comment("reflection. The runtime uses them on the wire (runtime.Payload, Event.AppendJSON).")
	for _, s := range p.skipped {
		e.f.Comment(fmt.Sprintf("%s has no generated codec, so encoding/json encodes and decodes it: %s.", s.typ.Name(), s.reason))
	}
	e.f.Const().Id("_").Op("=").Add(e.rt("SupportPackageIsVersion2"))
	for _, pc := range p.payloads {
		e.payloadCodec(pc)
	}
	for _, s := range p.structs {
		e.structEncoder(s)
		e.structDecoder(s)
	}
}

func (e *emitter) payloadCodec(pc *payloadCodec) {
	tn := pc.typ.Name()
	w, r, p := jen.Id(cw), jen.Id(cr), jen.Id(cp)
	e.f.Line()
	e.f.Comment(appendMethod + " appends the JSON encoding of the payload to dst: what json.Marshal")
	e.f.Comment("returns for it, byte for byte. After an error it returns dst as it was.")
	e.f.Func().Params(p.Clone().Id(tn)).Id(appendMethod).Params(jen.Id(cdst).Index().Byte()).Params(jen.Index().Byte(), jen.Error()).BlockFunc(func(g *jen.Group) {
		g.Id(cw + "0").Op(":=").Add(e.rt("NewJSONWriter")).Call(jen.Id(cdst))
		g.Add(w).Op(":=").Op("&").Id(cw + "0")
		b := &encWriter{e: e, g: g}
		b.value(pc.node, place{x: p.Clone()}, 1)
		b.flush()
		g.Return(w.Clone().Dot("End").Call())
	})
	e.f.Line()
	e.f.Comment(decodeMethod + " decodes data into the payload: what json.Unmarshal does with the")
	if pc.node.kind == ckStruct {
		e.f.Comment("same data and value, and the same error, except that null is an error: a payload is")
		e.f.Comment("never a zero value nobody sent.")
	} else {
		e.f.Comment("same data and value, and the same error.")
	}
	e.f.Func().Params(p.Clone().Op("*").Id(tn)).Id(decodeMethod).Params(jen.Id(cdata).Index().Byte()).Error().BlockFunc(func(g *jen.Group) {
		g.Id(cr + "0").Op(":=").Add(e.rt("NewJSONReader")).Call(jen.Id(cdata))
		g.Add(r).Op(":=").Op("&").Id(cr + "0")
		if pc.node.kind == ckStruct {
			g.If(r.Clone().Dot("Null").Call()).Block(
				jen.Return(r.Clone().Dot("EndNull").Call(p, jen.Lit(e.m.Name+"."+tn))),
			)
		}
		e.decValue(g, pc.node, place{x: p.Clone(), isPtr: true}, 1, false)
		g.Return(r.Clone().Dot("End").Call(p))
	})
}

// place is where a value is: x itself (addressable), or what the pointer x
// points to.
type place struct {
	x     *jen.Statement
	isPtr bool
}

// val is the value.
func (pl place) val() *jen.Statement {
	if pl.isPtr {
		return jen.Parens(jen.Op("*").Add(pl.x.Clone()))
	}
	return pl.x.Clone()
}

// ptr is a pointer to it.
func (pl place) ptr() *jen.Statement {
	if pl.isPtr {
		return pl.x.Clone()
	}
	return jen.Op("&").Add(pl.x.Clone())
}

// encWriter writes the statements of an encoder, merging the constant text
// it appends into one call.
type encWriter struct {
	e   *emitter
	g   *jen.Group
	raw strings.Builder
}

func (b *encWriter) lit(s string) { b.raw.WriteString(s) }

func (b *encWriter) flush() {
	s := b.raw.String()
	b.raw.Reset()
	switch {
	case len(s) == 0:
	case len(s) == 1:
		b.g.Id(cw).Dot("Byte").Call(jen.LitRune(rune(s[0])))
	case rawStringable(s):
		b.g.Id(cw).Dot("Raw").Call(jen.Op("`" + s + "`"))
	default:
		b.g.Id(cw).Dot("Raw").Call(jen.Lit(s))
	}
}

// rawStringable reports whether s can be written as a raw string literal.
func rawStringable(s string) bool {
	for _, r := range s {
		if r == '`' || r == '\r' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func (b *encWriter) call(method string, args ...jen.Code) {
	b.flush()
	b.g.Id(cw).Dot(method).Call(args...)
}

func (b *encWriter) add(c jen.Code) {
	b.flush()
	b.g.Add(c)
}

// block returns a block whose statements fn writes.
func (b *encWriter) block(fn func(b *encWriter)) *jen.Statement {
	return jen.BlockFunc(func(g *jen.Group) {
		sub := &encWriter{e: b.e, g: g}
		fn(sub)
		sub.flush()
	})
}

// conv converts x to the basic type kind, unless t is that type.
func conv(t types.Type, kind types.BasicKind, x *jen.Statement) *jen.Statement {
	if b, ok := types.Unalias(t).(*types.Basic); ok && b.Kind() == kind {
		return x
	}
	return jen.Id(types.Typ[kind].Name()).Call(x)
}

func local(name string, depth int) *jen.Statement { return jen.Id(fmt.Sprintf("%s%d", name, depth)) }

// value writes the encoding of the value at pl.
func (b *encWriter) value(n *codecNode, pl place, depth int) {
	v := pl.val()
	switch n.kind {
	case ckString:
		b.call("String", conv(n.typ, types.String, v))
	case ckBool:
		b.call("Bool", conv(n.typ, types.Bool, v))
	case ckInt:
		b.call("Int", conv(n.typ, types.Int64, v))
	case ckUint:
		b.call("Uint", conv(n.typ, types.Uint64, v))
	case ckFloat:
		b.call("Float", conv(n.typ, types.Float64, v), jen.Lit(n.bits))
	case ckBytes:
		if _, ok := types.Unalias(n.typ).(*types.Slice); ok {
			b.call("Bytes", v)
		} else {
			b.call("Bytes", jen.Index().Byte().Call(v))
		}
	case ckTime:
		b.call("Time", v)
	case ckJSON:
		b.call("Value", v)
	case ckStruct:
		if n.strct.failed != "" {
			b.call("Value", v)
			return
		}
		b.add(jen.Id(n.strct.appendFn).Call(jen.Id(cw), pl.ptr()))
	case ckPtr:
		b.add(jen.If(v.Clone().Op("==").Nil()).Block(jen.Id(cw).Dot("Null").Call()).Else().Add(b.block(func(b *encWriter) {
			b.value(n.elem, place{x: pl.val(), isPtr: true}, depth)
		})))
	case ckSlice:
		i := local("i", depth)
		b.add(jen.If(v.Clone().Op("==").Nil()).Block(jen.Id(cw).Dot("Null").Call()).Else().Add(b.block(func(b *encWriter) {
			b.lit("[")
			b.add(jen.For(i.Clone().Op(":=").Range().Add(v)).Add(b.block(func(b *encWriter) {
				b.add(jen.If(i.Clone().Op(">").Lit(0)).Block(jen.Id(cw).Dot("Byte").Call(jen.LitRune(','))))
				b.value(n.elem, place{x: v.Clone().Index(i)}, depth+1)
			})))
			b.lit("]")
		})))
	case ckArray:
		if n.length == 0 {
			b.lit("[]")
			return
		}
		i := local("i", depth)
		b.lit("[")
		b.add(jen.For(i.Clone().Op(":=").Range().Add(v)).Add(b.block(func(b *encWriter) {
			b.add(jen.If(i.Clone().Op(">").Lit(0)).Block(jen.Id(cw).Dot("Byte").Call(jen.LitRune(','))))
			b.value(n.elem, place{x: v.Clone().Index(i)}, depth+1)
		})))
		b.lit("]")
	case ckMap:
		i, k, x := local("i", depth), local("k", depth), local("x", depth)
		keys := map[codecKind]string{ckString: "SortedKeys", ckInt: "SortedIntKeys", ckUint: "SortedUintKeys"}[n.key]
		keyType := types.Unalias(n.typ).Underlying().(*types.Map).Key()
		b.add(jen.If(v.Clone().Op("==").Nil()).Block(jen.Id(cw).Dot("Null").Call()).Else().Add(b.block(func(b *encWriter) {
			b.lit("{")
			b.add(jen.For(jen.List(i, k).Op(":=").Range().Add(b.e.rt(keys)).Call(v)).Add(b.block(func(b *encWriter) {
				b.add(jen.If(i.Clone().Op(">").Lit(0)).Block(jen.Id(cw).Dot("Byte").Call(jen.LitRune(','))))
				switch n.key {
				case ckString:
					b.call("String", conv(keyType, types.String, k.Clone()))
				case ckInt:
					b.call("QuotedInt", conv(keyType, types.Int64, k.Clone()))
				case ckUint:
					b.call("QuotedUint", conv(keyType, types.Uint64, k.Clone()))
				}
				b.lit(":")
				b.add(x.Clone().Op(":=").Add(v.Clone().Index(k)))
				b.value(n.elem, place{x: x}, depth+1)
			})))
			b.lit("}")
		})))
	}
}

// quoted writes the encoding of a field with the ",string" option.
func (b *encWriter) quoted(n *codecNode, pl place) {
	v := pl.val()
	switch n.kind {
	case ckPtr:
		b.add(jen.If(v.Clone().Op("==").Nil()).Block(jen.Id(cw).Dot("Null").Call()).Else().Add(b.block(func(b *encWriter) {
			b.quoted(n.elem, place{x: pl.val(), isPtr: true})
		})))
	case ckString:
		b.call("QuotedString", conv(n.typ, types.String, v))
	case ckBool:
		b.call("QuotedBool", conv(n.typ, types.Bool, v))
	case ckInt:
		b.call("QuotedInt", conv(n.typ, types.Int64, v))
	case ckUint:
		b.call("QuotedUint", conv(n.typ, types.Uint64, v))
	case ckFloat:
		b.call("QuotedFloat", conv(n.typ, types.Float64, v), jen.Lit(n.bits))
	default:
		panic(fmt.Sprintf("necrogen: a \",string\" field of codec kind %d", n.kind))
	}
}

// structEncoder writes the function that encodes a struct type.
func (e *emitter) structEncoder(s *structCodec) {
	tn := s.named.Obj().Name()
	e.f.Line()
	e.f.Comment(s.appendFn + " appends the JSON encoding of *p, a " + tn + ", to w.")
	e.f.Func().Id(s.appendFn).Params(jen.Id(cw).Op("*").Add(e.rt("JSONWriter")), jen.Id(cp).Op("*").Id(tn)).BlockFunc(func(g *jen.Group) {
		w, p := jen.Id(cw), jen.Id(cp)
		if s.recursive {
			g.Comment("A value nested this deep may be a cycle, which encoding/json detects.")
			g.If(jen.Op("!").Add(w.Clone().Dot("Enter").Call())).Block(
				w.Clone().Dot("Value").Call(jen.Op("*").Add(p.Clone())),
				jen.Return(),
			)
		}
		b := &encWriter{e: e, g: g}
		b.lit("{")
		// A field written for sure before the current one makes its comma
		// certain; optional ones alone make it depend on what was written.
		type written struct {
			f     *codecField
			conds []*jen.Statement
			comma bool // the comma depends on what was written
		}
		var fields []written
		known, maybe, needLen := false, false, false
		for _, f := range s.fields {
			conds, skip := fieldConditions(e, f)
			if skip {
				continue
			}
			fw := written{f: f, conds: conds, comma: !known && maybe}
			needLen = needLen || fw.comma
			if len(conds) == 0 {
				known = true
			} else {
				maybe = true
			}
			fields = append(fields, fw)
		}
		if needLen {
			b.add(jen.Id(cn).Op(":=").Add(w.Clone().Dot("Len").Call()))
		}
		for i, fw := range fields {
			first := i == 0
			writeField := func(b *encWriter) {
				f := fw.f
				key := `"` + htmlEscapeName(f.name) + `":`
				switch {
				case fw.comma:
					b.call("Comma", jen.Id(cn))
					b.lit(key)
				case first:
					b.lit(key)
				default:
					b.lit("," + key)
				}
				pl := place{x: fieldPath(p, f)}
				if f.quoted {
					b.quoted(f.node, pl)
				} else {
					b.value(f.node, pl, 1)
				}
			}
			if len(fw.conds) == 0 {
				writeField(b)
				continue
			}
			cond := fw.conds[0]
			for _, c := range fw.conds[1:] {
				cond = cond.Op("&&").Add(c)
			}
			b.add(jen.If(cond).Add(b.block(writeField)))
		}
		b.lit("}")
		b.flush()
		if s.recursive {
			g.Add(w.Clone().Dot("Leave").Call())
		}
	})
}

// fieldPath is the Go expression of a field of *p.
func fieldPath(p *jen.Statement, f *codecField) *jen.Statement {
	x := p.Clone()
	for _, s := range f.steps {
		x = x.Dot(s.name)
	}
	return x
}

// fieldConditions returns the conditions under which a field is written:
// the embedded pointers on its way are not nil, and it is not empty
// (omitempty) or zero (omitzero). skip is true for a field that is never
// written.
func fieldConditions(e *emitter, f *codecField) (conds []*jen.Statement, skip bool) {
	x := jen.Id(cp)
	for _, s := range f.steps[:len(f.steps)-1] {
		x = x.Clone().Dot(s.name)
		if s.ptr {
			conds = append(conds, x.Clone().Op("!=").Nil())
		}
	}
	v := fieldPath(jen.Id(cp), f)
	if f.omitEmpty {
		if t := types.Unalias(f.typ).Underlying(); isArrayLen0(t) {
			return nil, true
		}
		if c := emptyTest(f.typ, v); c != nil {
			conds = append(conds, c)
		}
	}
	switch f.omitZero {
	case zeroMethod:
		conds = append(conds, jen.Op("!").Add(v.Clone().Dot("IsZero").Call()))
	case zeroPtrMethod:
		conds = append(conds, v.Clone().Op("!=").Nil(), jen.Op("!").Add(v.Clone().Dot("IsZero").Call()))
	case zeroValue:
		if t := types.Unalias(f.typ).Underlying(); isArrayLen0(t) {
			return nil, true
		}
		conds = append(conds, e.nonZeroTest(f.typ, v))
	}
	// omitempty and omitzero test a basic kind alike: test once.
	var out []*jen.Statement
	seen := map[string]bool{}
	for _, c := range conds {
		if key := fmt.Sprintf("%#v", c); !seen[key] {
			seen[key] = true
			out = append(out, c)
		}
	}
	return out, false
}

func isArrayLen0(t types.Type) bool {
	a, ok := t.(*types.Array)
	return ok && a.Len() == 0
}

// emptyTest returns the condition that v, of type t, is not empty as
// encoding/json's omitempty means it, or nil when it never is empty.
func emptyTest(t types.Type, v *jen.Statement) *jen.Statement {
	switch u := types.Unalias(t).Underlying().(type) {
	case *types.Basic:
		switch info := u.Info(); {
		case info&types.IsBoolean != 0:
			return v.Clone()
		case info&types.IsString != 0:
			return v.Clone().Op("!=").Lit("")
		case info&types.IsFloat != 0:
			return jen.Op("!").Qual(runtimePath, "IsEmptyFloat").Call(conv(t, types.Float64, v.Clone()))
		case info&types.IsInteger != 0:
			return v.Clone().Op("!=").Lit(0)
		}
	case *types.Slice, *types.Map:
		return jen.Len(v.Clone()).Op("!=").Lit(0)
	case *types.Pointer, *types.Interface:
		return v.Clone().Op("!=").Nil()
	}
	return nil
}

// nonZeroTest is the condition that v is not the zero value of its basic or
// nil-able type, as reflect.Value.IsZero tests it.
func (e *emitter) nonZeroTest(t types.Type, v *jen.Statement) *jen.Statement {
	if b, ok := types.Unalias(t).Underlying().(*types.Basic); ok {
		if b.Info()&types.IsFloat != 0 {
			return jen.Op("!").Add(e.rt("IsZeroFloat")).Call(conv(t, types.Float64, v.Clone()))
		}
		return emptyTest(t, v)
	}
	return v.Clone().Op("!=").Nil()
}

// structDecoder writes the function that decodes a struct type, and the
// table of its JSON field names that the function matches keys against
// (runtime.Fields: exactly, then folded as encoding/json folds names).
func (e *emitter) structDecoder(s *structCodec) {
	tn := s.named.Obj().Name()
	if len(s.fields) > 0 {
		e.f.Line()
		e.f.Comment(s.fieldsVar + " are the JSON names of " + tn + "'s fields, in their order.")
		e.f.Var().Id(s.fieldsVar).Op("=").Add(e.rt("NewFields")).CallFunc(func(g *jen.Group) {
			for _, fd := range s.fields {
				g.Lit(fd.name)
			}
		})
	}
	e.f.Line()
	e.f.Comment(s.readFn + " decodes a JSON value from r into *p, a " + tn + ".")
	e.f.Func().Id(s.readFn).Params(jen.Id(cr).Op("*").Add(e.rt("JSONReader")), jen.Id(cp).Op("*").Id(tn)).BlockFunc(func(g *jen.Group) {
		r, i := jen.Id(cr), jen.Id(ci)
		g.If(jen.Op("!").Add(r.Clone().Dot("BeginObject").Call())).Block(jen.Return())
		g.For(i.Clone().Op(":=").Lit(0), r.Clone().Dot("NextKey").Call(i), i.Clone().Op("++")).BlockFunc(func(g *jen.Group) {
			if len(s.fields) == 0 {
				g.Add(r.Clone().Dot("Skip").Call())
				return
			}
			g.Switch(r.Clone().Dot("Field").Call(jen.Id(s.fieldsVar))).BlockFunc(func(g *jen.Group) {
				for n, fd := range s.fields {
					g.Case(jen.Lit(n + 1)).BlockFunc(func(g *jen.Group) { e.decField(g, fd) })
				}
				g.Default().Block(r.Clone().Dot("Skip").Call())
			})
		})
	})
}

// decField decodes one field, allocating the embedded pointers on its way.
func (e *emitter) decField(g *jen.Group, f *codecField) {
	x := jen.Id(cp)
	var guards []*jen.Statement // unsettable embedded pointers on the way
	for i, s := range f.steps[:len(f.steps)-1] {
		x = x.Clone().Dot(s.name)
		if s.ptr {
			if s.settable {
				// encoding/json allocates it as soon as the key matches.
				e1 := local("e", i+1)
				g.Add(e1).Op(":=").Add(e.rt("Alloc")).Call(jen.Op("&").Add(x))
				x = e1
			} else {
				guards = append(guards, x.Clone())
			}
		}
	}
	x = x.Clone().Dot(f.steps[len(f.steps)-1].name)
	body := func(g *jen.Group) { e.decValue(g, f.node, place{x: x}, 1, f.quoted) }
	if len(guards) == 0 {
		body(g)
		return
	}
	cond := guards[0].Clone().Op("==").Nil()
	for _, gd := range guards[1:] {
		cond = cond.Op("||").Add(gd.Clone().Op("==").Nil())
	}
	g.Comment("encoding/json cannot allocate an embedded pointer to an unexported type.")
	g.If(cond).Block(jen.Id(cr).Dot("CannotSet").Call()).Else().BlockFunc(body)
}

// decValue decodes the value at pl.
func (e *emitter) decValue(g *jen.Group, n *codecNode, pl place, depth int, quoted bool) {
	r := jen.Id(cr)
	read := func(fn string) { g.Add(e.rt(fn)).Call(r.Clone(), pl.ptr()) }
	if quoted {
		switch n.kind {
		case ckPtr:
			g.If(r.Clone().Dot("QuotedNull").Call()).Block(pl.val().Op("=").Nil()).Else().BlockFunc(func(g *jen.Group) {
				e.decValue(g, n.elem, place{x: e.rt("Alloc").Call(pl.ptr()), isPtr: true}, depth, true)
			})
		case ckString:
			read("ReadQuotedString")
		case ckBool:
			read("ReadQuotedBool")
		case ckInt:
			read("ReadQuotedInt")
		case ckUint:
			read("ReadQuotedUint")
		case ckFloat:
			read("ReadQuotedFloat")
		default:
			panic(fmt.Sprintf("necrogen: a \",string\" field of codec kind %d", n.kind))
		}
		return
	}
	switch n.kind {
	case ckString:
		read("ReadString")
	case ckBool:
		read("ReadBool")
	case ckInt:
		read("ReadInt")
	case ckUint:
		read("ReadUint")
	case ckFloat:
		read("ReadFloat")
	case ckBytes:
		read("ReadBytes")
	case ckTime:
		g.Add(r.Clone().Dot("Time").Call(pl.ptr()))
	case ckJSON:
		g.Add(r.Clone().Dot("Value").Call(pl.ptr()))
	case ckStruct:
		if n.strct.failed != "" {
			g.Add(r.Clone().Dot("Value").Call(pl.ptr()))
			return
		}
		g.Id(n.strct.readFn).Call(r.Clone(), pl.ptr())
	case ckPtr:
		g.If(r.Clone().Dot("Null").Call()).Block(pl.val().Op("=").Nil()).Else().BlockFunc(func(g *jen.Group) {
			e.decValue(g, n.elem, place{x: e.rt("Alloc").Call(pl.ptr()), isPtr: true}, depth, false)
		})
	case ckSlice:
		i := local("i", depth)
		g.If(r.Clone().Dot("Null").Call()).Block(pl.val().Op("=").Nil()).Else().If(r.Clone().Dot("BeginArray").Call()).BlockFunc(func(g *jen.Group) {
			g.Add(i).Op(":=").Lit(0)
			g.For(jen.Empty(), r.Clone().Dot("NextElem").Call(i), i.Clone().Op("++")).BlockFunc(func(g *jen.Group) {
				e.decValue(g, n.elem, place{x: e.rt("SliceElem").Call(pl.ptr(), i), isPtr: true}, depth+1, false)
			})
			g.Add(e.rt("SliceEnd")).Call(pl.ptr(), i)
		})
	case ckArray:
		i := local("i", depth)
		g.If(r.Clone().Dot("BeginArray").Call()).BlockFunc(func(g *jen.Group) {
			g.Add(i).Op(":=").Lit(0)
			g.For(jen.Empty(), r.Clone().Dot("NextElem").Call(i), i.Clone().Op("++")).BlockFunc(func(g *jen.Group) {
				if n.length == 0 {
					g.Add(r.Clone().Dot("Skip").Call())
					return
				}
				g.If(i.Clone().Op("<").Lit(int(n.length))).BlockFunc(func(g *jen.Group) {
					e.decValue(g, n.elem, place{x: pl.val().Index(i)}, depth+1, false)
				}).Else().Block(r.Clone().Dot("Skip").Call())
			})
			if n.length > 0 {
				g.Add(e.rt("ClearFrom")).Call(pl.val().Index(jen.Op(":")), i)
			}
		})
	case ckMap:
		i, k, x := local("i", depth), local("k", depth), local("x", depth)
		keyFn := map[codecKind]string{ckString: "StringKey", ckInt: "IntKey", ckUint: "UintKey"}[n.key]
		g.If(r.Clone().Dot("Null").Call()).Block(pl.val().Op("=").Nil()).Else().If(r.Clone().Dot("BeginObject").Call()).BlockFunc(func(g *jen.Group) {
			g.Add(e.rt("MakeMap")).Call(pl.ptr())
			g.For(i.Clone().Op(":=").Lit(0), r.Clone().Dot("NextKey").Call(i), i.Clone().Op("++")).BlockFunc(func(g *jen.Group) {
				g.Add(k).Op(":=").Add(e.rt(keyFn)).Call(pl.val(), r.Clone())
				g.Add(x).Op(":=").Add(e.rt("ZeroElem")).Call(pl.val())
				e.decValue(g, n.elem, place{x: x}, depth+1, false)
				g.Add(pl.val().Index(k)).Op("=").Add(x)
			})
		})
	}
}
