package gen

import (
	"fmt"
	"go/ast"

	"go/token"
	"go/types"
	"strings"
)

// verify type-checks the generated file together with the rest of its
// package before anything is written, so that necrogen never hands over code
// that does not build. A problem inside the generated file is necrogen's own
// (a clash it failed to foresee) and an error: nothing is written. A problem
// in the user's files is what the new file changes for them — a NewSpine call
// that lacks a new organ, a helper that is gone — and a warning, because the
// user can only fix it once the file is written.
func verify(l *loaded, gen *ast.File, src []byte, d *diags) {
	for _, path := range generatedImports {
		if _, err := l.types.Import(path); err != nil {
			d.list = append(d.list, Diagnostic{
				Pos: token.Position{Filename: l.output, Line: 1, Column: 1},
				Msg: fmt.Sprintf("%s would import %s, which cannot be loaded here: %v", OutputName, path, err),
			})
			return
		}
	}
	report := func(te types.Error) {
		if strings.HasPrefix(te.Msg, "\t") {
			return // a continuation line ("\tother declaration of x") of the error before
		}
		pos := d.fset.Position(te.Pos)
		switch {
		case pos.Filename == l.output:
			d.list = append(d.list, Diagnostic{Pos: pos, Msg: fmt.Sprintf("internal error: necrogen generated code that does not compile (%s; the line is %q): please report it; nothing is written", te.Msg, line(src, pos.Line))})
		case !te.Soft:
			d.list = append(d.list, Diagnostic{Pos: pos, Msg: "with the new " + OutputName + ": " + te.Msg, Severity: Warning})
		}
	}
	if len(l.pkg.Errors) == 0 {
		// The user's code does not use a generated name (loadErrors left
		// out those undefined ones), so nothing in it can change: add the
		// new file to the package as checked.
		l.onTypeError = report
		*l.pkg.TypesInfo = types.Info{} // analysis is done: record nothing more
		l.checker.Files([]*ast.File{gen})
		return
	}
	// Check the whole package again. The new file comes last, so that a
	// clash is reported in it. The packages generated after this one that
	// import it see this package.
	files := append(withoutOutput(d.fset, l.pkg.Syntax), gen)
	if pkg, _ := l.types.config(l, report).Check(l.pkg.PkgPath, d.fset, files, nil); pkg != nil {
		l.pkg.Types = pkg
	}
}

// line returns line n (from 1) of content.
func line(content []byte, n int) string {
	lines := strings.Split(string(content), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimSpace(lines[n-1])
}
