package gen

import (
	"bytes"
	"flag"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/necrostack/necrostack/cmd/necrogen/internal/gentest"
	"github.com/necrostack/necrostack/internal/linediff"
)

var update = flag.Bool("update", false, "rewrite the want/ sections of the golden txtar cases")

// materialize writes the archive's input files (all but want/) into a fresh
// module that requires this repository.
func materialize(t testing.TB, ar *txtar.Archive) string {
	t.Helper()
	files := map[string][]byte{}
	for _, f := range ar.Files {
		if !strings.HasPrefix(f.Name, "want/") {
			files[f.Name] = f.Data
		}
	}
	return gentest.NewModule(t, files)
}

func wantFile(ar *txtar.Archive, name string) ([]byte, bool) {
	for _, f := range ar.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

func setWant(ar *txtar.Archive, name string, data []byte) {
	for i, f := range ar.Files {
		if f.Name == name {
			ar.Files[i].Data = data
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: data})
}

// generate runs Generate in dir over patterns, ./... if none.
func generate(t testing.TB, dir string, patterns ...string) *Result {
	t.Helper()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	res, err := Generate(Config{Dir: dir, Patterns: patterns, Env: gentest.Env()})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return res
}

// casePatterns returns the patterns of a "# patterns: ./a ./b" line in the
// archive's comment, or none (./...).
func casePatterns(ar *txtar.Archive) []string {
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if list, ok := strings.CutPrefix(line, "# patterns: "); ok {
			return strings.Fields(list)
		}
	}
	return nil
}

func formatDiagnostics(res *Result, dir string) []byte {
	var buf bytes.Buffer
	for _, d := range res.Diagnostics {
		buf.WriteString(d.Format(dir))
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// TestGolden runs every testdata/{valid,invalid}/*.txtar case, over the
// patterns of its "# patterns:" line or ./... A valid case must generate
// exactly its want/ files, identically twice, gofmt-stable and marked
// generated; once they are written, a run over the same patterns, and over
// each generated package alone, must find them up to date; and then the
// module must compile, vet and run (go run . in its root) against the
// memory backend printing want/stdout. An invalid case must report exactly
// want/stderr and generate nothing.
func TestGolden(t *testing.T) {
	for _, kind := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join("testdata", kind, "*.txtar"))
		if len(files) == 0 {
			t.Fatalf("no %s cases", kind)
		}
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".txtar")
			t.Run(kind+"/"+name, func(t *testing.T) {
				t.Parallel()
				ar, err := txtar.ParseFile(file)
				if err != nil {
					t.Fatal(err)
				}
				skipUnlessRequired(t, ar)
				if kind == "valid" {
					runValid(t, file, ar)
				} else {
					runInvalid(t, file, ar)
				}
			})
		}
	}
}

// skipUnlessRequired skips a case whose comment has a line "# requires:
// GOOS/GOARCH" or "# requires: cgo" that this machine does not meet: its
// expected output depends on the platform.
func skipUnlessRequired(t *testing.T, ar *txtar.Archive) {
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		req, ok := strings.CutPrefix(line, "# requires: ")
		if !ok {
			continue
		}
		switch req {
		case "cgo":
			if out, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
				t.Skip("needs cgo")
			}
			if _, err := exec.LookPath("gcc"); err != nil {
				t.Skip("needs a C compiler for cgo")
			}
		case goruntime.GOOS + "/" + goruntime.GOARCH:
		default:
			t.Skipf("needs %s", req)
		}
	}
}

func runValid(t *testing.T, file string, ar *txtar.Archive) {
	dir := materialize(t, ar)
	patterns := casePatterns(ar)
	res := generate(t, dir, patterns...)
	if res.HasErrors() {
		t.Fatalf("errors for a valid case:\n%s", formatDiagnostics(res, dir))
	}
	// Warnings (flow lint) are part of the golden output.
	if stderr := formatDiagnostics(res, dir); *update {
		if len(stderr) > 0 {
			setWant(ar, "want/stderr", stderr)
		}
	} else if want, _ := wantFile(ar, "want/stderr"); !bytes.Equal(stderr, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", stderr, want)
	}
	got := map[string][]byte{}
	for _, f := range res.Files {
		rel, _ := filepath.Rel(dir, f.Path)
		got["want/"+filepath.ToSlash(rel)] = f.Content
		checkGeneratedFile(t, rel, f.Content)
	}
	again := generate(t, dir, patterns...)
	for i, f := range again.Files {
		if !bytes.Equal(f.Content, res.Files[i].Content) {
			t.Fatalf("%s differs between two runs: output is not deterministic", f.Path)
		}
	}
	if *update {
		for name, data := range got {
			setWant(ar, name, data)
		}
	} else {
		for _, f := range ar.Files {
			if strings.HasPrefix(f.Name, "want/") && strings.HasSuffix(f.Name, ".go") {
				if _, ok := got[f.Name]; !ok {
					t.Errorf("%s was not generated", f.Name)
				}
			}
		}
		for name, data := range got {
			want, ok := wantFile(ar, name)
			if !ok {
				t.Errorf("generated %s, which the case does not expect", name)
				continue
			}
			if !bytes.Equal(data, want) {
				t.Errorf("%s differs from the golden file (run go test ./cmd/necrogen/... -update):\n%s", name, linediff.Unified(name+" (golden)", name+" (generated)", string(want), string(data)))
			}
		}
	}
	if err := Write(res, nil); err != nil {
		t.Fatal(err)
	}
	checkUpToDate(t, dir, patterns...)
	if len(res.Files) > 1 {
		// A package of a module generates the same alone, once the packages
		// it imports are generated.
		for _, f := range res.Files {
			rel, _ := filepath.Rel(dir, filepath.Dir(f.Path))
			checkUpToDate(t, dir, "./"+filepath.ToSlash(rel))
		}
	}
	if testing.Short() {
		return
	}
	goCmd(t, dir, "vet", "./...")
	stdout := goCmd(t, dir, "run", ".")
	checkCodecs(t, dir, res)
	if *update {
		setWant(ar, "want/stdout", stdout)
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want, _ := wantFile(ar, "want/stdout"); !bytes.Equal(stdout, want) {
		t.Errorf("go run . printed:\n%s\nwant:\n%s", stdout, want)
	}
}

// checkUpToDate asserts that a run over patterns would change no file.
func checkUpToDate(t *testing.T, dir string, patterns ...string) {
	t.Helper()
	res := generate(t, dir, patterns...)
	if res.HasErrors() {
		t.Fatalf("errors regenerating %v over the written files:\n%s", patterns, formatDiagnostics(res, dir))
	}
	for _, s := range Check(res) {
		t.Errorf("regenerating %v over the written files: %s is %s:\n%s", patterns, res.Rel(s.Path), s.Reason, s.Diff)
	}
}

// checkGeneratedFile asserts the conventions every generated file keeps.
func checkGeneratedFile(t *testing.T, name string, content []byte) {
	t.Helper()
	if !bytes.HasPrefix(content, []byte(Header+"\n")) {
		t.Errorf("%s does not start with %q", name, Header)
	}
	formatted, err := format.Source(content)
	if err != nil || !bytes.Equal(formatted, content) {
		t.Errorf("%s is not gofmt-stable (err %v)", name, err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), name, content, parser.ParseComments)
	if err != nil {
		t.Fatalf("%s does not parse: %v", name, err)
	}
	if !ast.IsGenerated(f) {
		t.Errorf("%s is not recognised by ast.IsGenerated", name)
	}
	for _, imp := range f.Imports {
		if imp.Path.Value == `"reflect"` {
			t.Errorf("%s imports reflect", name)
		}
	}
}

func runInvalid(t *testing.T, file string, ar *txtar.Archive) {
	dir := materialize(t, ar)
	before := snapshot(t, dir)
	res := generate(t, dir, casePatterns(ar)...)
	if !res.HasErrors() {
		t.Fatalf("no error reported for an invalid case")
	}
	if err := Write(res, nil); err == nil {
		t.Fatalf("Write accepted a result with errors")
	}
	if after := snapshot(t, dir); after != before {
		t.Fatalf("files changed although the input has errors")
	}
	got := formatDiagnostics(res, dir)
	if *update {
		setWant(ar, "want/stderr", got)
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, _ := wantFile(ar, "want/stderr")
	if !bytes.Equal(got, want) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
}

// snapshot summarises a directory's files and contents.
func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if name := d.Name(); name == "go.mod" || name == "go.sum" {
			return nil // the go command may add requirements under -mod=mod
		}
		data, _ := os.ReadFile(p)
		b.WriteString(p + "\n" + string(data) + "\n")
		return nil
	})
	return b.String()
}

func goCmd(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = gentest.Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestGraph renders testdata/graph/*.txtar in both formats and compares them
// with want/mermaid and want/dot.
func TestGraph(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "graph", "*.txtar"))
	if len(files) == 0 {
		t.Fatal("no graph cases")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := materialize(t, ar)
			res := generate(t, dir, casePatterns(ar)...)
			if res.HasErrors() {
				t.Fatalf("errors:\n%s", formatDiagnostics(res, dir))
			}
			for _, format := range []string{FormatMermaid, FormatDOT} {
				got, err := Graph(res, format)
				if err != nil {
					t.Fatal(err)
				}
				name := "want/" + format
				if *update {
					setWant(ar, name, []byte(got))
					continue
				}
				if want, _ := wantFile(ar, name); got != string(want) {
					t.Errorf("%s graph:\n%s\nwant:\n%s", format, got, want)
				}
			}
			if *update {
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if _, err := Graph(&Result{}, "svg"); err == nil {
		t.Fatal("Graph accepted an unknown format")
	}
}
