package gen

import (
	"cmp"
	"fmt"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// JSON codecs.
//
// necrogen generates, for each payload type declared in the package, two
// methods that encode and decode it exactly as encoding/json does, without
// reflection:
//
//	func (p T) AppendNecroJSON(dst []byte) ([]byte, error)
//	func (p *T) DecodeNecroJSON(data []byte) error
//
// and, for every named struct type of the package they contain, a pair of
// package-level functions those methods call. The runtime finds the methods
// through interfaces (runtime.Payload decoding, the envelope's encoder).
//
// The contract is encoding/json's, byte for byte out and value for value in,
// with one difference: DecodeNecroJSON of a struct type rejects null. What
// the generated code does not cover exactly is left to encoding/json, per
// value (a field's whole value: json.Marshal / json.Unmarshal through
// runtime.JSONWriter.Value and runtime.JSONReader.Value) or per type (no
// codec at all); planCodecs decides which, and the generated file says why
// in a comment for a payload type that has no codec.

// Names of the codec methods; they are reserved on payload types.
const (
	appendMethod = "AppendNecroJSON"
	decodeMethod = "DecodeNecroJSON"
)

// codecKind is how the generated code encodes and decodes a value.
type codecKind int

const (
	ckString codecKind = iota
	ckBool
	ckInt
	ckUint
	ckFloat
	ckBytes  // []byte: base64
	ckTime   // time.Time: its own MarshalJSON and UnmarshalJSON, called directly
	ckPtr    // *T
	ckSlice  // []T
	ckArray  // [N]T
	ckMap    // map[K]T, K of a string or integer kind
	ckStruct // a named struct type of the package: its codec functions
	ckJSON   // encoding/json
)

// codecNode is the codec of one Go type.
type codecNode struct {
	kind   codecKind
	typ    types.Type // the Go type, to know whether a conversion is needed
	bits   int        // ckFloat: 32 or 64
	elem   *codecNode // ckPtr, ckSlice, ckArray, ckMap
	key    codecKind  // ckMap: ckString, ckInt or ckUint
	length int64      // ckArray
	strct  *structCodec
}

// structCodec is the codec of a named struct type of the package.
type structCodec struct {
	named     *types.Named
	fields    []*codecField
	failed    string // why it has no codec of its own (it is left to encoding/json); "" if it has one
	recursive bool   // its values can contain values of it: its encoder counts depth
	done      bool
	appendFn  string // the names of its functions, chosen by nameCodecs
	readFn    string
	fieldsVar string // the name of its table of JSON field names
}

// codecField is one field as encoding/json sees it.
type codecField struct {
	name      string      // JSON name
	steps     []fieldStep // the Go fields from the struct to it, through embedded ones
	node      *codecNode
	omitEmpty bool
	omitZero  zeroTest
	quoted    bool // ",string"
	typ       types.Type
}

// fieldStep is one Go field on the way to a JSON field.
type fieldStep struct {
	name     string
	ptr      bool // an embedded pointer: nil skips the field when encoding; decoding allocates it
	settable bool // an embedded pointer decoding can allocate (its field is exported)
	typ      types.Type
	pkg      *types.Package // where the field is declared
}

// zeroTest is how the generated encoder tests a field tagged omitzero.
type zeroTest int

const (
	zeroNone      zeroTest = iota // not omitzero
	zeroMethod                    // x.IsZero()
	zeroPtrMethod                 // x == nil || x.IsZero()
	zeroValue                     // the zero value of a basic kind, or nil
)

// payloadCodec is the codec of one payload type: its methods.
type payloadCodec struct {
	typ  *types.TypeName
	node *codecNode // ckStruct for a struct type, else the codec of its underlying type
}

// skippedPayload is a payload type left to encoding/json, and why.
type skippedPayload struct {
	typ    *types.TypeName
	reason string
}

// codecPlan is what the generated file of a package holds for JSON.
type codecPlan struct {
	payloads []*payloadCodec
	skipped  []skippedPayload
	structs  []*structCodec // with a codec, sorted by declaration position
}

// empty reports whether the plan generates nothing.
func (p *codecPlan) empty() bool { return p == nil || len(p.payloads) == 0 && len(p.skipped) == 0 }

// generatesMethod reports whether a type error may be the use of a codec
// method that the generated file declares: user code may call
// AppendNecroJSON before necro_gen.go has it. (verify type-checks the
// package again with the new file, and reports what is still wrong.)
func (p *codecPlan) generatesMethod(msg string) bool {
	if p == nil || len(p.payloads) == 0 {
		return false
	}
	return strings.HasSuffix(msg, "has no field or method "+appendMethod+")") ||
		strings.HasSuffix(msg, "has no field or method "+decodeMethod+")")
}

// planCodecs decides the codecs of the payload types declared in m's
// package, and reports codec method names the user has taken on them.
func planCodecs(m *pkgModel, user *userNames, d *diags) *codecPlan {
	c := &codecPlanner{pkg: m.Types, fset: d.fset, structs: map[*types.Named]*structCodec{},
		addr: map[types.Type]int{}, inline: map[*types.Named]bool{}}
	plan := &codecPlan{}
	payloads := map[*types.Named]bool{}
	var local []*types.TypeName
	for _, e := range m.Events {
		if e.Type == nil || e.Type.Pkg() != m.Types {
			continue
		}
		if named, ok := e.Type.Type().(*types.Named); ok && !e.Type.IsAlias() && named.TypeParams().Len() == 0 {
			payloads[named] = true
			local = append(local, e.Type)
		}
	}
	// In declaration order: file name, then offset (token.Pos values depend
	// on the order files were parsed in).
	byPosition := func(a, b types.Object) int {
		pa, pb := d.fset.Position(a.Pos()), d.fset.Position(b.Pos())
		return cmp.Or(cmp.Compare(pa.Filename, pb.Filename), cmp.Compare(pa.Offset, pb.Offset))
	}
	slices.SortFunc(local, func(a, b *types.TypeName) int { return byPosition(a, b) })
	for _, tn := range local {
		if checkCodecNames(tn, user, d) {
			continue
		}
		named := tn.Type().(*types.Named)
		if why := c.payloadProblem(named, payloads); why != "" {
			plan.skipped = append(plan.skipped, skippedPayload{typ: tn, reason: why})
			continue
		}
		var n *codecNode
		if _, ok := named.Underlying().(*types.Struct); ok {
			s := c.structFor(named)
			if s.failed != "" {
				plan.skipped = append(plan.skipped, skippedPayload{typ: tn, reason: s.failed})
				continue
			}
			n = &codecNode{kind: ckStruct, typ: named, strct: s}
		} else {
			var err error
			n, err = c.node(named.Underlying(), true)
			if err != nil || n.kind == ckJSON {
				plan.skipped = append(plan.skipped, skippedPayload{typ: tn, reason: "encoding/json would do all the work: its underlying type " + c.typeString(named.Underlying()) + " has no generated codec"})
				continue
			}
			n.typ = named
		}
		plan.payloads = append(plan.payloads, &payloadCodec{typ: tn, node: n})
	}
	// The struct codecs the payloads use, directly or through others.
	used := map[*structCodec]bool{}
	var visit func(n *codecNode)
	visit = func(n *codecNode) {
		for ; n != nil; n = n.elem {
			if n.kind != ckStruct || n.strct.failed != "" || used[n.strct] {
				continue
			}
			used[n.strct] = true
			for _, f := range n.strct.fields {
				visit(f.node)
			}
		}
	}
	for _, p := range plan.payloads {
		visit(p.node)
	}
	for s := range used {
		plan.structs = append(plan.structs, s)
	}
	slices.SortFunc(plan.structs, func(a, b *structCodec) int { return byPosition(a.named.Obj(), b.named.Obj()) })
	if plan.empty() {
		return nil
	}
	return plan
}

// checkCodecNames reports a method or field named like a codec method on a
// payload type, and reports whether there was one.
func checkCodecNames(tn *types.TypeName, user *userNames, d *diags) bool {
	found := false
	for _, name := range []string{appendMethod, decodeMethod} {
		if pos, ok := user.methods[tn.Name()+"."+name]; ok {
			d.errorf(pos, "method %s.%s is declared here, but necrogen generates %s for payload type %s (its JSON codec): rename this method", tn.Name(), name, name, tn.Name())
			found = true
		}
		if st, ok := tn.Type().Underlying().(*types.Struct); ok {
			for i := range st.NumFields() {
				if f := st.Field(i); f.Name() == name {
					d.errorf(f.Pos(), "field %s.%s is declared here, but necrogen generates the method %s for payload type %s (its JSON codec): rename this field", tn.Name(), name, name, tn.Name())
					found = true
				}
			}
		}
	}
	return found
}

// codecPlanner builds codec nodes.
type codecPlanner struct {
	pkg     *types.Package
	fset    *token.FileSet
	structs map[*types.Named]*structCodec
	addr    map[types.Type]int    // addrSensitive memo: 1 yes, 2 no, 3 in progress
	inline  map[*types.Named]bool // named non-struct types being inlined
}

func (c *codecPlanner) typeString(t types.Type) string {
	return types.TypeString(t, types.RelativeTo(c.pkg))
}

// payloadProblem says why a payload type gets no codec, or "".
func (c *codecPlanner) payloadProblem(named *types.Named, payloads map[*types.Named]bool) string {
	if m := customJSON(named); m != "" {
		return "it has its own " + m + " method"
	}
	if c.addrSensitive(named) {
		return "it contains " + c.addrCause(named) + ", whose MarshalJSON or MarshalText method has a pointer receiver: encoding/json calls it or not depending on whether the payload is passed by pointer"
	}
	if st, ok := named.Underlying().(*types.Struct); ok {
		fields, _ := jsonFields(st, named, false)
		for _, f := range fields {
			for _, s := range f.steps[:len(f.steps)-1] {
				if en, ok := derefNamed(s.typ); ok && payloads[en] {
					return fmt.Sprintf("it embeds payload type %s, whose codec methods it would inherit: the runtime leaves a type that embeds a codec to encoding/json", en.Obj().Name())
				}
			}
		}
	}
	return ""
}

// errAddr is the error of a value whose encoding depends on whether it is
// addressable (see addrSensitive): the nearest pointer, slice or map around
// it is left to encoding/json as a whole.
var errAddr = fmt.Errorf("addressability-sensitive")

// node returns the codec of a value of type t. direct is true when the
// value's addressability is its struct's (a field, or an element of an
// array field): then a type addrSensitive is errAddr.
func (c *codecPlanner) node(t types.Type, direct bool) (*codecNode, error) {
	t = types.Unalias(t)
	json := &codecNode{kind: ckJSON, typ: t}
	if c.addrSensitive(t) {
		return nil, errAddr
	}
	if named, ok := t.(*types.Named); ok {
		switch {
		case isNamed(named, "time", "Time"):
			return &codecNode{kind: ckTime, typ: t}, nil
		case isNamed(named, "encoding/json", "Number"), customJSON(named) != "", named.TypeArgs().Len() > 0:
			return json, nil
		}
		if _, ok := named.Underlying().(*types.Pointer); ok {
			return json, nil // a named pointer type: the generated code could not allocate it without naming it
		}
		if _, ok := named.Underlying().(*types.Struct); ok {
			if named.Obj().Pkg() != c.pkg {
				return json, nil
			}
			return &codecNode{kind: ckStruct, typ: t, strct: c.structFor(named)}, nil
		}
		// A named type of another kind: the codec of its underlying type,
		// unless it contains itself.
		if c.inline[named] {
			return json, nil
		}
		c.inline[named] = true
		defer delete(c.inline, named)
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		switch info := u.Info(); {
		case info&types.IsBoolean != 0:
			return &codecNode{kind: ckBool, typ: t}, nil
		case info&types.IsString != 0:
			return &codecNode{kind: ckString, typ: t}, nil
		case info&types.IsInteger != 0 && info&types.IsUnsigned != 0:
			return &codecNode{kind: ckUint, typ: t}, nil
		case info&types.IsInteger != 0:
			return &codecNode{kind: ckInt, typ: t}, nil
		case u.Kind() == types.Float32:
			return &codecNode{kind: ckFloat, typ: t, bits: 32}, nil
		case u.Kind() == types.Float64:
			return &codecNode{kind: ckFloat, typ: t, bits: 64}, nil
		}
		return json, nil // complex, unsafe.Pointer: encoding/json's error
	case *types.Pointer:
		elem, err := c.node(u.Elem(), false)
		if err != nil {
			return json, nil
		}
		return &codecNode{kind: ckPtr, typ: t, elem: elem}, nil
	case *types.Slice:
		if b, ok := u.Elem().(*types.Basic); ok && b.Kind() == types.Uint8 {
			return &codecNode{kind: ckBytes, typ: t}, nil
		}
		if isByteKind(u.Elem()) {
			return json, nil // a named byte type: base64 or not depending on its methods
		}
		elem, err := c.node(u.Elem(), false)
		if err != nil {
			return json, nil
		}
		return &codecNode{kind: ckSlice, typ: t, elem: elem}, nil
	case *types.Array:
		elem, err := c.node(u.Elem(), direct)
		if err != nil {
			return nil, err
		}
		return &codecNode{kind: ckArray, typ: t, elem: elem, length: u.Len()}, nil
	case *types.Map:
		key := mapKeyCodec(u.Key())
		if key == ckJSON {
			return json, nil
		}
		elem, err := c.node(u.Elem(), false)
		if err != nil {
			return json, nil
		}
		return &codecNode{kind: ckMap, typ: t, elem: elem, key: key}, nil
	}
	// Interfaces, anonymous structs, channels, functions.
	return json, nil
}

// mapKeyCodec returns how the keys of a map are encoded: ckString, ckInt,
// ckUint, or ckJSON when encoding/json must do it (keys with text methods,
// which decide the key for it, and keys it cannot encode).
func mapKeyCodec(k types.Type) codecKind {
	k = types.Unalias(k)
	if named, ok := k.(*types.Named); ok {
		if m, _ := method(named, "MarshalText", "UnmarshalText"); m != "" {
			return ckJSON
		}
	}
	b, ok := k.Underlying().(*types.Basic)
	switch {
	case !ok:
		return ckJSON
	case b.Info()&types.IsString != 0:
		return ckString
	case b.Info()&types.IsInteger != 0 && b.Info()&types.IsUnsigned != 0:
		return ckUint
	case b.Info()&types.IsInteger != 0:
		return ckInt
	}
	return ckJSON
}

func isByteKind(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Kind() == types.Uint8
}

// customJSON returns the name of a JSON or text method that T or *T has, by
// which encoding/json encodes or decodes T its own way; "" if none.
func customJSON(named *types.Named) string {
	m, _ := method(named, "MarshalJSON", "UnmarshalJSON", "MarshalText", "UnmarshalText")
	return m
}

// ptrOnlyMarshal reports whether *T has a MarshalJSON or MarshalText method
// that T has not: encoding/json calls it for an addressable T only.
func ptrOnlyMarshal(named *types.Named) bool {
	value := types.NewMethodSet(named)
	ptr := types.NewMethodSet(types.NewPointer(named))
	for _, name := range []string{"MarshalJSON", "MarshalText"} {
		if ptr.Lookup(nil, name) != nil && value.Lookup(nil, name) == nil {
			return true
		}
	}
	return false
}

// addrSensitive reports whether encoding/json encodes a value of type t
// differently depending on whether it is addressable: t contains, as a field
// or array element (not behind a pointer, slice, map or interface), a type
// whose MarshalJSON or MarshalText method has a pointer receiver.
func (c *codecPlanner) addrSensitive(t types.Type) bool {
	t = types.Unalias(t)
	switch c.addr[t] {
	case 1:
		return true
	case 2, 3:
		return false
	}
	c.addr[t] = 3
	sensitive := false
	named, isNamed := t.(*types.Named)
	switch {
	case isNamed && ptrOnlyMarshal(named):
		sensitive = true
	case isNamed && customJSON(named) != "":
	default:
		switch u := t.Underlying().(type) {
		case *types.Array:
			sensitive = c.addrSensitive(u.Elem())
		case *types.Struct:
			fields, _ := jsonFields(u, named, true)
			for _, f := range fields {
				if c.addrSensitive(f.typ) {
					sensitive = true
					break
				}
			}
		}
	}
	c.addr[t] = 2
	if sensitive {
		c.addr[t] = 1
	}
	return sensitive
}

// addrCause names the type that makes t addrSensitive.
func (c *codecPlanner) addrCause(t types.Type) string {
	t = types.Unalias(t)
	if named, ok := t.(*types.Named); ok && ptrOnlyMarshal(named) {
		return c.typeString(t)
	}
	switch u := t.Underlying().(type) {
	case *types.Array:
		return c.addrCause(u.Elem())
	case *types.Struct:
		named, _ := t.(*types.Named)
		fields, _ := jsonFields(u, named, true)
		for _, f := range fields {
			if c.addrSensitive(f.typ) {
				return c.addrCause(f.typ)
			}
		}
	}
	return c.typeString(t)
}

// structFor returns the codec of a named struct type of the package,
// planning it on first use.
func (c *codecPlanner) structFor(named *types.Named) *structCodec {
	if s := c.structs[named]; s != nil {
		if !s.done {
			s.recursive = true
		}
		return s
	}
	s := &structCodec{named: named}
	c.structs[named] = s
	defer func() { s.done = true }()
	st := named.Underlying().(*types.Struct)
	fields, err := jsonFields(st, named, false)
	if err != "" {
		s.failed = err
		return s
	}
	for _, f := range fields {
		for _, step := range f.steps {
			if !isAccessible(step, c.pkg) {
				s.failed = "field " + step.name + " is not accessible from this package"
				return s
			}
		}
		n, err := c.node(f.typ, true)
		if err != nil {
			s.failed = "field " + f.goName() + " contains " + c.addrCause(f.typ) + ", whose MarshalJSON or MarshalText method has a pointer receiver"
			return s
		}
		if f.quoted && n.kind == ckJSON {
			s.failed = "field " + f.goName() + " has the \",string\" option on a type with its own JSON or text methods"
			return s
		}
		if f.quoted && n.kind == ckPtr && n.elem.kind == ckJSON {
			s.failed = "field " + f.goName() + " has the \",string\" option on a pointer to a type with its own JSON or text methods"
			return s
		}
		if f.omitZero != zeroNone {
			z, ok := c.zeroTest(f.typ)
			if !ok {
				s.failed = "field " + f.goName() + " is tagged omitzero and its type " + c.typeString(f.typ) + " has no IsZero method: encoding/json's zero test for it is not generated"
				return s
			}
			f.omitZero = z
		}
		f.node = n
		s.fields = append(s.fields, f)
	}
	return s
}

// isAccessible reports whether generated code in pkg can refer to a field.
func isAccessible(step fieldStep, pkg *types.Package) bool {
	return token.IsExported(step.name) || step.pkg == pkg
}

// zeroTest returns how encoding/json tests a value of t for omitzero: its
// IsZero method, or reflect.Value.IsZero, which the generated code matches
// for basic kinds and nil-able ones only.
func (c *codecPlanner) zeroTest(t types.Type) (zeroTest, bool) {
	t = types.Unalias(t)
	hasIsZero := func(t types.Type) bool {
		sel := types.NewMethodSet(t).Lookup(nil, "IsZero")
		if sel == nil {
			return false
		}
		sig, ok := sel.Type().(*types.Signature)
		return ok && sig.Params().Len() == 0 && sig.Results().Len() == 1 && types.Identical(sig.Results().At(0).Type(), types.Typ[types.Bool])
	}
	switch u := t.Underlying().(type) {
	case *types.Interface:
		if hasIsZero(t) {
			return 0, false
		}
		return zeroValue, true
	case *types.Pointer:
		if _, named := t.(*types.Named); !named && hasIsZero(t) {
			return zeroPtrMethod, true
		}
		return zeroValue, true
	default:
		if hasIsZero(t) || hasIsZero(types.NewPointer(t)) {
			return zeroMethod, true
		}
		switch u.(type) {
		case *types.Basic, *types.Slice, *types.Map, *types.Chan, *types.Signature:
			return zeroValue, true
		}
	}
	return 0, false
}

func derefNamed(t types.Type) (*types.Named, bool) {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	n, ok := t.(*types.Named)
	return n, ok
}

// goName is the Go path of a field: Inner.Name.
func (f *codecField) goName() string {
	names := make([]string, len(f.steps))
	for i, s := range f.steps {
		names[i] = s.name
	}
	return strings.Join(names, ".")
}

// jsonField is a field of a struct as encoding/json's typeFields finds it.
type jsonField struct {
	name      string
	tag       bool
	index     []int
	steps     []fieldStep
	typ       types.Type // the field's type
	omitEmpty bool
	omitZero  bool
	quoted    bool
}

// jsonFields is encoding/json's typeFields on go/types: the fields of a
// struct that encoding/json encodes and decodes, with their JSON names and
// options, embedded structs' fields promoted by its rules, in index order.
// It fails (with the reason) for an embedded struct type that is not a
// named, non-generic type of the struct's own package.
//
// With anyEmbedded, it explores embedded structs of any package instead.
func jsonFields(st *types.Struct, named *types.Named, anyEmbedded bool) ([]*codecField, string) {
	type level struct {
		st    *types.Struct
		key   types.Type
		index []int
		steps []fieldStep
	}
	var home *types.Package
	if named != nil {
		home = named.Obj().Pkg()
	}
	var key types.Type = st
	if named != nil {
		key = named
	}
	current := []level{}
	next := []level{{st: st, key: key}}
	var count, nextCount map[types.Type]int
	visited := map[types.Type]bool{}
	var fields []jsonField
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[types.Type]int{}
		for _, f := range current {
			if visited[f.key] {
				continue
			}
			visited[f.key] = true
			for i := range f.st.NumFields() {
				sf := f.st.Field(i)
				tag := f.st.Tag(i)
				if sf.Embedded() {
					t := types.Unalias(sf.Type())
					if p, ok := t.(*types.Pointer); ok {
						t = types.Unalias(p.Elem())
					}
					if !sf.Exported() && !isStruct(t) {
						continue
					}
				} else if !sf.Exported() {
					continue
				}
				tagValue := reflect.StructTag(tag).Get("json")
				if tagValue == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tagValue, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := append(slices.Clone(f.index), i)
				ft := types.Unalias(sf.Type())
				_, ftNamed := ft.(*types.Named)
				ptr, isPtr := ft.(*types.Pointer)
				if isPtr {
					ft = types.Unalias(ptr.Elem())
				}
				step := fieldStep{name: sf.Name(), ptr: sf.Embedded() && isPtr, settable: sf.Exported(), typ: sf.Type(), pkg: sf.Pkg()}
				steps := append(slices.Clone(f.steps), step)
				quoted := false
				if hasOption(opts, "string") {
					qt := types.Unalias(sf.Type())
					if !ftNamed && isPtr {
						qt = ft
					}
					if b, ok := qt.Underlying().(*types.Basic); ok && b.Info()&(types.IsBoolean|types.IsInteger|types.IsFloat|types.IsString) != 0 && b.Info()&types.IsComplex == 0 {
						quoted = true
					}
				}
				if name != "" || !sf.Embedded() || !isStruct(ft) {
					tagged := name != ""
					if name == "" {
						name = sf.Name()
					}
					fields = append(fields, jsonField{name: name, tag: tagged, index: index, steps: steps, typ: sf.Type(),
						omitEmpty: hasOption(opts, "omitempty"), omitZero: hasOption(opts, "omitzero"), quoted: quoted})
					if count[f.key] > 1 {
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				// An embedded struct to explore at the next level.
				en, ok := ft.(*types.Named)
				if !anyEmbedded && (!ok || en.Obj().Pkg() != home || en.TypeArgs().Len() > 0) {
					return nil, "it embeds " + types.TypeString(sf.Type(), types.RelativeTo(home)) + ", which is not a struct type declared in its package"
				}
				var key types.Type = ft
				if ok {
					key = en
				}
				nextCount[key]++
				if nextCount[key] == 1 {
					next = append(next, level{st: ft.Underlying().(*types.Struct), key: key, index: index, steps: steps})
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tag != b.tag {
			if a.tag {
				return -1
			}
			return +1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		fi := fields[i]
		for advance = 1; i+advance < len(fields); advance++ {
			if fields[i+advance].name != fi.name {
				break
			}
		}
		if advance == 1 {
			out = append(out, fi)
			continue
		}
		// The first is dominant unless the next is as deep and as tagged.
		if fj := fields[i+1]; len(fi.index) == len(fj.index) && fi.tag == fj.tag {
			continue
		}
		out = append(out, fi)
	}
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	result := make([]*codecField, len(out))
	for i, f := range out {
		z := zeroNone
		if f.omitZero {
			z = zeroValue // refined by structFor
		}
		result[i] = &codecField{name: f.name, steps: f.steps, omitEmpty: f.omitEmpty, omitZero: z, quoted: f.quoted, typ: f.typ}
	}
	return result, ""
}

func isStruct(t types.Type) bool {
	_, ok := t.Underlying().(*types.Struct)
	return ok
}

// hasOption is encoding/json's tagOptions.Contains.
func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// isValidTag is encoding/json's isValidTag.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// htmlEscapeName is encoding/json's appendHTMLEscape for a field name.
func htmlEscapeName(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	src := []byte(s)
	start := 0
	for i, c := range src {
		if c == '<' || c == '>' || c == '&' {
			b.Write(src[start:i])
			b.Write([]byte{'\\', 'u', '0', '0', hex[c>>4], hex[c&0xF]})
			start = i + 1
		}
		if c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8 {
			b.Write(src[start:i])
			b.Write([]byte{'\\', 'u', '2', '0', '2', hex[src[i+2]&0xF]})
			start = i + len("\u2029")
		}
	}
	b.Write(src[start:])
	return b.String()
}
