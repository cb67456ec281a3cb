package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHeaderColumns(t *testing.T) {
	tests := []struct {
		header []string
		want   Columns
		ok     bool
	}{
		{[]string{"region", "product", "units", "unit_price"}, standardColumns, true},
		{[]string{"unit_price", "units", "product", "region"}, Columns{Region: 3, Product: 2, Units: 1, UnitPrice: 0}, true},
		{[]string{"\ufeffRegion", " PRODUCT ", "Units", "Unit Price"}, standardColumns, true},
		{[]string{"region", "product", "units", "unit-price"}, standardColumns, true},
		{[]string{"region", "product", "units"}, Columns{}, false},
		{[]string{"region", "product", "units", "unit_price", "notes"}, Columns{}, false},
		{[]string{"region", "region", "units", "unit_price"}, Columns{}, false},
		{[]string{"region", "item", "qty", "price"}, Columns{}, false},
		{[]string{"region;product;units;unit_price"}, Columns{}, false},
	}
	for _, tt := range tests {
		got, ok := headerColumns(tt.header)
		if ok != tt.ok || got != tt.want {
			t.Errorf("headerColumns(%q) = %+v, %v; want %+v, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckHeader(t *testing.T) {
	tests := []struct {
		name       string
		record     []string
		reason     Reason
		status     HeaderStatus
		isData     bool
		detailHint string
	}{
		{"empty input", nil, 0, HeaderMissing, false, "the input is empty"},
		{"not CSV", nil, ReasonCSVSyntax, HeaderOdd, false, "line 1 is not a header (csv_syntax)"},
		{"not text", nil, ReasonInvalidUTF8, HeaderOdd, false, "(invalid_utf8)"},
		{"header", []string{"region", "product", "units", "unit_price"}, 0, HeaderOK, false, ""},
		{"a sale", []string{"Salem", "candle", "12", "4.50"}, 0, HeaderMissing, true, "line 1 is a sale, not a header"},
		{"other names", []string{"region", "item", "qty", "price"}, 0, HeaderOdd, false, `line 1 "region,item,qty,price" does not name the columns`},
		{"a bad sale", []string{"Salem", "candle", "x", "4.50"}, 0, HeaderOdd, false, "does not name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, check, isData := checkHeader(tt.record, tt.reason, 1)
			if check.Status != tt.status || isData != tt.isData || !strings.Contains(check.Detail, tt.detailHint) {
				t.Errorf("checkHeader = %+v, isData %v; want status %s, isData %v, detail containing %q", check, isData, tt.status, tt.isData, tt.detailHint)
			}
		})
	}
}

func TestCheckHeaderAbbreviatesLongLines(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	_, check, _ := checkHeader([]string{long, "b", "c", "d"}, 0, 1)
	if len(check.Detail) > 200 {
		t.Errorf("detail is %d bytes long; a header of any length should be quoted briefly", len(check.Detail))
	}
}

// memSource returns an Extractor that reads data as "in.csv" from memory.
func memSource(data []byte) *Extractor {
	files := fstest.MapFS{"in.csv": &fstest.MapFile{Data: data}}
	return &Extractor{Open: files.Open}
}

// extractAll reads source to the end, batch after batch, the way the Spine
// routes RAW_DATA_LOADED back to the Extractor.
func extractAll(t testing.TB, x *Extractor, source string, batchSize int) []RawDataLoaded {
	t.Helper()
	batch := x.ExtractCSV(EtlStart{Source: source, BatchSize: batchSize})
	out := []RawDataLoaded{batch}
	for next := x.ExtractNextBatch(batch); next != nil; next = x.ExtractNextBatch(*next) {
		out = append(out, *next)
		if len(out) > 1_000_000 {
			t.Fatal("the Extractor does not stop")
		}
	}
	return out
}

type lineRecord struct {
	Line   int
	Fields string
}

// flatten lists the records of the batches with their lines, and adds up
// their rejections.
func flatten(batches []RawDataLoaded) ([]lineRecord, Rejections) {
	var recs []lineRecord
	var rej Rejections
	for _, b := range batches {
		for _, r := range b.Records {
			recs = append(recs, lineRecord{r.Line, strings.Join(r.Fields, "|")})
		}
		rej.Merge(b.Rejected)
	}
	return recs, rej
}

func TestReadBatchLineNumbers(t *testing.T) {
	const input = "\ufeff" +
		"\n" + // 1: blank lines before the header are skipped
		"region,product,units,unit_price\n" + // 2
		`"Salem","candle",1,1` + "\n" + // 3
		`"New` + "\n" + `Orleans",candle,1,1` + "\n" + // 4-5: one record on two lines
		"\n" + // 6
		`Prague,"tarot` + "\r\n" + `deck",1,1` + "\r\n" + // 7-8
		"Salem,can\"dle,1,1\n" + // 9: bare quote
		"Salem,\xff,1,1\n" + // 10: not UTF-8
		"Salem,candle,2,2\n" + // 11
		`Salem,"x""y",3,3` // 12, no final newline
	wantRecords := []lineRecord{
		{3, "Salem|candle|1|1"},
		{4, "New\nOrleans|candle|1|1"},
		{7, "Prague|tarot\ndeck|1|1"},
		{11, "Salem|candle|2|2"},
		{12, `Salem|x"y|3|3`},
	}
	var wantRejected Rejections
	wantRejected.Add(ReasonCSVSyntax, 9)
	wantRejected.Add(ReasonInvalidUTF8, 10)

	for _, size := range []int{1, 2, 3, 4, 6, 7, 100} {
		batches := extractAll(t, memSource([]byte(input)), "in.csv", size)
		recs, rej := flatten(batches)
		if !slices.Equal(recs, wantRecords) || rej != wantRejected {
			t.Errorf("batch size %d: records %q, rejected %+v\nwant %q, %+v", size, recs, rej.Report(), wantRecords, wantRejected.Report())
		}
		if h := batches[0].Batch.Header; h == nil || h.Status != HeaderOK {
			t.Errorf("batch size %d: header %+v, want ok", size, h)
		}
		for i, b := range batches {
			if b.Batch.Seq != i || b.Batch.Last != (i == len(batches)-1) || (b.Next == nil) != b.Batch.Last || b.Batch.Failure != "" {
				t.Errorf("batch size %d: batch %d is %+v (next %v)", size, i, b.Batch, b.Next)
			}
			if i > 0 && b.Batch.Header != nil {
				t.Errorf("batch size %d: batch %d carries a header verdict; only batch 0 should", size, i)
			}
		}
	}
}

func TestReadBatchCursorPointsAtNextRecord(t *testing.T) {
	input := "region,product,units,unit_price\nSalem,candle,1,1\r\nPrague,\"a\nb\",2,2\nEdinburgh,c,3,3\n"
	batches := extractAll(t, memSource([]byte(input)), "in.csv", 1)
	wantOffsets := []int64{
		int64(strings.Index(input, "Prague")),
		int64(strings.Index(input, "Edinburgh")),
		int64(len(input)),
	}
	wantLines := []int{2, 4, 5}
	for i, want := range wantOffsets {
		next := batches[i].Next
		if next == nil || next.Offset != want || next.Line != wantLines[i] || next.Seq != i+1 {
			t.Errorf("batch %d: next cursor %+v, want offset %d, line %d, seq %d", i, next, want, wantLines[i], i+1)
		}
	}
	// The input ends exactly at a batch boundary: one more, empty, last batch.
	if n := len(batches); n != 4 || len(batches[3].Records) != 0 || !batches[3].Batch.Last {
		t.Errorf("got %d batches, the last %+v; want 4, the last one empty", n, batches[n-1])
	}
}

func TestReadBatchHeaders(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		status  HeaderStatus
		records []lineRecord
		cols    Columns
	}{
		{"empty", "", HeaderMissing, nil, standardColumns},
		{"only blank lines", "\n\n\r\n", HeaderMissing, nil, standardColumns},
		{"only a BOM", "\ufeff", HeaderMissing, nil, standardColumns},
		{"only the header", "region,product,units,unit_price", HeaderOK, nil, standardColumns},
		{"missing", "Salem,candle,1,1\nPrague,candle,2,2\n", HeaderMissing, []lineRecord{{1, "Salem|candle|1|1"}, {2, "Prague|candle|2|2"}}, standardColumns},
		{"missing after blank lines", "\n\nSalem,candle,1,1\n", HeaderMissing, []lineRecord{{3, "Salem|candle|1|1"}}, standardColumns},
		{"odd", "a,b,c,d\nSalem,candle,1,1\n", HeaderOdd, []lineRecord{{2, "Salem|candle|1|1"}}, standardColumns},
		{"reordered with BOM and CRLF", "\ufeffunits,unit_price,product,region\r\n1,2.50,candle,Salem\r\n", HeaderOK, []lineRecord{{2, "1|2.50|candle|Salem"}}, Columns{Region: 3, Product: 2, Units: 0, UnitPrice: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batches := extractAll(t, memSource([]byte(tt.input)), "in.csv", 1)
			recs, _ := flatten(batches)
			h := batches[0].Batch.Header
			if h == nil || h.Status != tt.status || !slices.Equal(recs, tt.records) {
				t.Errorf("header %+v, records %q; want status %s, records %q", h, recs, tt.status, tt.records)
			}
			for _, b := range batches {
				if b.Columns != tt.cols {
					t.Errorf("batch %d: columns %+v, want %+v", b.Batch.Seq, b.Columns, tt.cols)
				}
			}
		})
	}
}

// failingFile is an fs.File whose reads fail after the first n bytes.
type failingFile struct {
	r   *bytes.Reader
	n   int64
	err error
}

func (f *failingFile) Stat() (fs.FileInfo, error) { return nil, errors.ErrUnsupported }
func (f *failingFile) Close() error               { return nil }
func (f *failingFile) Read(p []byte) (int, error) {
	pos := f.r.Size() - int64(f.r.Len())
	if pos >= f.n {
		return 0, f.err
	}
	if rest := f.n - pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	return f.r.Read(p)
}

func TestExtractorReadError(t *testing.T) {
	input := "region,product,units,unit_price\n" + strings.Repeat("Salem,candle,1,1\n", 100)
	diskErr := errors.New("input/output error")
	x := &Extractor{Open: func(string) (fs.File, error) {
		return &failingFile{r: bytes.NewReader([]byte(input)), n: 500, err: diskErr}, nil
	}}
	batches := extractAll(t, x, "flaky.csv", 10)
	last := batches[len(batches)-1]
	if !last.Batch.Last || !strings.Contains(last.Batch.Failure, "cannot read the input: reading flaky.csv stopped at line") ||
		!strings.Contains(last.Batch.Failure, diskErr.Error()) {
		t.Errorf("last batch %+v; want a failure naming the file, the line and the I/O error", last.Batch)
	}
	for _, b := range batches[:len(batches)-1] {
		if b.Batch.Failure != "" {
			t.Errorf("batch %d failed early: %s", b.Batch.Seq, b.Batch.Failure)
		}
	}
}

func TestExtractorOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, source, want string
	}{
		{"missing file", filepath.Join(dir, "nope.csv"), "no such file or directory"},
		{"a directory", dir, "is a directory"},
		{"missing embedded file", embeddedPrefix + "nope.csv", "file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch := (&Extractor{}).ExtractCSV(EtlStart{Source: tt.source})
			if !batch.Batch.Last || !strings.HasPrefix(batch.Batch.Failure, unreadablePrefix) || !strings.Contains(batch.Batch.Failure, tt.want) {
				t.Errorf("batch %+v; want the last one, failing with %q", batch.Batch, tt.want)
			}
		})
	}
}

func TestExtractorRejectsBadCursor(t *testing.T) {
	for _, cur := range []Cursor{{Source: "in.csv", Seq: 1, Offset: -1}, {Source: "in.csv", Seq: 1, Line: -1}, {Source: "in.csv", Seq: -1}} {
		next := memSource(nil).ExtractNextBatch(RawDataLoaded{Next: &cur})
		if next == nil || !next.Batch.Last || !strings.Contains(next.Batch.Failure, "invalid cursor") {
			t.Errorf("cursor %+v: got %+v, want a failed last batch", cur, next)
		}
	}
}

// streamFile hides every method of a file but Read, Stat and Close, as a
// pipe or a network file would.
type streamFile struct{ f fs.File }

func (s streamFile) Stat() (fs.FileInfo, error) { return s.f.Stat() }
func (s streamFile) Read(p []byte) (int, error) { return s.f.Read(p) }
func (s streamFile) Close() error               { return s.f.Close() }

func TestExtractorWithoutSeek(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "malformed.csv"))
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{"in.csv": &fstest.MapFile{Data: data}}
	seeking := extractAll(t, &Extractor{Open: files.Open}, "in.csv", 4)
	streaming := extractAll(t, &Extractor{Open: func(name string) (fs.File, error) {
		f, err := files.Open(name)
		return streamFile{f}, err
	}}, "in.csv", 4)
	r1, j1 := flatten(seeking)
	r2, j2 := flatten(streaming)
	if !slices.Equal(r1, r2) || j1 != j2 || len(seeking) != len(streaming) {
		t.Errorf("reading without Seek differs: %d vs %d batches", len(seeking), len(streaming))
	}
}

func TestExtractorFileShrinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.csv")
	input := "region,product,units,unit_price\n" + strings.Repeat("Salem,candle,1,1\n", 10)
	if err := os.WriteFile(path, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	x := &Extractor{}
	first := x.ExtractCSV(EtlStart{Source: path, BatchSize: 5})
	if err := os.WriteFile(path, []byte("region,product,units,unit_price\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	next := x.ExtractNextBatch(first)
	if next == nil || !next.Batch.Last || !strings.Contains(next.Batch.Failure, "was it changed during the run?") {
		t.Errorf("after the file shrank: %+v, want a failed last batch", next)
	}
}

func TestReadBatchClampsBatchSize(t *testing.T) {
	input := "region,product,units,unit_price\n" + strings.Repeat("Salem,candle,1,1\n", DefaultBatchSize+1)
	for _, size := range []int{0, -5, MaxBatchSize + 1} {
		batches := extractAll(t, memSource([]byte(input)), "in.csv", size)
		if len(batches) != 2 || len(batches[0].Records) != DefaultBatchSize || batches[0].Next.BatchSize != DefaultBatchSize {
			t.Errorf("batch size %d: %d batches, the first with %d records; want %d and %d", size, len(batches), len(batches[0].Records), 2, DefaultBatchSize)
		}
	}
}

func TestSampleIsEmbedded(t *testing.T) {
	batches := extractAll(t, &Extractor{}, SampleSource, DefaultBatchSize)
	recs, rej := flatten(batches)
	if len(batches) != 1 || len(recs) < 20 || rej.Total() != 0 || batches[0].Batch.Header.Status != HeaderOK {
		t.Errorf("sample: %d batches, %d records, %d rejected while reading, header %+v", len(batches), len(recs), rej.Total(), batches[0].Batch.Header)
	}
}
