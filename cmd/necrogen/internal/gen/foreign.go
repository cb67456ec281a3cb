package gen

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"

	"golang.org/x/tools/go/packages"
)

// Payload types of other packages.
//
// The package that declares a payload type owns it: its //necro:event or
// //necro:entry marks it as an event type and names it, and necrogen run on
// that package generates its Event<T> constant and New<T>Event constructor. A
// handler package that takes or returns the type refers to those, so the
// name of a payload type never changes with who uses it.

// mark is what a package says of one of its types with //necro:event or
// //necro:entry.
type mark struct {
	name  string    // the event type: the directive's name, or the default
	entry bool      // //necro:entry
	pos   token.Pos // the type's name in its declaration
}

// marksOf returns the types that the package at path marks as event types,
// by type name, read from the directives in its source: those of a loaded
// package from its syntax, those of any other from its files, parsed here
// once. A directive that its own package would reject is read as best it
// can be; necrogen run on that package reports it.
func (src *typeSource) marksOf(path string) map[string]mark {
	if m, ok := src.marks[path]; ok {
		return m
	}
	var files []*ast.File
	if r := src.roots[path]; r != nil {
		files = r.pkg.Syntax
	} else {
		if _, ok := src.files[path]; !ok {
			src.loadDep(path)
		}
		for _, name := range src.files[path] {
			if filepath.Base(name) == OutputName {
				continue
			}
			if f, err := parser.ParseFile(src.fset, name, nil, parser.ParseComments|parser.SkipObjectResolution); err == nil {
				files = append(files, f)
			}
		}
	}
	marks := map[string]mark{}
	scratch := &diags{fset: src.fset}
	for _, f := range files {
		dirs := scanDirectives(f, scratch)
		if len(dirs) == 0 {
			continue
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				docs := []*ast.CommentGroup{ts.Doc}
				if len(gd.Specs) == 1 {
					docs = append(docs, gd.Doc)
				}
				for _, doc := range docs {
					if doc == nil {
						continue
					}
					for _, c := range doc.List {
						dir, ok := dirs[c.Slash]
						if !ok || dir.Verb == verbListens {
							continue
						}
						mk, seen := marks[ts.Name.Name]
						if !seen {
							mk = mark{name: screamingSnake(ts.Name.Name), pos: ts.Name.Pos()}
						}
						switch {
						case dir.Verb == verbEntry:
							mk.entry = true
						case len(dir.Args) == 1 && validEventName(dir.Args[0]):
							mk.name = dir.Args[0]
						}
						marks[ts.Name.Name] = mk
					}
				}
			}
		}
	}
	src.marks[path] = marks
	return marks
}

// loadDep asks the go command for the files and export data of a package
// that no loaded package imports directly: one whose type reaches a handler
// through another package (an alias, a field).
func (src *typeSource) loadDep(path string) {
	src.files[path] = nil
	deps, err := packages.Load(&packages.Config{
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedExportFile,
		Dir:        src.cfg.Dir,
		Env:        src.cfg.Env,
		BuildFlags: src.buildFlags,
	}, path)
	if err != nil {
		src.errs[path] = err.Error()
		return
	}
	src.addDeps(deps)
}

// addForeignEvent registers obj, the payload type of handler h declared in
// another package, as an event type of that package, where it must be
// marked and generated already. It reports why not at the handler, and
// returns false then. role says where h has the type: "parameter" or
// "result".
func (a *analyzer) addForeignEvent(obj *types.TypeName, h *handler, role string) bool {
	if a.m.eventOf(obj) != nil {
		return true
	}
	owner := obj.Pkg()
	what := role + " type " + owner.Name() + "." + obj.Name()
	if problem := payloadTypeProblem(obj); problem != "" {
		a.d.errorf(h.Pos, "handler %s: %s cannot be an event payload: %s", h.Name, what, problem)
		return false
	}
	if !obj.Exported() {
		a.d.errorf(h.Pos, "handler %s: %s is unexported: a payload type of another package must be exported, as the generated code names it", h.Name, what)
		return false
	}
	mk, ok := a.src.marksOf(owner.Path())[obj.Name()]
	if !ok {
		a.d.errorf(h.Pos, "handler %s: %s is declared in package %s, which does not mark it as an event type: mark it //necro:event (or //necro:entry) there, where its event type is named and its helpers are generated, or declare a payload type in this package",
			h.Name, what, owner.Path())
		return false
	}
	constName := "Event" + exportName(obj.Name())
	c, _ := owner.Scope().Lookup(constName).(*types.Const)
	_, ctor := owner.Scope().Lookup("New" + exportName(obj.Name()) + "Event").(*types.Func)
	rerun := "run necrogen on that package first, or run necrogen ./..., which generates the packages that declare payload types before the packages that use them"
	switch {
	case c == nil || !ctor || c.Val().Kind() != constant.String:
		a.d.errorf(h.Pos, "handler %s: %s is event type %s of package %s, which has not been generated yet (it has no %s): %s",
			h.Name, what, mk.name, owner.Path(), constName, rerun)
		return false
	case constant.StringVal(c.Val()) != mk.name:
		a.d.errorf(h.Pos, "handler %s: %s is event type %s, but the generated file of package %s is stale (its %s is %s): %s",
			h.Name, what, mk.name, owner.Path(), constName, c.Val().ExactString(), rerun)
		return false
	}
	if other := a.m.eventByName(mk.name); other != nil {
		a.reportBound(h.Pos, mk.name, obj, other)
		return false
	}
	a.m.addEvent(&eventType{Name: mk.name, Type: obj, Pos: h.Pos, Decl: mk.pos, Entry: mk.entry, Marked: true, Owner: owner.Path()})
	return true
}
