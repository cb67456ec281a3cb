package gen

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// analyze builds the model of one package from its syntax and types,
// reporting every problem to d. It returns nil when the package has no
// directives at all. Checks that need types skip what the type checker
// could not type, so that a package's type errors come with its directive
// problems and without noise.
func analyze(l *loaded, d *diags) *pkgModel {
	pkg := l.pkg
	m := newModel(pkg.PkgPath, pkg.Name, l.dir)
	m.Types = pkg.Types
	a := &analyzer{m: m, d: d, info: pkg.TypesInfo, pkg: pkg.Types, fset: d.fset, src: l.types,
		user: newUserNames(), files: map[string]*ast.File{}, constraints: map[string]string{}, cgo: map[string]bool{}}
	for _, f := range pkg.GoFiles {
		a.cgo[f] = true
	}
	for _, f := range pkg.CompiledGoFiles {
		delete(a.cgo, f) // left: the files cgo rewrote, those that import "C"
	}

	a.scanUnbuiltFiles(l)
	found := false
	for _, f := range pkg.Syntax {
		file := d.fset.Position(f.Package).Filename
		if filepath.Base(file) == OutputName {
			continue
		}
		a.files[file] = f
		a.user.addFile(f)
		dirs := scanDirectives(f, d)
		if len(dirs) == 0 {
			continue
		}
		found = true
		if why := a.constrained(file); why != "" {
			for _, dir := range sortedDirectives(dirs) {
				d.errorf(dir.Pos, "//necro:%s in %s: %s has no build constraints, so it would not compile where this file is left out; move the declaration to a file built on every platform", dir.Verb, why, OutputName)
			}
			continue
		}
		a.collect(f, file, dirs)
	}
	if !found {
		return nil
	}
	m.listens = len(a.funcs) > 0
	a.resolveEvents()
	a.resolveHandlers()
	m.index()
	if m.generates() {
		a.checkReferencedFiles()
		checkWire(m, d)
		m.codecs = planCodecs(m, a.user, d)
		m.names = assignNames(m, a.user, d)
	}
	return m
}

type analyzer struct {
	m    *pkgModel
	d    *diags
	info *types.Info
	pkg  *types.Package
	fset *token.FileSet
	src  *typeSource // the types of other packages, and their marks

	user        *userNames           // the user's declarations the generated file must not clash with
	files       map[string]*ast.File // built files by name
	constraints map[string]string    // file → why it is not built everywhere ("" if it is)
	cgo         map[string]bool      // files that import "C"

	funcs []funcDirective // //necro:listens on functions, in file order
	types []typeDirective // //necro:event and //necro:entry on types
}

type funcDirective struct {
	decl *ast.FuncDecl
	file string
	dirs []directive
}

type typeDirective struct {
	spec *ast.TypeSpec
	dir  directive
}

// collect attaches each directive to its declaration and reports the ones on
// the wrong kind of declaration or on none.
func (a *analyzer) collect(f *ast.File, file string, dirs map[token.Pos]directive) {
	used := map[token.Pos]bool{}
	take := func(doc *ast.CommentGroup) []directive {
		var out []directive
		if doc == nil {
			return nil
		}
		for _, c := range doc.List {
			if dir, ok := dirs[c.Slash]; ok && !used[c.Slash] {
				used[c.Slash] = true
				out = append(out, dir)
			}
		}
		return out
	}
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			var listens []directive
			for _, dir := range take(decl.Doc) {
				if dir.Verb != verbListens {
					a.d.errorf(dir.Pos, "//necro:%s belongs on a type declaration, not on func %s", dir.Verb, decl.Name.Name)
					continue
				}
				listens = append(listens, dir)
			}
			if len(listens) > 1 {
				a.d.errorf(listens[1].Pos, "func %s has more than one //necro:listens: list every event type on one line", decl.Name.Name)
			}
			if len(listens) > 0 {
				a.funcs = append(a.funcs, funcDirective{decl: decl, file: file, dirs: listens[:1]})
			}
		case *ast.GenDecl:
			groupDirs := take(decl.Doc)
			for _, spec := range decl.Specs {
				var specDirs []directive
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					specDirs = take(spec.Doc)
					if len(decl.Specs) == 1 {
						specDirs = append(groupDirs, specDirs...)
					}
					for _, dir := range specDirs {
						if dir.Verb == verbListens {
							a.d.errorf(dir.Pos, "//necro:listens must be in the doc comment of a function or method, not of type %s; put //necro:event on types", spec.Name.Name)
							continue
						}
						a.types = append(a.types, typeDirective{spec: spec, dir: dir})
					}
				case *ast.ValueSpec:
					for _, dir := range take(spec.Doc) {
						a.d.errorf(dir.Pos, "//necro:%s on a %s declaration: //necro:listens goes on a function or method, //necro:event and //necro:entry on a type", dir.Verb, decl.Tok)
					}
				}
			}
			if len(decl.Specs) != 1 || decl.Tok != token.TYPE {
				for _, dir := range groupDirs {
					what := decl.Tok.String()
					if decl.Tok == token.TYPE {
						what = "grouped type"
					}
					a.d.errorf(dir.Pos, "//necro:%s on a %s declaration: //necro:listens goes on a function or method, //necro:event and //necro:entry directly on one type", dir.Verb, what)
				}
			}
		}
	}
	for pos, dir := range dirs {
		if !used[pos] {
			a.d.errorf(pos, "//necro:%s is not attached to a declaration: put it in the doc comment directly above a func or type", dir.Verb)
		}
	}
}

// resolveEvents binds event types to payload types.
func (a *analyzer) resolveEvents() {
	explicit := map[*types.TypeName]directive{}
	for _, td := range a.types {
		obj, _ := a.info.Defs[td.spec.Name].(*types.TypeName)
		if obj == nil {
			continue
		}
		switch td.dir.Verb {
		case verbEvent:
			if len(td.dir.Args) > 1 {
				a.d.errorf(td.dir.Pos, "//necro:event takes at most one event type, such as //necro:event %s; got %d arguments", screamingSnake(obj.Name()), len(td.dir.Args))
				continue
			}
			if prev, dup := explicit[obj]; dup {
				a.d.errorf(td.dir.Pos, "type %s has a second //necro:event (the first is at %s): give each type one event type", obj.Name(), a.d.where(prev.Pos))
				continue
			}
			if len(td.dir.Args) == 1 && !validEventName(td.dir.Args[0]) {
				a.d.errorf(td.dir.Pos, "invalid event type %q: use SCREAMING_SNAKE_CASE (upper-case letters, digits and single underscores, starting with a letter), such as %s", td.dir.Args[0], screamingSnake(obj.Name()))
				continue
			}
			explicit[obj] = td.dir
			named := td.dir
			if len(td.dir.Args) == 0 {
				named = directive{} // the default name
			}
			if e := a.addTypedEvent(obj, named); e != nil {
				e.Marked = true
			}
		case verbEntry:
			if len(td.dir.Args) != 0 {
				a.d.errorf(td.dir.Pos, "//necro:entry takes no arguments; name the event type with //necro:event")
				continue
			}
			if e := a.addTypedEvent(obj, directive{}); e != nil {
				e.Entry, e.Marked = true, true
			}
		}
	}
}

// addTypedEvent registers obj as a payload type, with the name of dir or its
// default name, and reports a name bound to two types.
func (a *analyzer) addTypedEvent(obj *types.TypeName, dir directive) *eventType {
	if e := a.m.eventOf(obj); e != nil {
		if dir.Pos.IsValid() && !e.Explicit.IsValid() {
			// An explicit name replaces the default one.
			if other := a.m.eventByName(dir.Args[0]); other != nil && other != e {
				a.reportBound(dir.Pos, dir.Args[0], obj, other)
				return e
			}
			a.m.rename(e, dir.Args[0])
			e.Explicit = dir.Pos
		}
		return e
	}
	if err := payloadTypeProblem(obj); err != "" {
		pos := dir.Pos
		if !pos.IsValid() {
			pos = obj.Pos()
		}
		a.d.errorf(pos, "type %s cannot be an event payload: %s", obj.Name(), err)
		return nil
	}
	name := screamingSnake(obj.Name())
	if dir.Pos.IsValid() {
		name = dir.Args[0]
	}
	if other := a.m.eventByName(name); other != nil {
		pos := dir.Pos
		if !pos.IsValid() {
			pos = obj.Pos()
		}
		a.reportBound(pos, name, obj, other)
		return nil
	}
	e := &eventType{Name: name, Type: obj, Pos: obj.Pos(), Decl: obj.Pos(), Explicit: dir.Pos}
	a.m.addEvent(e)
	return e
}

func (a *analyzer) reportBound(pos token.Pos, name string, obj *types.TypeName, other *eventType) {
	if other.Type == nil {
		a.d.errorf(pos, "event type %s is bound to type %s here but used without a type earlier", name, a.typeName(obj))
		return
	}
	a.d.errorf(pos, "event type %s is bound to two types, %s and %s (%s): each event type names exactly one payload type; rename one with //necro:event",
		name, a.typeName(obj), a.typeName(other.Type), a.d.where(other.Pos))
}

// typeName is the name of a type as this package's code writes it:
// Knock, or events.OrderPlaced for a type of another package.
func (a *analyzer) typeName(obj *types.TypeName) string {
	if obj.Pkg() == nil || obj.Pkg() == a.pkg {
		return obj.Name()
	}
	return obj.Pkg().Name() + "." + obj.Name()
}

// payloadTypeProblem says why obj cannot be a payload type, or "".
func payloadTypeProblem(obj *types.TypeName) string {
	named, ok := obj.Type().(*types.Named)
	if !ok || obj.IsAlias() {
		return "it is an alias; declare a defined type"
	}
	if named.Underlying() == types.Typ[types.Invalid] {
		return "" // the type checker has reported it
	}
	if named.TypeParams().Len() > 0 {
		return "it is generic"
	}
	if types.IsInterface(named) {
		return "it is an interface; payloads are concrete values"
	}
	return ""
}

// resolveHandlers checks every //necro:listens function and builds its handler.
func (a *analyzer) resolveHandlers() {
	// Payload types first, so that default names exist before listens are checked.
	type pending struct {
		fd  funcDirective
		h   *handler
		bad bool
	}
	var ps []pending
	for _, fd := range a.funcs {
		h, ok := a.signature(fd)
		ps = append(ps, pending{fd: fd, h: h, bad: !ok})
	}
	for i, p := range ps {
		if p.bad {
			continue
		}
		// A type of this package is its event type whatever its marks; a type
		// of another package must be one there.
		for _, t := range []struct {
			tn   *types.TypeName
			role string
		}{{p.h.Payload, "parameter"}, {p.h.ResultType, "result"}} {
			switch {
			case t.tn == nil:
			case t.tn.Pkg() == a.pkg:
				a.addTypedEvent(t.tn, directive{})
			case !a.addForeignEvent(t.tn, p.h, t.role):
				ps[i].bad = true
			}
		}
	}
	for _, p := range ps {
		if p.bad {
			continue
		}
		if a.listens(p.fd, p.h) {
			a.m.Handlers = append(a.m.Handlers, p.h)
		}
	}
	slices.SortStableFunc(a.m.Handlers, func(x, y *handler) int {
		return cmp.Or(cmp.Compare(x.File, y.File), cmp.Compare(x.Pos, y.Pos))
	})
	slices.SortStableFunc(a.m.Organs, func(x, y *organ) int {
		px, py := a.fset.Position(x.Type.Pos()), a.fset.Position(y.Type.Pos())
		return cmp.Or(cmp.Compare(px.Filename, py.Filename), cmp.Compare(px.Offset, py.Offset))
	})
}

const allowedShapes = "allowed: func([ctx context.Context,] p P) returning nothing, error, T, *T, []T, runtime.Event or []runtime.Event, each optionally followed by error, where P and T are defined types of this package or event types of another (P may be runtime.Event)"

// signature checks a handler's type and fills in its shape.
func (a *analyzer) signature(fd funcDirective) (*handler, bool) {
	decl := fd.decl
	fn, _ := a.info.Defs[decl.Name].(*types.Func)
	if fn == nil {
		return nil, false
	}
	sig := fn.Type().(*types.Signature)
	if receiverBase(decl.Recv) == spineType {
		a.d.errorf(decl.Name.Pos(), "handler %s.%s is a method of %s, which necrogen generates: declare the organ as a type of your own", spineType, decl.Name.Name, spineType)
		return nil, false
	}
	if signatureHasInvalid(sig) {
		return nil, false // the type checker has reported it
	}
	h := &handler{Name: decl.Name.Name, Func: fn, Pos: decl.Name.Pos(), File: fd.file}
	if decl.Type.TypeParams != nil && len(decl.Type.TypeParams.List) > 0 {
		a.d.errorf(decl.Name.Pos(), "handler %s is generic: necrogen wires handlers statically, so declare one non-generic function per payload type", decl.Name.Name)
		return nil, false
	}
	if recv := sig.Recv(); recv != nil {
		o, ok := a.organFor(decl, recv)
		if !ok {
			return nil, false
		}
		h.Organ = o
		h.Name = o.Type.Name() + "." + decl.Name.Name
	}
	params := sig.Params()
	var p types.Type
	switch {
	case params.Len() == 2 && isContext(params.At(0).Type()):
		h.HasCtx, p = true, params.At(1).Type()
	case params.Len() == 1 && !isContext(params.At(0).Type()):
		p = params.At(0).Type()
	default:
		a.d.errorf(decl.Name.Pos(), "handler %s has parameters %s: %s", h.Name, tupleString(params, a.pkg), allowedShapes)
		return nil, false
	}
	if sig.Variadic() {
		a.d.errorf(decl.Name.Pos(), "handler %s is variadic: %s", h.Name, allowedShapes)
		return nil, false
	}
	if isRuntimeEvent(p) {
		h.Envelope = true
	} else if tn := namedIn(p, a.pkg); tn != nil {
		if problem := payloadTypeProblem(tn); problem != "" {
			a.d.errorf(decl.Name.Pos(), "handler %s: parameter type %s cannot be an event payload: %s", h.Name, a.typeName(tn), problem)
			return nil, false
		}
		h.Payload = tn
	} else {
		hint := ""
		if ptr, ok := p.(*types.Pointer); ok && namedIn(ptr.Elem(), a.pkg) != nil {
			hint = " (take the payload by value: events are immutable)"
		}
		a.d.errorf(decl.Name.Pos(), "handler %s takes %s%s: %s", h.Name, types.TypeString(p, types.RelativeTo(a.pkg)), hint, allowedShapes)
		return nil, false
	}
	if !a.results(h, decl, sig.Results()) {
		return nil, false
	}
	return h, true
}

func (a *analyzer) results(h *handler, decl *ast.FuncDecl, res *types.Tuple) bool {
	n := res.Len()
	if n > 0 && isError(res.At(n-1).Type()) {
		h.ReturnsErr = true
		n--
	}
	bad := func() bool {
		a.d.errorf(decl.Name.Pos(), "handler %s returns %s: %s", h.Name, tupleString(res, a.pkg), allowedShapes)
		return false
	}
	switch n {
	case 0:
		h.Result = resultNone
		return true
	case 1:
	default:
		return bad()
	}
	t := res.At(0).Type()
	switch {
	case isRuntimeEvent(t):
		h.Result = resultEnvelope
	case isSliceOf(t, isRuntimeEvent):
		h.Result = resultEnvelopes
	default:
		kind, elem := resultValue, t
		if ptr, ok := t.(*types.Pointer); ok {
			kind, elem = resultPointer, ptr.Elem()
		} else if sl, ok := t.(*types.Slice); ok {
			kind, elem = resultSlice, sl.Elem()
		}
		tn := namedIn(elem, a.pkg)
		if tn == nil {
			return bad()
		}
		if problem := payloadTypeProblem(tn); problem != "" {
			a.d.errorf(decl.Name.Pos(), "handler %s returns %s, which cannot be an event payload: %s", h.Name, a.typeName(tn), problem)
			return false
		}
		h.Result, h.ResultType = kind, tn
	}
	return true
}

// organFor returns the organ of a method's receiver type, creating it on first use.
func (a *analyzer) organFor(decl *ast.FuncDecl, recv *types.Var) (*organ, bool) {
	t := recv.Type()
	ptr := false
	if p, ok := t.(*types.Pointer); ok {
		t, ptr = p.Elem(), true
	}
	named, ok := t.(*types.Named)
	if !ok {
		return nil, false
	}
	if named.TypeParams().Len() > 0 {
		a.d.errorf(decl.Name.Pos(), "handler %s.%s is a method of generic type %s: declare the organ as a non-generic type", named.Obj().Name(), decl.Name.Name, named.Obj().Name())
		return nil, false
	}
	for _, o := range a.m.Organs {
		if o.Type == named.Obj() {
			if o.Pointer != ptr {
				a.d.errorf(decl.Name.Pos(), "handler %s.%s mixes pointer and value receivers with the other handlers of %s: use one kind of receiver for every handler of an organ", named.Obj().Name(), decl.Name.Name, named.Obj().Name())
				return nil, false
			}
			return o, true
		}
	}
	o := &organ{Type: named.Obj(), Pointer: ptr, Param: paramName(named.Obj().Name())}
	a.m.Organs = append(a.m.Organs, o)
	return o, true
}

// paramName is the parameter (and field) name of an organ type before any
// clash is resolved: the type name with its leading capitals lowered
// (Oracle → oracle, HTTPServer → httpServer).
func paramName(typeName string) string {
	rs := []rune(typeName)
	for i := 0; i < len(rs) && rs[i] >= 'A' && rs[i] <= 'Z' && (i == 0 || i+1 == len(rs) || !(rs[i+1] >= 'a' && rs[i+1] <= 'z')); i++ {
		rs[i] = rs[i] - 'A' + 'a'
	}
	return string(rs)
}

// listens checks the event types of a //necro:listens line against the handler.
func (a *analyzer) listens(fd funcDirective, h *handler) bool {
	dir := fd.dirs[0]
	valid := true
	for _, name := range dir.Args {
		if !validEventName(name) {
			a.d.errorf(dir.Pos, "invalid event type %q in //necro:listens: use SCREAMING_SNAKE_CASE (upper-case letters, digits and single underscores, starting with a letter)", name)
			valid = false
		}
	}
	if !valid {
		return false
	}
	if h.Envelope {
		if len(dir.Args) == 0 {
			a.d.errorf(dir.Pos, "handler %s takes runtime.Event, so //necro:listens must name its event types, such as //necro:listens ORDER_PLACED ORDER_CANCELLED", h.Name)
			return false
		}
		seen := map[string]bool{}
		for _, name := range dir.Args {
			if seen[name] {
				a.d.errorf(dir.Pos, "//necro:listens names %s twice", name)
				return false
			}
			seen[name] = true
			if a.m.eventByName(name) == nil {
				a.m.addEvent(&eventType{Name: name, Pos: dir.Pos})
			}
		}
		h.Listens = dir.Args
		return true
	}
	e := a.m.eventOf(h.Payload)
	if e == nil {
		return false // already reported
	}
	switch len(dir.Args) {
	case 0:
	case 1:
		if dir.Args[0] != e.Name {
			a.d.errorf(dir.Pos, "handler %s listens to %s, but its parameter type %s is event type %s: write //necro:listens %s, or rename the type's event type with //necro:event %s",
				h.Name, dir.Args[0], h.Payload.Name(), e.Name, e.Name, dir.Args[0])
			return false
		}
	default:
		a.d.errorf(dir.Pos, "handler %s takes %s, so it listens to exactly one event type (%s); only a handler taking runtime.Event may list several, got %s",
			h.Name, h.Payload.Name(), e.Name, strings.Join(dir.Args, " "))
		return false
	}
	h.Listens = []string{e.Name}
	return true
}

// scanUnbuiltFiles reports directives in files the build does not include:
// _test.go files and files excluded by build constraints.
func (a *analyzer) scanUnbuiltFiles(l *loaded) {
	files := slices.Clone(l.pkg.IgnoredFiles)
	if entries, err := os.ReadDir(l.dir); err == nil {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), "_test.go") {
				files = append(files, filepath.Join(l.dir, e.Name()))
			}
		}
	}
	slices.Sort(files)
	files = slices.Compact(files)
	for _, file := range files {
		if !strings.HasSuffix(file, ".go") {
			continue
		}
		f, err := parser.ParseFile(a.fset, file, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		if f.Name.Name == l.pkg.Name {
			// Built with necro_gen.go elsewhere, or by go test.
			a.user.addFile(f)
		}
		for _, dir := range sortedDirectives(scanDirectives(f, a.d)) {
			if strings.HasSuffix(file, "_test.go") {
				a.d.errorf(dir.Pos, "//necro:%s in a _test.go file: %s is built without test files, so move this declaration to a non-test file", dir.Verb, OutputName)
			} else {
				a.d.errorf(dir.Pos, "//necro:%s in a file excluded by build constraints: %s has no build constraints, so it would not compile where this file is left out; move the declaration to a file built on every platform", dir.Verb, OutputName)
			}
		}
	}
}

// constrained says why a built file is not built on every platform and
// configuration — a //go:build line, a GOOS or GOARCH suffix in its name,
// an import of "C" — or returns "" when it is.
func (a *analyzer) constrained(file string) string {
	if why, ok := a.constraints[file]; ok {
		return why
	}
	why := ""
	switch suffix := platformSuffix(filepath.Base(file)); {
	case a.files[file] != nil && hasBuildConstraint(a.files[file]):
		why = filepath.Base(file) + ", which has a //go:build constraint"
	case suffix != "":
		why = fmt.Sprintf("%s, whose name suffix %s limits the platforms it is built on", filepath.Base(file), suffix)
	case a.cgo[file]:
		why = filepath.Base(file) + `, which imports "C" and is left out when cgo is disabled`
	}
	a.constraints[file] = why
	return why
}

// checkReferencedFiles reports the payload and organ types the generated
// file refers to that are declared in files not built everywhere: the
// generated file has no constraints and would not compile without them.
func (a *analyzer) checkReferencedFiles() {
	check := func(obj *types.TypeName, what string) {
		file := a.fset.Position(obj.Pos()).Filename
		if why := a.constrained(file); why != "" {
			a.d.errorf(obj.Pos(), "%s %s is declared in %s: %s refers to it and has no build constraints, so it would not compile where that file is left out; move the type to a file built on every platform", what, obj.Name(), why, OutputName)
		}
	}
	for _, e := range a.m.Events {
		if e.Type != nil && e.Type.Pkg() == a.pkg {
			check(e.Type, "payload type")
		}
	}
	for _, o := range a.m.Organs {
		check(o.Type, "organ type")
	}
}

// platformSuffix returns the suffix by which a file's name limits the
// platforms it is built on ("_linux", "_amd64", "_linux_amd64"), or "". It
// asks go/build, which knows the lists of GOOS and GOARCH values.
func platformSuffix(base string) string {
	matches := func(goos, goarch string) bool {
		ctxt := build.Context{GOOS: goos, GOARCH: goarch, Compiler: "gc",
			OpenFile: func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("package p\n")), nil }}
		ok, err := ctxt.MatchFile(".", base)
		return ok && err == nil
	}
	if matches("necrogen", "necrogen") {
		return ""
	}
	parts := strings.Split(strings.TrimSuffix(base, ".go"), "_")
	n := len(parts)
	if n >= 3 && !matches(parts[n-1], "necrogen") {
		return "_" + parts[n-2] + "_" + parts[n-1] // GOOS_GOARCH: neither alone satisfies it
	}
	return "_" + parts[n-1]
}

// signatureHasInvalid reports whether the type checker failed to type part
// of a signature.
func signatureHasInvalid(sig *types.Signature) bool {
	for _, t := range []*types.Tuple{sig.Params(), sig.Results()} {
		for i := range t.Len() {
			if isInvalid(t.At(i).Type()) {
				return true
			}
		}
	}
	return sig.Recv() != nil && isInvalid(sig.Recv().Type())
}

func isInvalid(t types.Type) bool {
	switch t := t.(type) {
	case *types.Basic:
		return t.Kind() == types.Invalid
	case *types.Pointer:
		return isInvalid(t.Elem())
	case *types.Slice:
		return isInvalid(t.Elem())
	case *types.Named:
		return t.Underlying() == types.Typ[types.Invalid]
	}
	return false
}

func sortedDirectives(m map[token.Pos]directive) []directive {
	out := make([]directive, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y directive) int { return cmp.Compare(x.Pos, y.Pos) })
	return out
}

func hasBuildConstraint(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			if constraint.IsGoBuild(c.Text) || constraint.IsPlusBuild(c.Text) {
				return true
			}
		}
	}
	return false
}

func isContext(t types.Type) bool { return isNamed(t, "context", "Context") }
func isRuntimeEvent(t types.Type) bool {
	return isNamed(t, runtimePath, "Event")
}
func isError(t types.Type) bool { return types.Identical(t, types.Universe.Lookup("error").Type()) }

func isNamed(t types.Type, pkg, name string) bool {
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	return n.Obj().Pkg().Path() == pkg && n.Obj().Name() == name
}

func isSliceOf(t types.Type, elem func(types.Type) bool) bool {
	s, ok := t.(*types.Slice)
	return ok && elem(s.Elem())
}

// namedIn returns the type name of t if t is a named type (not a pointer)
// of a package (not error).
func namedIn(t types.Type, _ *types.Package) *types.TypeName {
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil {
		return n.Obj()
	}
	return nil
}

func tupleString(t *types.Tuple, pkg *types.Package) string {
	parts := make([]string, t.Len())
	for i := range parts {
		parts[i] = types.TypeString(t.At(i).Type(), types.RelativeTo(pkg))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
