package baseline_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoNecroStackDependency proves that the baseline shares no code with
// NecroStack: no package it builds from, directly or not, is in the
// github.com/necrostack/necrostack module besides itself.
func TestNoNecroStackDependency(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	const self = "github.com/necrostack/necrostack/bench/baseline"
	out, err := exec.Command(gobin, "list", "-deps", self).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", self, err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps %s listed only %q", self, deps)
	}
	redis := false
	for _, d := range deps {
		redis = redis || d == "github.com/redis/go-redis/v9"
		if d != self && (d == "github.com/necrostack/necrostack" || strings.HasPrefix(d, "github.com/necrostack/necrostack/")) {
			t.Errorf("the baseline depends on %s: it must share no code with NecroStack", d)
		}
	}
	if !redis {
		t.Errorf("go list -deps %s does not list github.com/redis/go-redis/v9: is it listing the right package? %q", self, deps)
	}
}
