// Package gen is necrogen's generator: load (go/packages, full type
// information) → analyze (directives, handler shapes, event names) → emit
// (jennifer) → write. Generate is pure: it returns files and diagnostics and
// touches no file; Write and Check act on its result.
package gen

import (
	"bytes"
	"fmt"
	"go/token"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
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
	Orphans     []string     // necro_gen.go files of ours whose package has no handlers left
	Diagnostics []Diagnostic // sorted; any Error means Files must not be written
	Dir         string       // the directory positions are reported relative to
	models      []*pkgModel
}

// HasErrors reports whether any diagnostic is an error.
func (r *Result) HasErrors() bool {
	for _, d := range r.Diagnostics {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Generate loads the packages of cfg and generates their files. An error is
// returned only when the packages cannot be loaded at all; problems in the
// input are Diagnostics.
func Generate(cfg Config) (*Result, error) {
	pkgs, fset, err := load(cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: cfg.Dir}
	d := &diags{fset: fset}
	slices.SortFunc(pkgs, func(a, b *loaded) int { return strings.Compare(a.pkg.PkgPath, b.pkg.PkgPath) })
	for _, l := range pkgs {
		if l.dir == "" {
			for _, e := range l.pkg.Errors {
				d.list = append(d.list, parsePackageError(e))
			}
			continue
		}
		pd := &diags{fset: fset}
		m := analyze(l, pd)
		if m != nil && len(l.existing) > 0 && !l.ours {
			pd.list = append(pd.list, Diagnostic{
				Pos: token.Position{Filename: l.output, Line: 1, Column: 1},
				Msg: fmt.Sprintf("%s exists but was not written by necrogen (its first line is not %q): rename or remove it, necrogen will not overwrite it", OutputName, Header),
			})
		}
		if m == nil && !l.ours && len(pd.list) == 0 {
			continue // nothing to generate or remove here, whatever state it is in
		}
		if loadErrs := packageErrors(l, m); len(loadErrs) > 0 {
			// Analysing ill-typed code produces noise: report only the load errors.
			d.list = append(d.list, loadErrs...)
			continue
		}
		hasHandlers := m != nil && len(m.Handlers) > 0
		if hasHandlers && !hasError(pd.list) {
			lint(m, pd)
			if cfg.Strict {
				for i := range pd.list {
					pd.list[i].Severity = Error
				}
			}
		}
		d.list = append(d.list, pd.list...)
		switch {
		case hasHandlers:
			if hasError(pd.list) {
				continue
			}
			content, err := emit(m)
			if err != nil {
				d.list = append(d.list, Diagnostic{Pos: token.Position{Filename: l.output}, Msg: err.Error()})
				continue
			}
			res.Files = append(res.Files, File{Path: l.output, Content: content, Old: l.existing})
			res.models = append(res.models, m)
		case l.ours && !hasError(pd.list):
			res.Orphans = append(res.Orphans, l.output)
		}
	}
	res.Diagnostics = sortDiagnostics(d.list)
	return res, nil
}

func hasError(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// packageErrors returns the load and type errors of a package, leaving out
// "undefined: X" for the names the generated file will declare: user code
// may use NewSpine before necro_gen.go exists.
func packageErrors(l *loaded, m *pkgModel) []Diagnostic {
	generated := map[string]bool{}
	if m != nil {
		for _, n := range generatedNames(m) {
			generated[n] = true
		}
	}
	var out []Diagnostic
	for _, e := range l.pkg.Errors {
		if e.Kind == packages.ListError && strings.HasPrefix(e.Msg, "# ") {
			// The compiler's output for export data; the type checker
			// reports the same problems one by one.
			continue
		}
		if name, ok := strings.CutPrefix(e.Msg, "undefined: "); ok && generated[name] {
			continue
		}
		out = append(out, parsePackageError(e))
	}
	return out
}
