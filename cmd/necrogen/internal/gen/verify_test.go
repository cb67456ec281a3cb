package gen

import (
	"strings"
	"testing"

	"github.com/necrostack/necrostack/cmd/necrogen/internal/gentest"
)

// What the new file breaks in the user's code (a NewSpine call that lacks a
// new organ) is a warning: the file is still generated, for the user to fix
// the call against.
func TestVerifyWarnsAboutUserCode(t *testing.T) {
	dir := gentest.NewModule(t, map[string][]byte{"a.go": []byte(`package main

import "github.com/necrostack/necrostack/runtime/memory"

//necro:entry
type Bell struct{}

type Tower struct{}

//necro:listens BELL
func (*Tower) Ring(b Bell) {}

func main() { _ = NewSpine(memory.New()) }
`)})
	res := generate(t, dir)
	got := string(formatDiagnostics(res, dir))
	want := "a.go:13:40: warning: with the new necro_gen.go: not enough arguments in call to NewSpine\n\thave (*memory.Backend)\n\twant (runtime.Backend, *Tower, ...runtime.Option)\n"
	if got != want || len(res.Files) != 1 {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s(and one file, got %d)", got, want, len(res.Files))
	}
}

// Generated code that does not compile is an internal error, at its line.
func TestVerifyRejectsBrokenOutput(t *testing.T) {
	dir := gentest.NewModule(t, map[string][]byte{"a.go": []byte("package main\n\nfunc main() {}\n")})
	pkgs, src, fset, err := load(Config{Dir: dir, Env: gentest.Env()})
	if err != nil || len(pkgs) != 1 {
		t.Fatalf("load: %v, %d packages", err, len(pkgs))
	}
	src.check(pkgs[0])
	d := &diags{fset: fset}
	broken := []byte(Header + "\n\npackage main\n\nfunc main() {}\n")
	_, file, err := gofmt(fset, pkgs[0].output, broken)
	if err != nil {
		t.Fatal(err)
	}
	verify(pkgs[0], file, broken, d)
	if len(d.list) != 1 || d.list[0].Severity != Error || d.list[0].Format("") != pkgs[0].output+":5:6: "+d.list[0].Msg ||
		!strings.HasPrefix(d.list[0].Msg, `internal error: necrogen generated code that does not compile (main redeclared in this block; the line is "func main() {}")`) {
		t.Fatalf("diagnostics: %+v", d.list)
	}
}
