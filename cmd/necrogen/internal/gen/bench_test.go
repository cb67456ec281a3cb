package gen

import (
	"fmt"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/necrostack/necrostack/cmd/necrogen/internal/gentest"
)

// syntheticPackage returns a package of n handlers in a chain over n+1
// payload types (and one more handler that ends it, so that the flow lint
// has nothing to say), spread over files of 50 handlers, half of them methods.
func syntheticPackage(n int) map[string][]byte {
	files := map[string][]byte{}
	var b strings.Builder
	flush := func(i int) {
		files[fmt.Sprintf("big/h%04d.go", i)] = []byte(b.String())
		b.Reset()
	}
	for i := 0; i < n; i++ {
		if i%50 == 0 {
			if i > 0 {
				flush(i)
			}
			b.WriteString("package big\n\nimport \"context\"\n\nvar _ context.Context\n")
		}
		entry := ""
		if i == 0 {
			entry = "//\n//necro:entry\n"
		}
		fmt.Fprintf(&b, "\n// Step%d is a payload.\n%stype Step%d struct{ N int }\n", i, entry, i)
		if i%2 == 0 {
			fmt.Fprintf(&b, "\n//necro:listens STEP%d\nfunc Handle%d(ctx context.Context, s Step%d) (Step%d, error) { return Step%d{N: s.N + 1}, nil }\n", i, i, i, i+1, i+1)
		} else {
			fmt.Fprintf(&b, "\n// Organ%d is a method organ.\ntype Organ%d struct{}\n\n//necro:listens STEP%d\nfunc (o *Organ%d) Handle(s Step%d) *Step%d { return &Step%d{N: s.N} }\n", i, i, i, i, i, i+1, i+1)
		}
	}
	fmt.Fprintf(&b, "\n// Step%d ends the chain.\ntype Step%d struct{ N int }\n\n//necro:listens STEP%d\nfunc End(s Step%d) {}\n", n, n, n, n)
	flush(n)
	return files
}

// BenchmarkGenerate measures necrogen's wall time (load with full types,
// analyse, lint, emit, type-check the result) on synthetic packages: the
// first run, with no necro_gen.go; a re-run with the file in place; and a
// re-run after an edit of one handler file, which no cache of the go
// command's has seen. The README's necrogen figures come from it.
func BenchmarkGenerate(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(GCPercent)) // as the necrogen command runs
	for _, n := range []int{1000, 5000} {
		dir := gentest.NewModule(b, syntheticPackage(n))
		cfg := Config{Dir: dir, Patterns: []string{"./big"}, Env: gentest.Env()}
		warm := func(b *testing.B) *Result {
			res, err := Generate(cfg)
			if err != nil || len(res.Diagnostics) > 0 || len(res.Files) != 1 {
				b.Fatalf("warm-up: %v %v", err, res.Diagnostics)
			}
			return res
		}
		b.Run(fmt.Sprintf("first/handlers=%d", n), func(b *testing.B) {
			os.Remove(filepath.Join(dir, "big", OutputName))
			warm(b)
			for b.Loop() {
				if _, err := Generate(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
		})
		b.Run(fmt.Sprintf("rerun/handlers=%d", n), func(b *testing.B) {
			if err := Write(warm(b), nil); err != nil {
				b.Fatal(err)
			}
			warm(b) // the go command compiles the package with its new file once, and caches it
			for b.Loop() {
				res, err := Generate(cfg)
				if err != nil || res.Files[0].Stale() {
					b.Fatalf("re-run: %v, stale %v", err, res.Files[0].Stale())
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
		})
		b.Run(fmt.Sprintf("edited/handlers=%d", n), func(b *testing.B) {
			file := filepath.Join(dir, "big", "h0050.go")
			orig, err := os.ReadFile(file)
			if err != nil {
				b.Fatal(err)
			}
			defer os.WriteFile(file, orig, 0o644)
			edits := 0
			for b.Loop() {
				edits++
				b.StopTimer()
				os.WriteFile(file, fmt.Appendf(slices.Clip(orig), "\n// edit %d at %d\n", edits, time.Now().UnixNano()), 0o644)
				b.StartTimer()
				if _, err := Generate(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
		})
	}
}

// BenchmarkLint measures the flow lint alone on 5,000 organs that form one
// cycle (each always emits the next one's event), the worst case of the old
// quadratic cycle search.
func BenchmarkLint(b *testing.B) {
	const n = 5000
	m := newModel("example.com/big", "big", "")
	hs := make([]*handler, n)
	for i := range hs {
		tn := types.NewTypeName(token.NoPos, nil, fmt.Sprintf("Step%d", i), nil)
		types.NewNamed(tn, types.NewStruct(nil, nil), nil)
		m.addEvent(&eventType{Name: fmt.Sprintf("STEP%d", i), Type: tn})
		hs[i] = &handler{Name: fmt.Sprintf("Handle%d", i), Payload: tn, Listens: []string{fmt.Sprintf("STEP%d", i)}, Result: resultValue}
	}
	for i, h := range hs {
		h.ResultType = hs[(i+1)%n].Payload
	}
	m.Handlers = hs
	m.index()
	for b.Loop() {
		d := &diags{fset: token.NewFileSet()}
		lint([]*pkgModel{m}, "", d)
		if len(d.list) != 1 {
			b.Fatalf("%d diagnostics, want the one cycle", len(d.list))
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
}
