package gen

import (
	"fmt"
	"strings"
	"testing"

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
// analyse, emit) on synthetic packages.
func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100, 500, 1000} {
		b.Run(fmt.Sprintf("handlers=%d", n), func(b *testing.B) {
			dir := gentest.NewModule(b, syntheticPackage(n))
			cfg := Config{Dir: dir, Patterns: []string{"./big"}, Env: gentest.Env()}
			if res, err := Generate(cfg); err != nil || len(res.Diagnostics) > 0 || len(res.Files) != 1 {
				b.Fatalf("warm-up: %v %v", err, res.Diagnostics)
			}
			for b.Loop() {
				if _, err := Generate(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
		})
	}
}
