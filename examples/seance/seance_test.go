package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/necrotest"
	"github.com/necrostack/necrostack/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func runDemo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// The golden cases: a fixed seed tells the same story.
var goldenCases = []struct {
	name string
	args []string
}{
	{"seed7", []string{"-seed", "7"}},
	{"seed42_rituals5", []string{"-seed", "42", "-rituals", "5"}},
}

// On Redis the demo prints exactly what it prints on the memory backend.
func TestGoldenOutputOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runDemo(t, append([]string{"-backend", "redis", "-redis-url", srv.URL()}, c.args...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			want, err := os.ReadFile(filepath.Join("testdata", c.name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			if stdout != string(want) {
				t.Fatalf("output on Redis differs from the memory backend's golden file:\n%s\nwant:\n%s", stdout, want)
			}
		})
	}
}

// The demo's output for a fixed seed is its golden file.
func TestGoldenOutput(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runDemo(t, c.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			golden := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./examples/seance -update)", err)
			}
			if stdout != string(want) {
				t.Fatalf("output differs from %s (run go test ./examples/seance -update):\n%s\nwant:\n%s", golden, stdout, want)
			}
		})
	}
}

func TestDefaultRunHoldsOneSeance(t *testing.T) {
	code, stdout, _ := runDemo(t)
	if code != 0 || strings.Count(stdout, "séance 1 —") != 1 || strings.Contains(stdout, "séance 2") || !strings.Contains(stdout, "omen:") {
		t.Fatalf("exit %d, output:\n%s", code, stdout)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-rituals", "0"}, {"-backend", "carrier-pigeon"}, {"-nope"}, {"extra"}} {
		if code, _, stderr := runDemo(t, args...); code != 2 || stderr == "" {
			t.Errorf("seance %v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}

// The four organs form one causation chain, and each passes the séance on.
func TestChain(t *testing.T) {
	b := necrotest.NewBackend(t)
	spine := NewSpine(b, NewOracle(3), &Manifestation{Out: io.Discard})
	start := NewSummonRitualEvent(SummonRitual{Ritual: 1, Medium: "Madame Zora", Spirit: "Edgar", Question: "Who knocks?"})
	necrotest.RunUntilIdle(t, spine, b, start)

	chain := necrotest.Chain(t, b, EventSummonRitual, EventSpiritAppeared, EventAnswerGenerated, EventOmenRevealed)
	for _, ev := range chain {
		if !b.Acked(ev.ID) {
			t.Errorf("%s was not acknowledged", ev.Type)
		}
	}
	omen := necrotest.One[OmenRevealed](t, b, EventOmenRevealed)
	if omen.Spirit != "Edgar" || omen.Medium != "Madame Zora" || omen.Question != "Who knocks?" || omen.Answer == "" || omen.Severity < 1 {
		t.Fatalf("the séance was not carried down the chain: %+v", omen)
	}
}

// A ritual without a spirit fails in SummonSpirit; the others go on.
func TestFailedSummonDoesNotStopOthers(t *testing.T) {
	b := necrotest.NewBackend(t)
	var out bytes.Buffer
	spine := NewSpine(b, NewOracle(3), &Manifestation{Out: &out}, runtime.WithLogger(slog.New(slog.DiscardHandler)))
	necrotest.RunUntilIdle(t, spine, b,
		NewSummonRitualEvent(SummonRitual{Ritual: 1, Spirit: " "}),
		NewSummonRitualEvent(SummonRitual{Ritual: 2, Spirit: "Lenore", Question: "Why?"}))
	necrotest.Count(t, b, EventOmenRevealed, 1)
	if !strings.Contains(out.String(), "séance 2") || strings.Contains(out.String(), "séance 1") {
		t.Fatalf("output:\n%s", out.String())
	}
}
