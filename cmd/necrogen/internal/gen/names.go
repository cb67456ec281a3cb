package gen

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Names in the generated file.
//
// The public names are the API users call, so they are fixed: Spine,
// NewSpine, Routes, an Event* constant per event type, and per payload type a
// New*Event function and a Spine.Emit* method, beside the Spine methods Run,
// RunUntilIdle, Stop, Backend and Dispatch. A package without handlers (an
// event package) has only the constants and New*Event functions; a payload
// type of another package gives only its Spine.Emit* method. A clash of one
// of them with a declaration of the user's, or of two of them with each
// other, is an error that says what to rename.
//
// Every other name is necrogen's own choice, made so that it cannot clash:
// the import names, the Spine's fields, the adapter methods and every
// parameter and local variable. A namespace hands out, for each, the first
// candidate that nothing in its scope has taken.

// Fixed public identifiers of the generated file.
const (
	spineType  = "Spine"
	spineCtor  = "NewSpine"
	routesFunc = "Routes"
)

// spineMethods are the fixed methods of the Spine; Emit* methods come on top.
var spineMethods = []string{"Run", "RunUntilIdle", "Subscribe", "Stop", "Backend", "Dispatch"}

// Import paths of the generated file.
const (
	contextPath = "context"
	errorsPath  = "errors"
)

// Local names: every function of the generated file uses the same name for
// the same role, chosen once per file by assignNames.
const (
	localSpine   = "s"       // the receiver of Spine methods
	localCtx     = "ctx"     // the context.Context parameter
	localIn      = "in"      // the event being dispatched
	localOut     = "out"     // the events emitted so far
	localPayload = "p"       // the typed payload
	localErr     = "err"     // an error
	localResult  = "r"       // what a handler returned
	localElem    = "v"       // one element of a []T result
	localBackend = "backend" // NewSpine's backend parameter
	localOpts    = "opts"    // NewSpine's options
	localStart   = "start"   // RunUntilIdle's start events
	localEmitted = "emitted" // an adapter's result: out plus what its organ emitted
)

var fixedLocals = []string{localSpine, localCtx, localIn, localOut, localPayload, localErr,
	localResult, localElem, localBackend, localOpts, localStart, localEmitted}

// names holds the identifiers chosen for one generated file.
type names struct {
	imports map[string]string   // import path → its name in the file
	runner  string              // the Spine field holding the runtime.Runner
	field   map[*organ]string   // the Spine field of each method organ
	param   map[*organ]string   // the NewSpine parameter of each method organ
	adapter map[*handler]string // the Spine method wrapping each handler
	local   map[string]string   // fixed local name (localCtx, ...) → name in the file
	errs    []string            // the error variables of a fan-out: err1, err2, ...
}

// l returns the name in the file of a fixed local name.
func (n *names) l(role string) string { return n.local[role] }

// namespace hands out identifiers that nothing else in it has taken.
type namespace map[string]bool

func (ns namespace) take(names ...string) {
	for _, n := range names {
		ns[n] = true
	}
}

// fresh returns the first of the candidates that is free, or else the last
// one with the smallest number from 2 up that makes it free, and takes it.
func (ns namespace) fresh(candidates ...string) string {
	for _, c := range candidates {
		if !ns[c] {
			ns[c] = true
			return c
		}
	}
	last := candidates[len(candidates)-1]
	for i := 2; ; i++ {
		if c := last + strconv.Itoa(i); !ns[c] {
			ns[c] = true
			return c
		}
	}
}

// keywords are Go's keywords, which no identifier may be.
var keywords = func() []string {
	var out []string
	for t := token.ILLEGAL; t <= token.TILDE+100; t++ {
		if t.IsKeyword() {
			out = append(out, t.String())
		}
	}
	return out
}()

// userNames are the user's declarations that the generated file shares a
// scope with, in every file of the package: the built ones, those excluded
// by build constraints (another platform builds them with necro_gen.go) and
// the package's own _test.go files (go test builds them with it).
type userNames struct {
	pkg     map[string]token.Pos // package-level identifiers
	spine   map[string]token.Pos // methods declared on Spine
	methods map[string]token.Pos // every method, as Type.Method (codec names are reserved on payload types)
}

func newUserNames() *userNames {
	return &userNames{pkg: map[string]token.Pos{}, spine: map[string]token.Pos{}, methods: map[string]token.Pos{}}
}

// addFile records the top-level declarations of f.
func (u *userNames) addFile(f *ast.File) {
	add := func(m map[string]token.Pos, id *ast.Ident) {
		if id == nil || id.Name == "_" {
			return
		}
		if old, ok := m[id.Name]; !ok || id.Pos() < old {
			m[id.Name] = id.Pos()
		}
	}
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			if decl.Recv != nil && decl.Name.Name != "_" {
				add(u.methods, &ast.Ident{NamePos: decl.Name.NamePos, Name: receiverBase(decl.Recv) + "." + decl.Name.Name})
			}
			switch {
			case decl.Recv == nil:
				if decl.Name.Name != "init" {
					add(u.pkg, decl.Name)
				}
			case receiverBase(decl.Recv) == spineType:
				add(u.spine, decl.Name)
			}
		case *ast.GenDecl:
			for _, spec := range decl.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					add(u.pkg, spec.Name)
				case *ast.ValueSpec:
					for _, id := range spec.Names {
						add(u.pkg, id)
					}
				}
			}
		}
	}
}

// receiverBase returns the name of a method's receiver type: T for T, *T,
// T[P] and *T[P].
func receiverBase(recv *ast.FieldList) string {
	if recv == nil || len(recv.List) == 0 {
		return ""
	}
	t := recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// origin is what makes necrogen generate a public name.
type origin struct {
	what string    // "type Knock", "event type KNOCK"
	pos  token.Pos // where it is declared
}

// publicName is one fixed name of the generated file.
type publicName struct {
	name   string
	member bool    // a method of Spine, not a package-level name
	from   *origin // nil for Spine, NewSpine, Routes and the fixed methods
}

func (p publicName) String() string {
	if p.member {
		return spineType + "." + p.name
	}
	return p.name
}

// publicNames lists the fixed names the generated file of m declares.
func publicNames(m *pkgModel) []publicName {
	spine := len(m.Handlers) > 0
	var out []publicName
	if spine {
		out = append(out, publicName{name: spineType}, publicName{name: spineCtor}, publicName{name: routesFunc})
		for _, name := range spineMethods {
			out = append(out, publicName{name: name, member: true})
		}
	}
	for _, e := range m.Events {
		switch {
		case e.Type == nil:
			o := &origin{what: "event type " + e.Name, pos: e.Pos}
			out = append(out, publicName{name: e.ConstName(), from: o})
		case m.foreign(e):
			o := &origin{what: "type " + e.Type.Pkg().Name() + "." + e.Type.Name(), pos: e.Pos}
			out = append(out, publicName{name: emitMethod(e), member: true, from: o})
		default:
			o := &origin{what: "type " + e.Type.Name(), pos: e.Type.Pos()}
			out = append(out,
				publicName{name: e.ConstName(), from: o},
				publicName{name: newEventFunc(e), from: o})
			if spine {
				out = append(out, publicName{name: emitMethod(e), member: true, from: o})
			}
		}
	}
	return out
}

// generatedNames lists the package-level identifiers the generated file of m
// declares — with Spine, NewSpine and Routes when the package has
// //necro:listens directives, even if none of them is a valid handler yet.
func generatedNames(m *pkgModel) []string {
	var out []string
	if len(m.Handlers) == 0 && m.listens {
		out = append(out, spineType, spineCtor, routesFunc)
	}
	for _, p := range publicNames(m) {
		if !p.member {
			out = append(out, p.name)
		}
	}
	return out
}

// assignNames checks the public names of m against each other and against
// the user's declarations, reporting every clash, and chooses all the other
// names of the generated file.
func assignNames(m *pkgModel, user *userNames, d *diags) *names {
	public := publicNames(m)
	checkPublicNames(m, public, user, d)

	// Package scope: the import names.
	pkgScope := namespace{}
	for name := range user.pkg {
		pkgScope.take(name)
	}
	for _, p := range public {
		if !p.member {
			pkgScope.take(p.name)
		}
	}
	n := &names{imports: map[string]string{}, field: map[*organ]string{}, param: map[*organ]string{}, adapter: map[*handler]string{}, local: map[string]string{}}
	for _, path := range []string{contextPath, errorsPath, runtimePath} {
		n.imports[path] = pkgScope.fresh(filepath.Base(path))
	}
	for _, p := range foreignPackages(m) {
		n.imports[p.Path()] = pkgScope.fresh(p.Name())
	}
	nameCodecs(m.codecs, pkgScope)

	// The Spine's fields and methods.
	members := namespace{}
	members.take(keywords...)
	for name := range user.spine {
		members.take(name)
	}
	for _, p := range public {
		if p.member {
			members.take(p.name)
		}
	}
	n.runner = members.fresh("runner")
	for _, o := range m.Organs {
		n.field[o] = members.fresh(o.Param, o.Param+"Organ")
	}
	for _, h := range m.Handlers {
		n.adapter[h] = members.fresh(adapterBase(h))
	}

	// Function scopes: parameters and locals must not hide anything a
	// generated body refers to — the universe (nil, panic, ...), the imports,
	// the generated names, the payload and organ types and the handler
	// functions — nor each other.
	locals := namespace{}
	locals.take(keywords...)
	locals.take(types.Universe.Names()...)
	for _, name := range n.imports {
		locals.take(name)
	}
	for _, p := range public {
		locals.take(p.name)
	}
	for _, e := range m.Events {
		if e.Type != nil && !m.foreign(e) {
			locals.take(e.Type.Name())
		}
	}
	for _, o := range m.Organs {
		locals.take(o.Type.Name())
	}
	for _, h := range m.Handlers {
		if h.Organ == nil {
			locals.take(h.Func.Name())
		}
	}
	for _, role := range fixedLocals {
		n.local[role] = locals.fresh(role)
	}
	for _, o := range m.Organs {
		n.param[o] = locals.fresh(o.Param, o.Param+"Organ")
	}
	for i := range maxFanOut(m) {
		n.errs = append(n.errs, locals.fresh(localErr+strconv.Itoa(i+1)))
	}
	return n
}

// checkPublicNames reports public names that a user's declaration already
// has, and public names that two event types would both generate.
func checkPublicNames(m *pkgModel, public []publicName, user *userNames, d *diags) {
	for _, p := range public {
		switch {
		case !p.member:
			if pos, ok := user.pkg[p.name]; ok {
				d.errorf(pos, "%s is declared here, but necrogen generates %s in package %s%s: rename this declaration", p.name, p.name, m.Name, p.because())
			}
		default:
			if pos, ok := user.spine[p.name]; ok {
				d.errorf(pos, "method %s.%s is declared here, but necrogen generates %s%s: rename this method", spineType, p.name, p, p.because())
			}
		}
	}
	// Two origins of one name: report once per pair, at the later one,
	// with every name the pair shares.
	first := map[string]*origin{}
	type pair struct{ a, b *origin }
	shared := map[pair][]string{}
	var pairs []pair
	for _, p := range public {
		if p.from == nil {
			continue
		}
		key := p.String()
		o, ok := first[key]
		if !ok {
			first[key] = p.from
			continue
		}
		a, b := o, p.from
		if b.pos < a.pos {
			a, b = b, a
		}
		k := pair{a, b}
		if _, ok := shared[k]; !ok {
			pairs = append(pairs, k)
		}
		shared[k] = append(shared[k], key)
	}
	slices.SortFunc(pairs, func(x, y pair) int { return cmp.Compare(x.b.pos, y.b.pos) })
	for _, k := range pairs {
		d.errorf(k.b.pos, "necrogen would generate %s both for %s and for %s (%s): rename one of them%s",
			andList(shared[k]), k.b.what, k.a.what, d.where(k.a.pos), renameHint(k.a, k.b))
	}
}

func (p publicName) because() string {
	if p.from == nil {
		return ""
	}
	return " for " + p.from.what
}

// renameHint says what the clash comes from when an event type (not a type
// name) gives a constant.
func renameHint(a, b *origin) string {
	ea, eb := strings.HasPrefix(a.what, "event type "), strings.HasPrefix(b.what, "event type ")
	switch {
	case ea && eb:
		return " (an envelope-only event type's constant is its name in CamelCase, without underscores)"
	case ea || eb:
		return " (a type's constant comes from its type name, an envelope-only event type's from the event type)"
	}
	return ""
}

// andList joins names as "A", "A and B" or "A, B and C".
func andList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// foreignPackages returns the packages whose payload types m uses, sorted by
// path: the generated file imports them.
func foreignPackages(m *pkgModel) []*types.Package {
	seen := map[string]bool{}
	var out []*types.Package
	for _, e := range m.Events {
		if e.Type != nil && m.foreign(e) && !seen[e.Owner] {
			seen[e.Owner] = true
			out = append(out, e.Type.Pkg())
		}
	}
	slices.SortFunc(out, func(a, b *types.Package) int { return cmp.Compare(a.Path(), b.Path()) })
	return out
}

// maxFanOut returns the largest number of handlers of one event type.
func maxFanOut(m *pkgModel) int {
	n := 0
	for _, e := range m.Events {
		n = max(n, len(m.handlersOf(e.Name)))
	}
	return n
}

func newEventFunc(e *eventType) string { return "New" + exportName(e.Type.Name()) + "Event" }
func emitMethod(e *eventType) string   { return "Emit" + exportName(e.Type.Name()) }

// adapterBase is the name an adapter method would have if nothing clashed:
// necroSummonSpirit, necroOracleAskQuestion.
func adapterBase(h *handler) string {
	if h.Organ != nil {
		return "necro" + exportName(h.Organ.Type.Name()) + exportName(h.Func.Name())
	}
	return "necro" + exportName(h.Func.Name())
}
