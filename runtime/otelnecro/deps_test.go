package otelnecro_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The runtime core links no telemetry: neither the packages a Spine needs
// nor the backends import OpenTelemetry or Prometheus, so a service that
// does not use otelnecro does not carry them.
func TestCoreLinksNoTelemetry(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	core := []string{
		"github.com/necrostack/necrostack/runtime",
		"github.com/necrostack/necrostack/runtime/memory",
		"github.com/necrostack/necrostack/runtime/redisstream",
	}
	out, err := exec.Command(goBin, append([]string{"list", "-deps"}, core...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < len(core) {
		t.Fatalf("go list -deps listed %q", deps)
	}
	for _, dep := range deps {
		for _, banned := range []string{"go.opentelemetry.io/", "github.com/prometheus/", "github.com/necrostack/necrostack/runtime/otelnecro"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the runtime core depends on %s", dep)
			}
		}
	}
	// otelnecro itself links neither go-redis nor the Prometheus client.
	out, err = exec.Command(goBin, "list", "-deps", "github.com/necrostack/necrostack/runtime/otelnecro").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/redis/") || strings.HasPrefix(dep, "github.com/prometheus/") {
			t.Errorf("otelnecro depends on %s; only otelredis and otelprom may", dep)
		}
	}
}
