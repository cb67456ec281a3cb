// Package bench holds the benchmarks that compare NecroStack with
// hand-written code that shares none of its code (package bench/baseline),
// each comparison in one `go test -bench` run: see the README's performance
// section and bench/cmd/benchtable, which turns this package's output into
// its table.
//
// Every comparison has the same name but for the last element, impl=baseline
// (bench/baseline) or impl=necrostack (the generated Spine of bench/chain),
// and reports per event, not per op:
//
//	ns/event       wall time
//	cpu-ns/event   CPU time of this process, every thread (getrusage): on a
//	               busy machine it moves less than wall time (for Redis it
//	               is named client-cpu-ns/event)
//	allocs/event   heap allocations (runtime.MemStats.Mallocs)
//	B/event        bytes allocated (runtime.MemStats.TotalAlloc)
//
// and for Redis also events/s, redis-cpu-ns/event (redis-server's used_cpu_user +
// used_cpu_sys from INFO cpu) and redis-CMD-ns/event (INFO commandstats usec
// of a command, split by command). An event is one handled event: a chain is
// four.
package bench

import (
	"context"
	"log/slog"
	goruntime "runtime"
	"testing"
)

// spirit is the Spirit of every root, on both sides.
const spirit = "Lenore"

var discard = slog.New(slog.DiscardHandler)

// perEvent runs op in b.Loop and reports ns/event, allocs/event and B/event
// for ops that handle events each.
func perEvent(b *testing.B, events int, op func() error) {
	b.Helper()
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	cpu0 := processCPU()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := processCPU() - cpu0
	goruntime.ReadMemStats(&after)
	n := float64(b.N) * float64(events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	if cpu0 >= 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/event")
	}
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/event")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/event")
}

// bg is the context of the benchmarks.
var bg = context.Background()
