package gen

import (
	"cmp"
	"fmt"
	"go/token"
	"path/filepath"
	"slices"
)

// Severity says whether a Diagnostic stops generation.
type Severity int

const (
	// Error stops generation: nothing is written.
	Error Severity = iota
	// Warning is reported but does not stop generation (unless -strict).
	Warning
)

// Diagnostic is one problem in the input, at a source position.
type Diagnostic struct {
	Pos      token.Position
	Msg      string
	Severity Severity
}

// Format renders d as "file:line:col: msg", with the file relative to dir when
// it lies inside it. Warnings say so after the position.
func (d Diagnostic) Format(dir string) string {
	file := Rel(dir, d.Pos.Filename)
	pos := file
	if d.Pos.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", file, d.Pos.Line, d.Pos.Column)
	}
	sev := ""
	if d.Severity == Warning {
		sev = "warning: "
	}
	if pos == "" {
		return sev + d.Msg
	}
	return pos + ": " + sev + d.Msg
}

// Rel returns path relative to dir when it lies inside dir, and path
// unchanged otherwise (or when either is empty).
func Rel(dir, path string) string {
	if dir == "" || path == "" {
		return path
	}
	if rel, err := filepath.Rel(dir, path); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return path
}

// errorCount returns how many of ds are errors.
func errorCount(ds []Diagnostic) int {
	n := 0
	for _, d := range ds {
		if d.Severity == Error {
			n++
		}
	}
	return n
}

// sortDiagnostics orders diagnostics by file, line, column and message and
// drops exact duplicates.
func sortDiagnostics(ds []Diagnostic) []Diagnostic {
	slices.SortFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Pos.Filename, b.Pos.Filename),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return slices.CompactFunc(ds, func(a, b Diagnostic) bool { return a == b })
}

// diags collects diagnostics instead of stopping at the first.
type diags struct {
	fset *token.FileSet
	list []Diagnostic
}

func (d *diags) hasErrors() bool { return errorCount(d.list) > 0 }

func (d *diags) errorf(pos token.Pos, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: d.fset.Position(pos), Msg: fmt.Sprintf(format, args...)})
}

func (d *diags) warnf(pos token.Pos, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: d.fset.Position(pos), Msg: fmt.Sprintf(format, args...), Severity: Warning})
}

// where formats a position for a message: file:line:col with the file's
// base name, as the files of a package share one directory.
func (d *diags) where(pos token.Pos) string {
	p := d.fset.Position(pos)
	return fmt.Sprintf("%s:%d:%d", filepath.Base(p.Filename), p.Line, p.Column)
}
