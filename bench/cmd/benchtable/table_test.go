package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/necrostack/necrostack/bench
cpu: AMD EPYC
BenchmarkMemoryChain/depth=4096/impl=baseline-2   	      40	  500000 ns/op	  38.00 B/event	  1.000 allocs/event	  40.00 ns/event	45.00 cpu-ns/event
BenchmarkMemoryChain/depth=4096/impl=necrostack-2 	       4	 5000000 ns/op	  74.00 B/event	  1.000 allocs/event	 300.0 ns/event	135.0 cpu-ns/event
BenchmarkMemoryChain/depth=4096/impl=baseline-2   	      40	  500000 ns/op	  38.00 B/event	  1.000 allocs/event	  60.00 ns/event
BenchmarkMemoryChain/depth=4096/impl=necrostack-2 	       4	 5000000 ns/op	  74.00 B/event	  1.000 allocs/event	 100.0 ns/event
BenchmarkMemoryChain/depth=4096/impl=baseline-2   	      40	  500000 ns/op	  38.00 B/event	  1.000 allocs/event	  50.00 ns/event
BenchmarkMemoryChain/depth=4096/impl=necrostack-2 	       4	 5000000 ns/op	  74.00 B/event	  1.000 allocs/event	 90.0 ns/event
BenchmarkMemoryService/window=128/impl=baseline-2 	      10	 1000000 ns/op	  22.00 B/event	  1.000 allocs/event	  90.00 ns/event
BenchmarkMemoryService/window=128/impl=necrostack-2	      10	 1000000 ns/op	  52.00 B/event	  1.260 allocs/event	 360.0 ns/event
BenchmarkRedisChain/batch=100/workers=1/impl=baseline-2 	1	34788798 ns/op	2624 B/event	34.47 allocs/event	7089 client-cpu-ns/event	100000 events/s	8697 ns/event	2000 redis-cpu-ns/event	0 redis-evalsha-ns/event	0 redis-other-ns/event	201.0 redis-xack-ns/event	406.0 redis-xadd-ns/event	0 redis-xpending-ns/event	702.5 redis-xreadgroup-ns/event
BenchmarkRedisChain/batch=100/workers=1/impl=necrostack-2	1	95621547 ns/op	7109 B/event	113.7 allocs/event	17148 client-cpu-ns/event	75000 events/s	23905 ns/event	2500 redis-cpu-ns/event	5137 redis-evalsha-ns/event	35.75 redis-other-ns/event	222.5 redis-xack-ns/event	449.8 redis-xadd-ns/event	210.8 redis-xpending-ns/event	804.5 redis-xreadgroup-ns/event
BenchmarkDispatch/impl=generated-2	1000	400 ns/op	16 B/event	0.75 allocs/event	100.0 ns/event
BenchmarkDispatch/impl=reflect-2  	1000	400 ns/op	16 B/event	3.75 allocs/event	500.0 ns/event
PASS
ok  	github.com/necrostack/necrostack/bench	10.0s
`

func TestRender(t *testing.T) {
	set, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if set.CPU != "AMD EPYC" || len(set.Names) != 8 {
		t.Fatalf("parsed cpu %q, names %q", set.CPU, set.Names)
	}
	if m, _ := set.Median("BenchmarkMemoryChain/depth=4096/impl=necrostack", "ns/event"); m != 100 {
		t.Errorf("median of 300, 100, 90 = %v, want 100", m)
	}
	var out strings.Builder
	Render(&out, set, Machine{CPU: "AMD EPYC", CPUs: 2, Go: "go1.26.8 linux/amd64", Redis: "7.0.15", Date: "2026-01-02"})
	got := out.String()
	for _, want := range []string{
		"Measured 2026-01-02 on AMD EPYC, 2 CPUs, go1.26.8 linux/amd64, redis-server 7.0.15; each figure is the median of 3 runs",
		"| 4,096 chains in flight (`RunUntilIdle`) | 50.0 ns, 1.00 allocs, 38.0 B | 100 ns, 1.00 allocs, 74.0 B | 2.00× | 3.00× | ≤ 2× ✓, ≤ 1 alloc ✓ |",
		"| service mode: `Run` + `Emit…`, window of 128 chains | 90.0 ns, 1.00 allocs, 22.0 B | 360 ns, 1.26 allocs, 52.0 B | 4.00× | – | ≤ 3× ✗, ≤ 1 alloc ✗ |",
		"| 100 | 1 | 100,000 → 75,000 | 75% ✓ | 46% | 2,000 → 2,500 | 1.25× ✓ | 7,089 → 17,148 | 2.42× | 34.5 → 114 ✗ | 2,624 → 7,109 |",
		"| 100 | 1 | 2,000 → 2,500 | 0 → 5,137 | 702 → 804 | 406 → 450 | 201 → 222 | 0 → 211 | 0 → 35.8 |",
		"| reflect | 500 | 3.75 | 5.00× |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks\n%s\nin\n%s", want, got)
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[string]string{"1": "1", "999": "999", "1000": "1,000", "65536": "65,536", "1234567": "1,234,567", "-4096": "-4,096", "12.5": "12.5"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%q) = %q, want %q", in, got, want)
		}
	}
}
