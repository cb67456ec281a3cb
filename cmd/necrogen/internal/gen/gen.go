// Package gen is necrogen's generator: load (go/packages, then type-check)
// → analyze (directives, handler shapes, event names, generated names, wire
// fidelity) → lint (the flow of events) → emit (jennifer) → verify (type-check
// the new file with its package) → write. Generate is pure: it returns files
// and diagnostics and touches no file; Write and Check act on its result.
package gen

import (
	"bytes"
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"slices"
	"strings"
)

// File is one generated file and what is on disk now.
type File struct {
	Path    string // absolute path of necro_gen.go
	Content []byte // what necrogen generates
	Old     []byte // what is on disk, nil if absent
}

// Stale reports whether the file on disk differs from Content.
func (f File) Stale() bool { return !bytes.Equal(f.Content, f.Old) }

// Result is the outcome of Generate.
type Result struct {
	Files       []File       // one per package with handlers, sorted by path
	Orphans     []string     // necro_gen.go files of ours whose package has nothing left to generate
	Diagnostics []Diagnostic // sorted; any Error means Files must not be written
	Dir         string       // the directory positions are reported relative to
	models      []*pkgModel
}

// HasErrors reports whether any diagnostic is an error.
func (r *Result) HasErrors() bool { return errorCount(r.Diagnostics) > 0 }

// ErrorCount returns how many diagnostics are errors.
func (r *Result) ErrorCount() int { return errorCount(r.Diagnostics) }

// Rel returns path relative to r.Dir when it lies inside it.
func (r *Result) Rel(path string) string { return Rel(r.Dir, path) }

// Generate loads the packages of cfg and generates their files. An error is
// returned only when the packages cannot be loaded at all; problems in the
// input are Diagnostics.
//
// Packages are generated in import order, each type-checked with the new
// files of the loaded packages it imports: a package that declares payload
// types comes before the packages whose handlers use them, so one run over
// ./... generates a module from scratch. A package that imports a loaded
// package with errors is left out (its own errors would follow from those).
// The flow lint then runs over every package generated (see lint).
func Generate(cfg Config) (*Result, error) {
	pkgs, src, fset, err := load(cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: cfg.Dir}
	var diagnostics []Diagnostic
	failed := map[string]bool{} // loaded packages with errors, by path
	ordered := src.order()
	for _, l := range pkgs {
		if len(l.pkg.Syntax) == 0 {
			ordered = append(ordered, l) // nothing to check; order left it out
		}
	}
	for _, l := range ordered {
		if importsFailed(l, src, failed) {
			failed[l.pkg.PkgPath] = true
			continue
		}
		if len(l.pkg.Syntax) > 0 {
			src.check(l)
		}
		out := generatePackage(cfg, l, &diags{fset: fset})
		diagnostics = append(diagnostics, out.diags...)
		if errorCount(out.diags) > 0 {
			failed[l.pkg.PkgPath] = true
		}
		if out.file != nil {
			res.Files = append(res.Files, *out.file)
			res.models = append(res.models, out.model)
		}
		if out.orphan != "" {
			res.Orphans = append(res.Orphans, out.orphan)
		}
	}
	slices.SortFunc(res.Files, func(a, b File) int { return cmp.Compare(a.Path, b.Path) })
	slices.SortFunc(res.models, func(a, b *pkgModel) int { return cmp.Compare(a.Path, b.Path) })
	slices.Sort(res.Orphans)
	d := &diags{fset: fset}
	lint(res.models, cfg.Dir, d)
	if cfg.Strict {
		for i := range d.list {
			d.list[i].Severity = Error
		}
	}
	res.Diagnostics = sortDiagnostics(append(diagnostics, d.list...))
	return res, nil
}

// importsFailed reports whether l imports a loaded package that has errors.
func importsFailed(l *loaded, src *typeSource, failed map[string]bool) bool {
	for _, imp := range l.pkg.Imports {
		if src.roots[imp.PkgPath] != nil && failed[imp.PkgPath] {
			return true
		}
	}
	return false
}

// pkgOutput is what one package contributes to a Result.
type pkgOutput struct {
	diags  []Diagnostic
	file   *File     // the file to write, if the package has handlers and no errors
	model  *pkgModel // its model, for graphs
	orphan string    // a necro_gen.go of ours to remove
}

// generatePackage runs the steps for one package: analyze its directives
// into a model, check that its output file is ours, add its load and type
// errors; then, with no error so far, generate its file — or mark its old
// file an orphan when no handler is left.
func generatePackage(cfg Config, l *loaded, d *diags) pkgOutput {
	if l.dir == "" {
		// A pattern that matched no files: only go/packages has something to say.
		return pkgOutput{diags: loadErrors(l, nil)}
	}
	m := analyze(l, d)
	if m == nil && !l.ours && len(d.list) == 0 {
		return pkgOutput{} // nothing to generate or remove here, whatever state it is in
	}
	checkOutputIsOurs(l, m, d)
	// Type errors come with the directive problems: analyze has skipped
	// what the type checker could not type.
	d.list = append(loadErrors(l, m), d.list...)
	var out pkgOutput
	switch {
	case d.hasErrors():
	case !m.generates():
		if l.ours {
			out.orphan = l.output
		}
	default:
		if out.file = generateFile(cfg, l, m, d); out.file != nil {
			out.model = m
		}
	}
	out.diags = d.list
	return out
}

// generateFile emits the file of a package and type-checks it with the
// package. It returns nil when a step finds an error; with cfg.Strict, the
// warnings of analysis (wire) are errors.
func generateFile(cfg Config, l *loaded, m *pkgModel, d *diags) *File {
	if cfg.Strict {
		for i := range d.list {
			d.list[i].Severity = Error
		}
	}
	if d.hasErrors() {
		return nil
	}
	src, err := emit(m)
	var content []byte
	var file *ast.File
	if err == nil {
		content, file, err = gofmt(d.fset, l.output, src)
	}
	if err != nil {
		d.list = append(d.list, Diagnostic{Pos: token.Position{Filename: l.output}, Msg: err.Error()})
		return nil
	}
	if verify(l, file, src, d); d.hasErrors() {
		return nil
	}
	return &File{Path: l.output, Content: content, Old: l.existing}
}

// GCPercent is the garbage collector's target the necrogen command runs
// with (unless GOGC is set): parsing, printing and type-checking a large
// generated file allocates several times the live heap, and a short-lived
// process need not collect as often as a server.
const GCPercent = 400

// checkOutputIsOurs reports a necro_gen.go that necrogen did not write in a
// package it would write one for: necrogen never overwrites it.
func checkOutputIsOurs(l *loaded, m *pkgModel, d *diags) {
	if m == nil || l.existing == nil || l.ours {
		return
	}
	d.list = append(d.list, Diagnostic{
		Pos: token.Position{Filename: l.output, Line: 1, Column: 1},
		Msg: fmt.Sprintf("%s exists but was not written by necrogen (its first line is not %q): rename or remove it, necrogen will not overwrite it", OutputName, Header),
	})
}

// loadErrors returns the load and type errors of a package, leaving out
// "undefined: X" for the names the generated file will declare: user code
// may use NewSpine before necro_gen.go exists.
func loadErrors(l *loaded, m *pkgModel) []Diagnostic {
	generated := map[string]bool{}
	if m != nil {
		for _, n := range generatedNames(m) {
			generated[n] = true
		}
	}
	var out []Diagnostic
	for _, e := range l.pkg.Errors {
		if name, ok := strings.CutPrefix(e.Msg, "undefined: "); ok && generated[name] {
			continue
		}
		if m != nil && m.codecs.generatesMethod(e.Msg) {
			continue
		}
		out = append(out, parsePackageError(e))
	}
	return out
}
