package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/necrotest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
)

func TestMain(m *testing.M) {
	// go-redis keeps a clock goroutine from its init until the last client
	// closes; in a run of benchmarks alone no client ever opens.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.startGlobalTimeCache.func1"))
}

// runDemo runs the demo as main does, on the generated Spine and the memory
// backend, and returns its exit code and output.
func runDemo(t *testing.T, ctx context.Context, args []string, extra ...runtime.Option) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runWith(ctx, args, &out, &errOut, extra...)
	return code, out.String(), errOut.String()
}

// The demo's standard output for each golden case is the same file the
// organ chain of organs_test.go is checked against.
func TestRunGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runDemo(t, context.Background(), tc.args)
			if code != exitOK || stderr != "" {
				t.Fatalf("etl %q: exit %d, stderr:\n%s", tc.args, code, stderr)
			}
			checkGolden(t, tc.name, []byte(stdout))
		})
	}
}

// Several workers handle batches out of order; the Ledger must still print
// the same summary, byte for byte.
func TestRunWithWorkersGivesTheSameSummary(t *testing.T) {
	t.Run("golden", func(t *testing.T) {
		for _, tc := range goldenCases {
			code, stdout, stderr := runDemo(t, context.Background(), tc.args, runtime.WithWorkers(4))
			if code != exitOK || stderr != "" {
				t.Fatalf("etl %q with 4 workers: exit %d, stderr:\n%s", tc.args, code, stderr)
			}
			checkGolden(t, tc.name, []byte(stdout))
		}
	})
	t.Run("generated", func(t *testing.T) {
		path := writeSales(t, 20_000)
		for _, format := range [][]string{nil, {"-json"}} {
			args := append([]string{"-csv", path, "-batch-size", "100"}, format...)
			var want string
			for _, workers := range []int{1, 2, 8} {
				code, stdout, stderr := runDemo(t, context.Background(), args, runtime.WithWorkers(workers))
				if code != exitOK || stderr != "" {
					t.Fatalf("etl %q with %d workers: exit %d, stderr:\n%s", args, workers, code, stderr)
				}
				if workers == 1 {
					want = stdout
					if !strings.Contains(stdout, "20,000 rows read in 201 batches") && !strings.Contains(stdout, `"read": 20000`) {
						t.Fatalf("etl %q: the summary does not count 20,000 rows in 201 batches:\n%s", args, stdout)
					}
					continue
				}
				if stdout != want {
					t.Errorf("etl %q: %d workers printed\n%s\n1 worker printed\n%s", args, workers, stdout, want)
				}
			}
		}
	})
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-sales.csv")
	tests := []struct {
		name string
		args []string
		code int
		want []string // substrings of stderr
	}{
		{"missing file", []string{"-csv", missing}, exitRun, []string{missing, "no such file", "check that -csv " + missing}},
		{"directory", []string{"-csv", dir}, exitRun, []string{dir, "is a directory"}},
		{"unknown flag", []string{"-nope"}, exitUsage, []string{"flag provided but not defined: -nope", "usage: etl"}},
		{"unknown backend", []string{"-backend", "carrier-pigeon"}, exitUsage, []string{`unknown -backend "carrier-pigeon"`}},
		{"batch size 0", []string{"-batch-size", "0"}, exitUsage, []string{"-batch-size 0 is out of range"}},
		{"batch size too big", []string{"-batch-size", "100001"}, exitUsage, []string{"-batch-size 100001 is out of range"}},
		{"batch size not a number", []string{"-batch-size", "many"}, exitUsage, []string{`invalid value "many"`}},
		{"stray argument", []string{"sales.csv"}, exitUsage, []string{`unexpected arguments ["sales.csv"]`}},
		{"stray argument after -csv", []string{"-csv", "testdata/malformed.csv", "more.csv"}, exitUsage, []string{"unexpected arguments"}},
		{"empty -csv", []string{"-csv", ""}, exitUsage, []string{"-csv needs a file name"}},
		{"help", []string{"-h"}, exitOK, []string{"usage: etl", "-batch-size", "-csv", "-json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runDemo(t, context.Background(), tt.args)
			if code != tt.code {
				t.Errorf("etl %q: exit %d, want %d; stderr:\n%s", tt.args, code, tt.code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("etl %q: stderr does not say %q:\n%s", tt.args, w, stderr)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("etl %q: stderr shows a panic:\n%s", tt.args, stderr)
			}
			if stdout != "" {
				t.Errorf("etl %q: printed a summary on a failed or usage-only run:\n%s", tt.args, stdout)
			}
		})
	}
}

func TestRunUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	path := filepath.Join(t.TempDir(), "locked.csv")
	if err := os.WriteFile(path, []byte("region,product,units,unit_price\nSalem,candle,1,2\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runDemo(t, context.Background(), []string{"-csv", path})
	if code != exitRun || stdout != "" || !strings.Contains(stderr, "permission denied") || !strings.Contains(stderr, path) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

// An unreachable Redis is a clear error with exit 2; the password in the URL
// never shows.
func TestRunRedisUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Port 1 refuses connections.
	code, stdout, stderr := runDemo(t, ctx, []string{"-backend", "redis", "-redis-url", "redis://necro:hunter2@127.0.0.1:1/0"})
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "connection refused") || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("the password shows in the error:\n%s", stderr)
	}
}

// On Redis the demo prints exactly what it prints on the memory backend.
func TestRunGoldenOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-backend", "redis", "-redis-url", srv.URL()}, tc.args...)
			code, stdout, stderr := runDemo(t, context.Background(), args)
			if code != exitOK || stderr != "" {
				t.Fatalf("etl %q: exit %d, stderr:\n%s", args, code, stderr)
			}
			checkGolden(t, tc.name, []byte(stdout))
		})
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, stdout, stderr := runDemo(t, ctx, nil)
	if code != exitRun || stdout != "" || !strings.Contains(stderr, "the run stopped: context canceled") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

// -v logs one JSON line per event handled on standard error; the summary
// still goes alone to standard output.
func TestRunVerboseLogsEveryEvent(t *testing.T) {
	code, stdout, stderr := runDemo(t, context.Background(), []string{"-v", "-batch-size", "5"})
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "Sales summary of sample_sales.csv") {
		t.Errorf("stdout:\n%s", stdout)
	}
	handled := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		if rec["msg"] == "event handled" {
			handled[rec[runtime.LogKeyEventType].(string)]++
		}
	}
	// 24 rows in batches of 5 make 5 batches.
	want := map[string]int{EventEtlStart: 1, EventRawDataLoaded: 5, EventDataCleaned: 5, EventDataTransformed: 5}
	for typ, n := range want {
		if handled[typ] != n {
			t.Errorf("%d %s events logged as handled, want %d; log:\n%s", handled[typ], typ, n, stderr)
		}
	}
}

func quietLogger() runtime.Option {
	return runtime.WithLogger(runtime.NewJSONLogger(io.Discard, slog.LevelWarn))
}

// The generated Spine makes one chain per batch: ETL_START → RAW_DATA_LOADED
// (batch 0) → RAW_DATA_LOADED (batch 1) → ..., and each loaded batch →
// DATA_CLEANED → DATA_TRANSFORMED.
func TestSpineChain(t *testing.T) {
	for _, tc := range []struct {
		batchSize, batches int
	}{
		{DefaultBatchSize, 1},
		{5, 5},  // 24 rows: 5+5+5+5+4
		{12, 3}, // 12+12, and an empty last batch: the reader sees the end only when it reads past it
		{1, 25},
	} {
		b := necrotest.NewBackend(t)
		var out bytes.Buffer
		spine := NewSpine(b, &Extractor{}, &Ledger{Out: &out}, quietLogger())
		start := NewEtlStartEvent(EtlStart{Source: SampleSource, BatchSize: tc.batchSize})
		necrotest.RunUntilIdle(t, spine, b, start)

		n := tc.batches
		necrotest.Count(t, b, EventEtlStart, 1)
		raws := necrotest.Count(t, b, EventRawDataLoaded, n)
		cleans := necrotest.Count(t, b, EventDataCleaned, n)
		transforms := necrotest.Count(t, b, EventDataTransformed, n)
		if got := len(b.Events()); got != 1+3*n {
			t.Fatalf("batch size %d: %d events, want %d:\n%s", tc.batchSize, got, 1+3*n, b.Tree())
		}
		necrotest.Chain(t, b, EventEtlStart, EventRawDataLoaded, EventDataCleaned, EventDataTransformed)

		payloads := necrotest.Payloads[RawDataLoaded](t, b, EventRawDataLoaded)
		rows := 0
		for i, p := range payloads {
			if p.Batch.Seq != i || p.Batch.Last != (i == n-1) || (p.Next == nil) != (i == n-1) {
				t.Fatalf("batch size %d: RAW_DATA_LOADED %d is batch %d, last %v, next %v:\n%s", tc.batchSize, i, p.Batch.Seq, p.Batch.Last, p.Next, b.Tree())
			}
			rows += len(p.Records) + int(p.Rejected.Total())
			parent := start
			if i > 0 {
				parent = raws[i-1]
			}
			necrotest.CausedBy(t, b, raws[i], parent)
			necrotest.CausedBy(t, b, cleans[i], raws[i])
			necrotest.CausedBy(t, b, transforms[i], cleans[i])
		}
		if rows != 24 {
			t.Errorf("batch size %d: the batches hold %d rows, want 24", tc.batchSize, rows)
		}
		for _, ev := range b.Events() {
			if !b.Acked(ev.ID) {
				t.Errorf("batch size %d: %s %s was not acknowledged", tc.batchSize, ev.Type, ev.ID)
			}
		}
		if tc.batchSize == DefaultBatchSize {
			checkGolden(t, "sample", out.Bytes())
		} else if !strings.Contains(out.String(), "24 rows read in ") {
			t.Errorf("batch size %d: summary:\n%s", tc.batchSize, out.String())
		}
	}
}

// lengthBackend is a memory bus that remembers the longest its queue got,
// measured after each event was acknowledged with what it emitted.
type lengthBackend struct {
	*memory.Backend
	mu      sync.Mutex
	longest int
}

func (b *lengthBackend) Subscribe(ctx context.Context, sub runtime.Subscription) (runtime.Consumer, error) {
	c, err := b.Backend.Subscribe(ctx, sub)
	return &lengthConsumer{Consumer: c, b: b}, err
}

type lengthConsumer struct {
	runtime.Consumer
	b *lengthBackend
}

func (c *lengthConsumer) Ack(ctx context.Context, d runtime.Delivery, emitted []runtime.Event) error {
	err := c.Consumer.Ack(ctx, d, emitted)
	c.b.mu.Lock()
	c.b.longest = max(c.b.longest, c.b.Len())
	c.b.mu.Unlock()
	return err
}

// On the real Spine as on the simulated chain (TestQueueStaysShort), one
// worker never has more than three events queued, whatever the file's size:
// that is why memory stays flat.
func TestSpineQueueStaysShort(t *testing.T) {
	path := writeSales(t, 5_000)
	for _, size := range []int{1, 10, 1000} {
		b := &lengthBackend{Backend: memory.New()}
		l := &Ledger{Out: io.Discard}
		spine := NewSpine(b, &Extractor{}, l, quietLogger())
		if err := spine.RunUntilIdle(context.Background(), NewEtlStartEvent(EtlStart{Source: path, BatchSize: size})); err != nil {
			t.Fatal(err)
		}
		b.Close()
		if b.longest > 3 {
			t.Errorf("batch size %d: the queue held %d events; it should never hold more than 3", size, b.longest)
		}
		if s, err := l.Result(); err != nil || s.RowsRead() != 5_000 {
			t.Errorf("batch size %d: %d rows read, %v", size, s.RowsRead(), err)
		}
	}
}
