package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	necro "github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

// BenchmarkETL measures the pipeline against the hand-written loop over the
// same generated CSV files, in one run:
//
//	go test -run '^$' -bench BenchmarkETL -count 6 ./examples/etl | tee etl-bench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest etl-bench.txt
//
// impl=spine is the demo itself: the generated Spine on the memory backend,
// one worker, the default batch size, the summary written to io.Discard.
// impl=handwritten is summarizeByHand: one pass, no events. Each reports
//
//   - rows/s: rows of the file (rejected ones included) per second;
//   - peak-heap-MB: the most heap memory in objects (live and not yet
//     collected) seen while a run went on, sampled every 250µs and once at the
//     end, each run starting from a collected heap;
//   - peak-live-MB: the most heap found live by a collection during a run:
//     what a run holds on to, whatever the pace of the collector. It counts
//     what was allocated while the collection ran, so it jitters with the
//     collector's timing (and a busy machine); it does not grow with the file;
//   - B/op and allocs/op, per run over the whole file.
//
// The targets of the ETL demo: spine rows/s at least 60% of handwritten, and
// spine peak-heap-MB at 1,000,000 rows at most 1.5× that at 100,000 rows.
// Both impls stay near the collector's minimum heap goal (4 MB), so
// peak-heap-MB tells whether memory grows with the file more than how the two
// differ.
//
// Every run's summary is checked against the hand-written one, so that a
// broken run cannot pass for a fast one. Each file is generated once per
// process, before its sub-benchmarks (about 3 MB and 30 MB, in a temporary
// directory); -short skips the larger one.
func BenchmarkETL(b *testing.B) {
	const seed = 1
	for _, rows := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			if rows > 100_000 && testing.Short() {
				b.Skip("-short: only the 100,000-row file")
			}
			path := benchCSV(b, rows, seed)
			want, err := summarizeByHand(path)
			if err != nil {
				b.Fatal(err)
			}
			if got := want.RowsRead(); got != int64(rows) {
				b.Fatalf("%s holds %d rows, want %d", path, got, rows)
			}
			b.Run("impl=spine", func(b *testing.B) {
				benchSummarize(b, rows, want, func() (Summary, error) { return summarizeWithSpine(path) })
			})
			b.Run("impl=handwritten", func(b *testing.B) {
				benchSummarize(b, rows, want, func() (Summary, error) { return summarizeByHand(path) })
			})
		})
	}
}

// summarizeWithSpine runs the demo's pipeline over path as run() does, with
// the default batch size, and returns its summary.
func summarizeWithSpine(path string, opts ...necro.Option) (Summary, error) {
	backend := memory.New()
	defer backend.Close()
	l := &Ledger{Out: io.Discard}
	opts = append([]necro.Option{necro.WithLogger(necro.NewJSONLogger(io.Discard, slog.LevelWarn))}, opts...)
	spine := NewSpine(backend, &Extractor{}, l, opts...)
	start := NewEtlStartEvent(EtlStart{Source: path, BatchSize: DefaultBatchSize})
	if err := spine.RunUntilIdle(context.Background(), start); err != nil {
		return Summary{}, err
	}
	return l.Result()
}

// benchSummarize times summarize over a file of rows rows, b.N times, and
// checks every result against want.
func benchSummarize(b *testing.B, rows int, want Summary, summarize func() (Summary, error)) {
	want.Batches = 0
	wantText := fmt.Sprint(want)
	b.ReportAllocs()
	sampler := startHeapSampler(250 * time.Microsecond)
	defer sampler.stop()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC() // every run starts from the same collected heap
		sampler.reset()
		b.StartTimer()

		got, err := summarize()

		b.StopTimer()
		sampler.sample()
		sampler.keep()
		if err != nil {
			b.Fatal(err)
		}
		if got.Batches = 0; fmt.Sprint(got) != wantText {
			b.Fatalf("the summary differs from the hand-written one:\n%+v\nwant\n%+v", got, want)
		}
		b.StartTimer()
	}
	b.StopTimer()
	heap, live := sampler.stop()
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
}

// heapSampler reads the heap's size from runtime/metrics at a fixed interval
// in a goroutine of its own and keeps the largest values seen.
type heapSampler struct {
	quit, done chan struct{}

	mu                 sync.Mutex
	samples            []metrics.Sample
	heap, live         uint64 // peaks of the current run
	keptHeap, keptLive uint64 // peaks over the kept runs
	stopped            bool
}

const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes" // live and unswept objects
	metricHeapLive    = "/gc/heap/live:bytes"                // live at the last collection
)

func startHeapSampler(every time.Duration) *heapSampler {
	s := &heapSampler{
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		samples: []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapLive}},
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

// sample reads the heap's size now.
func (s *heapSampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	metrics.Read(s.samples)
	s.heap = max(s.heap, s.samples[0].Value.Uint64())
	s.live = max(s.live, s.samples[1].Value.Uint64())
}

// reset starts a run: the heap has just been collected.
func (s *heapSampler) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heap, s.live = 0, 0
}

// keep ends a run: its peaks count.
func (s *heapSampler) keep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keptHeap, s.keptLive = max(s.keptHeap, s.heap), max(s.keptLive, s.live)
}

// stop ends the sampling and returns the peaks of the kept runs, in bytes.
func (s *heapSampler) stop() (heap, live uint64) {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.quit)
	}
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keptHeap, s.keptLive
}

// benchCSV writes a CSV of rows sales generated with seed into b's
// temporary directory and returns its path.
func benchCSV(b *testing.B, rows int, seed uint64) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), fmt.Sprintf("sales-%d-seed%d.csv", rows, seed))
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := generateSales(f, rows, seed); err != nil {
		f.Close()
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// The benchmark's two implementations agree, checked here on a small file
// so that plain go test catches a broken benchmark without running it.
func TestBenchImplementationsAgree(t *testing.T) {
	path := writeSales(t, 5_000)
	want, err := summarizeByHand(path)
	if err != nil {
		t.Fatal(err)
	}
	want.Batches = 0
	for _, workers := range []int{1, 4} {
		got, err := summarizeWithSpine(path, necro.WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		if got.Batches != 6 {
			t.Errorf("%d workers: %d batches, want 6", workers, got.Batches)
		}
		if got.Batches = 0; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%d workers: spine\n%+v\nhand-written\n%+v", workers, got, want)
		}
	}
}

func TestHeapSampler(t *testing.T) {
	s := startHeapSampler(time.Millisecond)
	s.reset()
	buf := make([]byte, 8<<20)
	s.sample()
	runtime.KeepAlive(buf)
	s.keep()
	heap, _ := s.stop()
	if heap < 8<<20 {
		t.Errorf("peak heap %d bytes with 8 MiB allocated", heap)
	}
	s.stop() // idempotent
}
