package bench

import (
	"encoding/json"
	"testing"

	"github.com/necrostack/necrostack/bench/baseline"
	"github.com/necrostack/necrostack/bench/chain"
	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
)

// TestBaselineMatchesChain checks that the baseline does the same work as
// bench/chain: the same event types, organs that compute the same values,
// payloads that encode to the same JSON, and envelopes of the same size.
func TestBaselineMatchesChain(t *testing.T) {
	if got, want := baseline.Types, [...]string{chain.EventSummonRitual, chain.EventSpiritAppeared, chain.EventAnswerGenerated, chain.EventOmenRevealed}; got != want {
		t.Fatalf("baseline event types %q, chain's %q", got, want)
	}
	sameJSON := func(stage string, a, b any) {
		t.Helper()
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("%s: chain %s, baseline %s", stage, ja, jb)
		}
	}
	ctx := bg
	co, bo := &chain.Oracle{}, &baseline.Oracle{}
	cs, bs := &chain.Sink{}, &baseline.Sink{}
	for i, name := range []string{"Lenore", "Edgar", "", "Annabel Lee", "Ulalume"} {
		for r := range 20 {
			r := r*7 + i
			c1, _ := chain.SummonSpirit(ctx, chain.SummonRitual{Ritual: r, Spirit: name})
			b1, _ := baseline.SummonSpirit(ctx, baseline.SummonRitual{Ritual: r, Spirit: name})
			sameJSON("SummonSpirit", c1, b1)
			c2, _ := co.AskQuestion(ctx, c1)
			b2, _ := bo.AskQuestion(ctx, b1)
			sameJSON("AskQuestion", c2, b2)
			c3, _ := chain.InterpretResponse(ctx, c2)
			b3, _ := baseline.InterpretResponse(ctx, b2)
			sameJSON("InterpretResponse", c3, b3)
			_ = cs.ManifestEffect(ctx, c3)
			_ = bs.ManifestEffect(ctx, b3)
		}
	}
	if cs.Omens.Load() != bs.Omens.Load() || cs.Severity.Load() != bs.Severity.Load() {
		t.Fatalf("sinks: chain %d omens of severity %d, baseline %d of %d", cs.Omens.Load(), cs.Severity.Load(), bs.Omens.Load(), bs.Severity.Load())
	}

	// Envelopes: a root and a child of each side, the same size but for a
	// few bytes of the timestamp (RFC 3339 drops trailing zeros).
	root := chain.NewSummonRitualEvent(chain.SummonRitual{Ritual: 123, Spirit: spirit})
	child := runtime.AppendChild(nil, root, chain.EventSpiritAppeared, chain.SpiritAppeared{Ritual: 123, Spirit: spirit, Mood: 0})[0]
	necroRoot, err := root.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	necroChild, err := child.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	baseRoot, err := baseline.Encode(baseline.TypeSummonRitual, baseline.SummonRitual{Ritual: 123, Spirit: spirit}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var parent baseline.Envelope
	if err := json.Unmarshal(baseRoot, &parent); err != nil {
		t.Fatal(err)
	}
	baseChild, err := baseline.Encode(baseline.TypeSpiritAppeared, baseline.SpiritAppeared{Ritual: 123, Spirit: spirit, Mood: 0}, &parent)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2][]byte{{necroRoot, baseRoot}, {necroChild, baseChild}} {
		if d := len(pair[0]) - len(pair[1]); d < -9 || d > 9 {
			t.Errorf("envelopes differ in size by %d bytes:\nnecrostack %s\nbaseline   %s", d, pair[0], pair[1])
		}
	}
	// Each side decodes the other's envelope: the same keys and formats.
	if _, err := runtime.DecodeEvent(baseChild); err != nil {
		t.Errorf("NecroStack cannot decode the baseline's envelope %s: %v", baseChild, err)
	}
	var back baseline.Envelope
	if err := json.Unmarshal(necroChild, &back); err != nil || back.EventType != chain.EventSpiritAppeared || back.CausationID != root.ID.String() || back.CorrelationID != root.ID.String() {
		t.Errorf("the baseline decodes NecroStack's envelope %s as %+v (%v)", necroChild, back, err)
	}
	t.Logf("envelope sizes: root %d (NecroStack) vs %d (baseline) bytes, child %d vs %d", len(necroRoot), len(baseRoot), len(necroChild), len(baseChild))
}

// TestMemoryHarness runs the memory benchmarks' ops at a small size: both
// sides end every chain, and with one goroutine in FIFO order they hand the
// same events to the organs in the same order, so their sinks agree.
func TestMemoryHarness(t *testing.T) {
	const depth = 300
	b, n := baselineDepth(depth), necroDepth(depth)
	for range 2 {
		for _, r := range []memoryRun{b, n} {
			if err := r.op(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if b.omens() != 2*depth || n.omens() != 2*depth {
		t.Fatalf("omens: baseline %d, necrostack %d; want %d", b.omens(), n.omens(), 2*depth)
	}
	if b.severity() != n.severity() {
		t.Fatalf("severity: baseline %d, necrostack %d", b.severity(), n.severity())
	}
	for name, setup := range map[string]func(int, int) memoryRun{"baseline": baselineService, "necrostack": necroService} {
		r := setup(500, 16)
		for range 2 {
			if err := r.op(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if err := r.stop(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.omens() != 1000 {
			t.Fatalf("%s: %d omens for 1000 chains", name, r.omens())
		}
	}
}

// TestRedisHarness runs the Redis benchmark's ops at a small size with
// several workers, with the same checks as the benchmark.
func TestRedisHarness(t *testing.T) {
	srv := redistest.Start(t)
	for name, setup := range map[string]redisSetup{"baseline": baselineRedis, "necrostack": necroRedis} {
		t.Run(name, func(t *testing.T) {
			client := srv.Client(t)
			r, err := setup(client, redistest.App(t), 10, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			const roots = 50
			for op := range 3 {
				added0, err := entriesAdded(client, r.streams)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.publish(roots); err != nil {
					t.Fatal(err)
				}
				omens := r.omens()
				s0, err := readServer(client)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.run(); err != nil {
					t.Fatal(err)
				}
				if err := r.after(); err != nil {
					t.Fatal(err)
				}
				s1, err := readServer(client)
				if err != nil {
					t.Fatal(err)
				}
				if d := s1.sub(s0); d.usec["xreadgroup"] <= 0 {
					t.Errorf("INFO commandstats shows no XREADGROUP time over an op: %+v", d)
				}
				added1, err := entriesAdded(client, r.streams)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkRedisOp(client, r, roots, omens, added1-added0, int64(op+1)*4*roots); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestParseServerInfo(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:0.250000\r\nused_cpu_sys_children:9.000000\r\n\r\n# Commandstats\r\n" +
		"cmdstat_evalsha:calls=10,usec=300,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_eval:calls=1,usec=40,usec_per_call=40.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xadd:calls=3,usec=7,usec_per_call=2.33,rejected_calls=0,failed_calls=0\r\n"
	u, err := parseServerInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	if u.cpu.Seconds() != 1.75 || u.usec["evalsha"] != 340 || u.usec["xadd"] != 7 || len(u.usec) != 2 {
		t.Fatalf("parsed %+v", u)
	}
}
