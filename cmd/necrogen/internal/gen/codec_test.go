package gen

import (
	"bytes"
	"fmt"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/necrostack/necrostack/cmd/necrogen/internal/gentest"
)

// codecCheckPkg is where checkCodecs puts internal/codeccheck in a golden
// case's module.
const codecCheckPkg = "necrocodeccheck"

// checkCodecs runs, in the module of a valid golden case (written and built),
// a test program that compares the codecs generated for its payload types
// with encoding/json: random values encoded both ways, their encodings and
// mutations of them decoded both ways (internal/codeccheck).
func checkCodecs(t *testing.T, dir string, res *Result) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(gentest.RepoRoot(), "internal", "codeccheck", "codeccheck.go"))
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte("package codeccheck"), []byte("package "+codecCheckPkg), 1)
	tests := 0
	for _, m := range res.models {
		if m.codecs == nil || len(m.codecs.payloads) == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "package %s\n\nimport (\n\t\"testing\"\n\n\t\"example.com/t/%s\"\n)\n\n", m.Name, codecCheckPkg)
		b.WriteString("func TestNecroCodecsMatchEncodingJSON(t *testing.T) {\n")
		for _, p := range m.codecs.payloads {
			fmt.Fprintf(&b, "\tt.Run(%q, func(t *testing.T) { t.Log(%s.Check[%s](t, 1, 200, 8)) })\n", p.typ.Name(), codecCheckPkg, p.typ.Name())
		}
		b.WriteString("}\n")
		rel, err := filepath.Rel(dir, filepath.Join(m.Dir, "necro_codec_check_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		gentest.WriteFile(t, dir, filepath.ToSlash(rel), []byte(b.String()))
		tests++
	}
	if tests == 0 {
		return
	}
	gentest.WriteFile(t, dir, path.Join(codecCheckPkg, "codeccheck.go"), src)
	goCmd(t, dir, "test", "./...")
}

// TestJSONFields checks the port of encoding/json's typeFields on a few
// shapes by name and order; the golden cases and internal/codecfuzz check it
// against encoding/json itself.
func TestJSONFields(t *testing.T) {
	pkg := types.NewPackage("example.com/p", "p")
	field := func(name string, typ types.Type, embedded bool) *types.Var {
		return types.NewField(0, pkg, name, typ, embedded)
	}
	named := func(name string, st *types.Struct) *types.Named {
		return types.NewNamed(types.NewTypeName(0, pkg, name, nil), st, nil)
	}
	intT, strT := types.Typ[types.Int], types.Typ[types.String]
	a := named("A", types.NewStruct([]*types.Var{field("X", intT, false), field("Y", intT, false)}, nil))
	b := named("B", types.NewStruct([]*types.Var{field("X", intT, false), field("Z", intT, false)}, []string{"", `json:"Y"`}))
	outer := types.NewStruct([]*types.Var{
		field("A", a, true),
		field("B", types.NewPointer(b), true),
		field("Name", strT, false),
		field("skip", intT, false),
		field("Dash", intT, false),
	}, []string{"", "", `json:"name,omitempty"`, "", `json:"-"`})
	fields, err := jsonFields(outer, named("Outer", outer), false)
	if err != "" {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fields {
		got = append(got, f.name+"="+f.goName())
	}
	// X is in A and B at the same depth, untagged: dropped. Y is in A
	// untagged and B tagged (Z): the tagged one wins.
	want := "Y=B.Z name=Name"
	if strings.Join(got, " ") != want {
		t.Errorf("fields: %s, want %s", strings.Join(got, " "), want)
	}
}
