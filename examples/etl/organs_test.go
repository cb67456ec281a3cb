package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// runChain hands every payload to the organs that listen to its event type,
// in declaration order, first in first out: what the generated Spine does on
// one worker with the memory backend, minus the runtime. It returns the
// longest the queue got, counted after each event was handled.
func runChain(t testing.TB, x *Extractor, l *Ledger, start EtlStart) (maxQueued int) {
	t.Helper()
	queue := []any{start}
	for len(queue) > 0 {
		ev := queue[0]
		queue[0] = nil
		queue = queue[1:]
		switch p := ev.(type) {
		case EtlStart:
			queue = append(queue, x.ExtractCSV(p))
		case RawDataLoaded:
			queue = append(queue, CleanData(p))
			if next := x.ExtractNextBatch(p); next != nil {
				queue = append(queue, *next)
			}
		case DataCleaned:
			queue = append(queue, TransformData(p))
		case DataTransformed:
			if err := l.ExportSummary(p); err != nil {
				t.Errorf("ExportSummary(batch %d): %v", p.Batch.Seq, err)
			}
		default:
			t.Fatalf("no organ listens to %T", ev)
		}
		maxQueued = max(maxQueued, len(queue))
	}
	return maxQueued
}

// goldenCases are the command lines whose standard output is checked
// against testdata/NAME.golden, by the organ chain here and by run() in
// main_test.go.
var goldenCases = []struct {
	name string
	args []string
}{
	{"sample", nil},
	{"sample_json", []string{"-json"}},
	{"malformed", []string{"-csv", "testdata/malformed.csv"}},
	{"malformed_json", []string{"-csv", "testdata/malformed.csv", "-json"}},
	{"malformed_batch3", []string{"-csv", "testdata/malformed.csv", "-batch-size", "3"}},
	{"missing_header", []string{"-csv", "testdata/missing_header.csv"}},
	{"odd_header", []string{"-csv", "testdata/odd_header.csv"}},
	{"empty", []string{"-csv", "testdata/empty.csv"}},
	{"bom_crlf", []string{"-csv", "testdata/bom_crlf.csv", "-batch-size", "1"}},
}

// checkGolden compares got with testdata/name.golden, or rewrites the file
// with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestOrganChainGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseArgs(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			l := &Ledger{Out: &out, JSON: opts.json}
			runChain(t, &Extractor{}, l, EtlStart{Source: opts.source(), BatchSize: opts.batchSize})
			if _, err := l.Result(); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, out.Bytes())
		})
	}
}

func TestMalformedRowsByReason(t *testing.T) {
	l := &Ledger{Out: io.Discard}
	runChain(t, &Extractor{}, l, EtlStart{Source: "testdata/malformed.csv", BatchSize: 5})
	s, err := l.Result()
	if err != nil {
		t.Fatal(err)
	}
	// See the comments in the script that wrote testdata/malformed.csv: every
	// reason is there, with its first line.
	want := map[Reason][2]int{
		ReasonCSVSyntax:        {2, 18},
		ReasonInvalidUTF8:      {2, 16},
		ReasonWrongColumnCount: {2, 3},
		ReasonBlankKey:         {2, 5},
		ReasonControlCharacter: {2, 20},
		ReasonBadUnits:         {5, 7},
		ReasonBadUnitPrice:     {6, 11},
	}
	for r := ReasonCSVSyntax; r < reasonEnd; r++ {
		if got := [2]int{int(s.Rejected.Rows(r)), s.Rejected.first[r]}; got != want[r] {
			t.Errorf("%s: %d rows from line %d; want %d from line %d", r, got[0], got[1], want[r][0], want[r][1])
		}
	}
	if s.Total.Orders != 6 || s.RowsRead() != 27 {
		t.Errorf("accepted %d of %d rows; want 6 of 27", s.Total.Orders, s.RowsRead())
	}
}

func TestBatchSizeDoesNotChangeTheSummary(t *testing.T) {
	var want Summary
	for i, size := range []int{MaxBatchSize, 1, 2, 3, 7, 1000} {
		l := &Ledger{Out: io.Discard}
		runChain(t, &Extractor{}, l, EtlStart{Source: "testdata/malformed.csv", BatchSize: size})
		got, err := l.Result()
		if err != nil {
			t.Fatal(err)
		}
		got.Batches = 0
		if i == 0 {
			want = got
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("batch size %d:\n%+v\nwant\n%+v", size, got, want)
		}
	}
}

// writeSales writes a CSV of rows sales, a few of them malformed, and returns its path.
func writeSales(t testing.TB, rows int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sales.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := generateSales(f, rows, 1); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestQueueStaysShort(t *testing.T) {
	path := writeSales(t, 20_000)
	for _, size := range []int{1, 10, 1000} {
		l := &Ledger{Out: io.Discard}
		maxQueued := runChain(t, &Extractor{}, l, EtlStart{Source: path, BatchSize: size})
		if maxQueued > 3 {
			t.Errorf("batch size %d: the queue held %d events; it should never hold more than 3", size, maxQueued)
		}
		if s, err := l.Result(); err != nil || s.RowsRead() != 20_000 {
			t.Errorf("batch size %d: %d rows read, %v", size, s.RowsRead(), err)
		}
	}
}

func TestExtractNextBatchStopsAfterTheLast(t *testing.T) {
	if next := (&Extractor{}).ExtractNextBatch(RawDataLoaded{Batch: BatchInfo{Last: true}}); next != nil {
		t.Errorf("ExtractNextBatch after the last batch = %+v, want nil", next)
	}
}

func TestCleanAndTransform(t *testing.T) {
	raw := RawDataLoaded{
		Batch:   BatchInfo{Source: "s", Seq: 3},
		Columns: standardColumns,
		Records: []RawRecord{
			{Line: 10, Fields: []string{"Salem", "candle", "2", "4.50"}},
			{Line: 11, Fields: []string{"Salem", "candle", "x", "4.50"}},
			{Line: 12, Fields: []string{"Prague", "candle", "1", "4"}},
		},
	}
	raw.Rejected.Add(ReasonCSVSyntax, 9)
	clean := CleanData(raw)
	if len(clean.Sales) != 2 || clean.Rejected.Rows(ReasonBadUnits) != 1 || clean.Rejected.Rows(ReasonCSVSyntax) != 1 || clean.Batch != raw.Batch {
		t.Fatalf("CleanData = %+v", clean)
	}
	tr := TransformData(clean)
	if tr.ByRegion["Salem"] != (Totals{1, 2, 900}) || tr.ByRegion["Prague"] != (Totals{1, 1, 400}) || tr.ByProduct["candle"] != (Totals{2, 3, 1300}) {
		t.Errorf("TransformData = %+v", tr)
	}
	if tr.Rejected != clean.Rejected || tr.Batch != clean.Batch {
		t.Errorf("TransformData lost the batch or its rejections: %+v", tr)
	}
}

func TestTransformDataOverflow(t *testing.T) {
	big := Sale{"Salem", "candle", maxUnits, maxUnitCents}
	sales := make([]Sale, 100_000) // 10^5 × 10^14 cents > MaxInt64
	for i := range sales {
		sales[i] = big
	}
	tr := TransformData(DataCleaned{Batch: BatchInfo{Seq: 2}, Sales: sales})
	if !strings.Contains(tr.Batch.Failure, "batch 2: region \"Salem\": total does not fit in 64 bits") {
		t.Errorf("failure = %q", tr.Batch.Failure)
	}
}

// batch returns a transformed batch with one sale in region.
func batch(seq int, last bool, region string) DataTransformed {
	one := Totals{Orders: 1, Units: 1, RevenueCents: 100}
	return DataTransformed{
		Batch:     BatchInfo{Source: "s", Seq: seq, Last: last},
		ByRegion:  map[string]Totals{region: one},
		ByProduct: map[string]Totals{"candle": one},
	}
}

func TestLedgerOutOfOrderAndDuplicates(t *testing.T) {
	var out bytes.Buffer
	l := &Ledger{Out: &out}
	for _, b := range []DataTransformed{batch(2, true, "a"), batch(0, false, "b"), batch(2, true, "a"), batch(0, false, "b")} {
		if err := l.ExportSummary(b); err != nil {
			t.Fatal(err)
		}
	}
	if out.Len() != 0 {
		t.Fatalf("summary written before batch 1 arrived:\n%s", out.String())
	}
	if _, err := l.Result(); !errors.Is(err, errIncomplete) || !strings.Contains(err.Error(), "2 of 3 batches arrived") {
		t.Errorf("Result before the end = %v, want errIncomplete saying 2 of 3", err)
	}
	if err := l.ExportSummary(batch(1, false, "a")); err != nil {
		t.Fatal(err)
	}
	s, err := l.Result()
	if err != nil {
		t.Fatal(err)
	}
	if s.Batches != 3 || s.Total.Orders != 3 || s.ByRegion["a"].Orders != 2 {
		t.Errorf("summary %+v; want 3 batches, 3 orders, 2 in region a (duplicates counted once)", s)
	}
	if n := strings.Count(out.String(), "Sales summary"); n != 1 {
		t.Errorf("summary written %d times, want once", n)
	}
	// A batch redelivered after the end changes nothing and writes nothing.
	if err := l.ExportSummary(batch(1, false, "a")); err != nil || strings.Count(out.String(), "Sales summary") != 1 {
		t.Errorf("redelivery after the end: %v, output\n%s", err, out.String())
	}
}

func TestLedgerNeverSawTheLastBatch(t *testing.T) {
	l := &Ledger{Out: io.Discard}
	_ = l.ExportSummary(batch(0, false, "a"))
	if _, err := l.Result(); !errors.Is(err, errIncomplete) || !strings.Contains(err.Error(), "the last one never did") {
		t.Errorf("Result = %v, want errIncomplete", err)
	}
	if _, err := (&Ledger{}).Result(); !errors.Is(err, errIncomplete) {
		t.Errorf("Result of an unused Ledger = %v, want errIncomplete", err)
	}
}

func TestLedgerFailures(t *testing.T) {
	t.Run("unreadable input", func(t *testing.T) {
		var out bytes.Buffer
		l := &Ledger{Out: &out}
		runChain(t, &Extractor{}, l, EtlStart{Source: filepath.Join(t.TempDir(), "nope.csv")})
		_, err := l.Result()
		if !errors.Is(err, errUnreadable) || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("Result = %v, want errUnreadable naming the missing file", err)
		}
		if out.Len() != 0 {
			t.Errorf("a failed run wrote a summary:\n%s", out.String())
		}
	})
	t.Run("overflow across batches", func(t *testing.T) {
		l := &Ledger{Out: io.Discard}
		huge := Totals{Orders: 1, Units: 1, RevenueCents: math.MaxInt64 - 1}
		for seq := range 2 {
			b := batch(seq, seq == 1, "a")
			b.ByRegion["a"] = huge
			_ = l.ExportSummary(b)
		}
		_, err := l.Result()
		if err == nil || errors.Is(err, errUnreadable) || !strings.Contains(err.Error(), "batch 1: the totals overflow") {
			t.Errorf("Result = %v, want an overflow in batch 1", err)
		}
	})
	t.Run("the earliest failure wins", func(t *testing.T) {
		l := &Ledger{Out: io.Discard}
		b2 := batch(2, true, "a")
		b2.Batch.Failure = "second"
		b1 := batch(1, false, "a")
		b1.Batch.Failure = "first"
		_ = l.ExportSummary(b2)
		_ = l.ExportSummary(b1)
		_ = l.ExportSummary(batch(0, false, "a"))
		if _, err := l.Result(); err == nil || err.Error() != "first" {
			t.Errorf("Result = %v, want the failure of batch 1", err)
		}
	})
	t.Run("write error", func(t *testing.T) {
		l := &Ledger{Out: errWriter{}}
		if err := l.ExportSummary(batch(0, true, "a")); err == nil || !strings.Contains(err.Error(), "write the summary: disk full") {
			t.Errorf("ExportSummary = %v, want the write error", err)
		}
		if _, err := l.Result(); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("Result = %v, want the write error", err)
		}
	})
	t.Run("negative sequence", func(t *testing.T) {
		if err := (&Ledger{Out: io.Discard}).ExportSummary(batch(-1, true, "a")); err == nil {
			t.Error("ExportSummary accepted a negative sequence number")
		}
	})
}
