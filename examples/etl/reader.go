package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Batch sizes: rows (CSV records, rejected ones included) per RAW_DATA_LOADED.
const (
	DefaultBatchSize = 1000
	MaxBatchSize     = 100_000
)

// readBufferSize is the read buffer of one batch: large enough that a batch of
// typical rows takes a handful of reads.
const readBufferSize = 64 << 10

// readBuffers recycles the read buffers of batches. A buffer serves one call
// of readBatch, and nothing points into it afterwards (the CSV reader copies
// every record out), so the next batch can use it: a run then allocates a
// few buffers instead of one per batch.
var readBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

const utf8BOM = "\ufeff"

// Cursor is where the next batch of a CSV starts: everything the Extractor
// needs to read it, so that the organ keeps no state between events.
type Cursor struct {
	Source    string  `json:"source"`     // what Extractor.Open opens
	Seq       int     `json:"seq"`        // the number of the batch that starts here, from 0
	Offset    int64   `json:"offset"`     // byte offset of the batch's first record
	Line      int     `json:"line"`       // lines of the file before Offset
	BatchSize int     `json:"batch_size"` // records per batch
	Columns   Columns `json:"columns"`    // the column order the header gave
}

// HeaderStatus says what the first line of the input turned out to be.
type HeaderStatus string

// The header statuses.
const (
	HeaderOK      HeaderStatus = "ok"      // names the four columns, in any order
	HeaderMissing HeaderStatus = "missing" // the input is empty, or line 1 is already a sale
	HeaderOdd     HeaderStatus = "odd"     // line 1 is neither the header nor a sale
)

// HeaderCheck is the verdict on the input's first line. A header that is
// missing or odd is reported, and the rows are read in the standard order
// region, product, units, unit_price: the checks of every row then say
// whether that was right.
type HeaderCheck struct {
	Status HeaderStatus `json:"status"`
	Detail string       `json:"detail,omitempty"` // for a missing or odd header: what was found, what was assumed
}

// csvReader returns the CSV reader both the Extractor and the hand-written
// baseline use: records of any width (the row checks count columns), and one
// reused record slice.
func csvReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// skipBOM drops a UTF-8 byte order mark at the start of br and returns its length.
func skipBOM(br *bufio.Reader) int64 {
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		n, _ := br.Discard(len(utf8BOM))
		return int64(n)
	}
	return 0
}

// checkHeader classifies the first record of the input, found on line (nil
// when the input is empty; with the reason it is not text or not CSV
// otherwise) and returns the column order to read the rows in. isData reports
// that the record is a sale that must be read as a row.
func checkHeader(record []string, reason Reason, line int) (cols Columns, check HeaderCheck, isData bool) {
	const want = "region,product,units,unit_price"
	cols = standardColumns
	switch {
	case record == nil && reason == 0:
		return cols, HeaderCheck{Status: HeaderMissing, Detail: "the input is empty"}, false
	case reason != 0:
		return cols, HeaderCheck{Status: HeaderOdd, Detail: fmt.Sprintf("line %d is not a header (%s); expected %s, and read the rows in that order", line, reason, want)}, false
	}
	if named, ok := headerColumns(record); ok {
		return named, HeaderCheck{Status: HeaderOK}, false
	}
	if _, r := parseSale(record, standardColumns); r == 0 {
		return cols, HeaderCheck{Status: HeaderMissing, Detail: fmt.Sprintf("line %d is a sale, not a header; read every line as a row, in the order %s", line, want)}, true
	}
	return cols, HeaderCheck{Status: HeaderOdd, Detail: fmt.Sprintf("line %d %q does not name the columns %s; read the rows in that order", line, abbreviate(strings.Join(record, ","), 60), want)}, false
}

// abbreviate cuts s to at most n runes, marking the cut with an ellipsis.
func abbreviate(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

// headerColumns maps a header to Columns when it names each of the four
// columns exactly once, in any order, ignoring case, surrounding spaces, and
// spaces or hyphens for underscores ("Unit Price" is unit_price).
func headerColumns(record []string) (Columns, bool) {
	if len(record) != columnCount {
		return Columns{}, false
	}
	pos := map[string]int{}
	for i, name := range record {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, utf8BOM)))
		name = strings.NewReplacer(" ", "_", "-", "_").Replace(name)
		if _, dup := pos[name]; dup {
			return Columns{}, false
		}
		pos[name] = i
	}
	var cols Columns
	for name, dst := range map[string]*int{colRegion: &cols.Region, colProduct: &cols.Product, colUnits: &cols.Units, colUnitPrice: &cols.UnitPrice} {
		i, ok := pos[name]
		if !ok {
			return Columns{}, false
		}
		*dst = i
	}
	return cols, true
}

// readBatch reads the batch that starts at cur from r, which is positioned at
// cur.Offset: the header first when cur.Seq is 0, then up to cur.BatchSize
// records. Records that are not CSV or not text are counted in Rejected; the
// rest go to Records for CleanData to check. Next is where the following batch
// starts, nil when this one reached the end of the input.
//
// The error is an I/O error of r: the batch is then incomplete.
func readBatch(r io.Reader, cur Cursor) (RawDataLoaded, error) {
	size := cur.BatchSize
	if size <= 0 || size > MaxBatchSize {
		size = DefaultBatchSize
	}
	br := readBuffers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil) // do not keep r alive
		readBuffers.Put(br)
	}()
	var bom int64
	if cur.Offset == 0 {
		bom = skipBOM(br)
	}
	cr := csvReader(br)
	out := RawDataLoaded{
		Batch:   BatchInfo{Source: cur.Source, Seq: cur.Seq},
		Columns: cur.Columns,
	}
	// Every record of the batch is cut from one backing array of fields,
	// so that a batch allocates its fields once rather than per record.
	fields := make([]string, 0, size*columnCount)
	records := make([]RawRecord, 0, size)
	lastLine := 0 // lines of the batch consumed so far, counted from cur.Line
	read, eof := 0, false

	if cur.Seq == 0 {
		record, reason, first, last, err := readRecord(cr)
		if err != nil && err != io.EOF {
			return out, fmt.Errorf("reading %s stopped at line 1: %w", cur.Source, err)
		}
		if err == io.EOF {
			record, eof = nil, true
		} else {
			lastLine = last
		}
		cols, check, isData := checkHeader(record, reason, first)
		out.Columns, out.Batch.Header = cols, &check
		if isData {
			start := len(fields)
			fields = append(fields, record...)
			records = append(records, RawRecord{Line: first, Fields: fields[start:len(fields):len(fields)]})
			read++
		}
	}
	for !eof && read < size {
		record, reason, first, last, err := readRecord(cr)
		if err == io.EOF {
			eof = true
			break
		}
		if err != nil {
			return out, fmt.Errorf("reading %s stopped at line %d: %w", cur.Source, cur.Line+lastLine+1, err)
		}
		read++
		startLine := cur.Line + first
		lastLine = last
		if reason != 0 {
			out.Rejected.Add(reason, startLine)
			continue
		}
		start := len(fields)
		fields = append(fields, record...)
		records = append(records, RawRecord{Line: startLine, Fields: fields[start:len(fields):len(fields)]})
	}
	out.Records = records
	if eof {
		out.Batch.Last = true
		return out, nil
	}
	out.Next = &Cursor{
		Source:    cur.Source,
		Seq:       cur.Seq + 1,
		Offset:    cur.Offset + bom + cr.InputOffset(),
		Line:      cur.Line + lastLine,
		BatchSize: size,
		Columns:   out.Columns,
	}
	return out, nil
}

// readRecord reads one record. A record that is not valid CSV or not valid
// UTF-8 comes back with its Reason and no fields. first and last are the lines
// of the input the record starts and ends on (a quoted field may span lines),
// counted from where cr started; err is io.EOF at the end, or an I/O error.
func readRecord(cr *csv.Reader) (record []string, reason Reason, first, last int, err error) {
	record, err = cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && (errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote)) {
			return nil, ReasonCSVSyntax, pe.StartLine, pe.Line, nil
		}
		return nil, 0, 0, 0, err
	}
	first, _ = cr.FieldPos(0)
	n := len(record) - 1
	last, _ = cr.FieldPos(n)
	last += strings.Count(record[n], "\n")
	if reason := checkText(record); reason != 0 {
		return nil, reason, first, last, nil
	}
	return record, 0, first, last, nil
}
