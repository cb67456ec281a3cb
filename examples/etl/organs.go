package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// The organs, in the order an event meets them:
//
//	ETL_START ──Extractor.ExtractCSV──▶ RAW_DATA_LOADED (batch 0)
//	RAW_DATA_LOADED ──CleanData──▶ DATA_CLEANED
//	                └─Extractor.ExtractNextBatch──▶ RAW_DATA_LOADED (batch n+1; nothing after the last)
//	DATA_CLEANED ──TransformData──▶ DATA_TRANSFORMED
//	DATA_TRANSFORMED ──Ledger.ExportSummary──▶ the summary, once every batch is in
//
// Why a batch pulls in the next one rather than ExtractCSV emitting every
// batch at once: the queue then holds a few batches whatever the size of the
// file. With one worker and a FIFO backend, the queue never holds more than
// three events (a transformed batch, a cleaned one and a loaded one), so
// memory stays flat from a thousand rows to a billion; with N workers it
// holds about 3N. The next batch is read from a Cursor (a byte offset, a line
// count and the header's column order) carried in the event, not from a
// reader kept open in the organ: any worker, or any process sharing a Redis
// stream, can read it, and a redelivered event reads the same rows again.

// Extractor is the organ that reads the CSV, one batch per event. It keeps
// nothing between events: where to resume travels in RAW_DATA_LOADED.
type Extractor struct {
	// Open opens a Source for reading. Nil means the default: the embedded
	// sample for SampleSource, a file for anything else. Files that implement
	// io.Seeker (files on disk and the embedded sample do) are read from the
	// batch's offset; others are read from the start and skipped forward.
	Open func(source string) (fs.File, error)
}

// ExtractCSV reads the header and the first batch of the input that start
// names. A source that cannot be opened or read ends the run: the batch comes
// back marked Last, with the reason in Batch.Failure.
//
//necro:listens ETL_START
func (x *Extractor) ExtractCSV(start EtlStart) RawDataLoaded {
	return x.extract(Cursor{Source: start.Source, BatchSize: start.BatchSize, Columns: standardColumns})
}

func (x *Extractor) extract(cur Cursor) RawDataLoaded {
	batch, err := x.read(cur)
	if err == nil && batch.Next != nil && batch.Next.Offset <= cur.Offset {
		// Every record takes at least one byte, so this cannot happen; if it
		// did, the run would never end.
		err = fmt.Errorf("read %s: batch %d made no progress past byte %d", cur.Source, cur.Seq, cur.Offset)
	}
	if err != nil {
		return RawDataLoaded{
			Batch:   BatchInfo{Source: cur.Source, Seq: cur.Seq, Last: true, Failure: unreadablePrefix + err.Error()},
			Columns: cur.Columns,
		}
	}
	return batch
}

func (x *Extractor) read(cur Cursor) (RawDataLoaded, error) {
	if cur.Offset < 0 || cur.Line < 0 || cur.Seq < 0 {
		return RawDataLoaded{}, fmt.Errorf("batch %d of %s: invalid cursor (offset %d, line %d)", cur.Seq, cur.Source, cur.Offset, cur.Line)
	}
	open := x.Open
	if open == nil {
		open = openSource
	}
	f, err := open(cur.Source)
	if err != nil {
		return RawDataLoaded{}, err
	}
	defer f.Close()
	if err := seekTo(f, cur.Offset); err != nil {
		return RawDataLoaded{}, fmt.Errorf("read %s from byte %d (batch %d): %w", cur.Source, cur.Offset, cur.Seq, err)
	}
	return readBatch(f, cur)
}

// seekTo positions f at offset. A regular file shorter than offset has been
// changed since the previous batch was read: that is an error, not an early end.
func seekTo(f fs.File, offset int64) error {
	if offset == 0 {
		return nil
	}
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() && info.Size() < offset {
		return fmt.Errorf("the file has shrunk to %d bytes since the previous batch was read; was it changed during the run?", info.Size())
	}
	if s, ok := f.(io.Seeker); ok {
		_, err := s.Seek(offset, io.SeekStart)
		return err
	}
	if _, err := io.CopyN(io.Discard, f, offset); err != nil {
		return fmt.Errorf("skip to the batch: %w", err)
	}
	return nil
}

// openSource is the default Extractor.Open.
func openSource(source string) (fs.File, error) {
	if name, ok := strings.CutPrefix(source, embeddedPrefix); ok {
		return sampleFiles.Open(name)
	}
	return os.Open(source)
}

// CleanData checks every record of a batch and turns the good ones into
// sales; the others are counted by reason.
//
//necro:listens RAW_DATA_LOADED
func CleanData(raw RawDataLoaded) DataCleaned {
	out := DataCleaned{Batch: raw.Batch, Rejected: raw.Rejected, Sales: make([]Sale, 0, len(raw.Records))}
	for _, rec := range raw.Records {
		sale, reason := parseSale(rec.Fields, raw.Columns)
		if reason != 0 {
			out.Rejected.Add(reason, rec.Line)
			continue
		}
		out.Sales = append(out.Sales, sale)
	}
	return out
}

// ExtractNextBatch reads the batch after loaded, or emits nothing when loaded
// was the last one. It is declared after CleanData on purpose: the organs of
// one event run in declaration order, so a batch is cleaned before the next
// one is read, and at most one loaded batch waits in the queue.
//
//necro:listens RAW_DATA_LOADED
func (x *Extractor) ExtractNextBatch(loaded RawDataLoaded) *RawDataLoaded {
	if loaded.Next == nil {
		return nil
	}
	next := x.extract(*loaded.Next)
	return &next
}

// TransformData reduces a batch of sales to totals per region and per
// product, so that what travels on is as small as the number of keys.
//
//necro:listens DATA_CLEANED
func TransformData(clean DataCleaned) DataTransformed {
	out := DataTransformed{
		Batch:     clean.Batch,
		ByRegion:  map[string]Totals{},
		ByProduct: map[string]Totals{},
		Rejected:  clean.Rejected,
	}
	for _, s := range clean.Sales {
		one := Totals{Orders: 1, Units: s.Units, RevenueCents: s.RevenueCents()}
		if err := addTo(out.ByRegion, s.Region, one); err != nil {
			out.Batch.Failure = fmt.Sprintf("batch %d: region %v; split the input into smaller files", clean.Batch.Seq, err)
			break
		}
		if err := addTo(out.ByProduct, s.Product, one); err != nil {
			out.Batch.Failure = fmt.Sprintf("batch %d: product %v; split the input into smaller files", clean.Batch.Seq, err)
			break
		}
	}
	return out
}

// Errors of Ledger.Result.
var (
	// errIncomplete: the run went idle before every batch reached the Ledger.
	errIncomplete = errors.New("the run ended before every batch reached ExportSummary")
	// errUnreadable: the Extractor could not open or read the input.
	errUnreadable = errors.New("cannot read the input")
)

// unreadablePrefix starts the Failure of a batch the Extractor could not read.
const unreadablePrefix = "cannot read the input: "

// Ledger is the organ with state at the end of the pipeline: ExportSummary
// adds up the batches of one run and writes the summary once all of them are
// in. Batches may arrive in any order (with several workers, or Redis); a
// batch delivered twice is counted once. Use one Ledger per run.
type Ledger struct {
	Out  io.Writer // where the summary is written
	JSON bool      // write the summary as JSON instead of tables

	mu      sync.Mutex
	summary Summary
	started bool
	seen    []uint64 // one bit per batch Seq: merged already
	merged  int      // batches merged
	batches int      // batches in the run, known when the last arrives; 0 before
	failure string   // the first failure of the run, by batch Seq
	failSeq int
	err     error // writing the summary failed
	done    bool  // every batch is in
}

// ExportSummary adds one batch to the ledger; when it completes the run, it
// writes the summary (unless the run failed: see Result).
//
//necro:listens DATA_TRANSFORMED
func (l *Ledger) ExportSummary(t DataTransformed) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := t.Batch.Seq
	if seq < 0 {
		return fmt.Errorf("batch with a negative sequence number %d: it was not built by the Extractor", seq)
	}
	if !l.started {
		l.summary, l.started = newSummary(t.Batch.Source), true
	}
	if l.markSeen(seq) {
		return nil // a redelivered batch: counted already
	}
	l.merged++
	if t.Batch.Last {
		l.batches = seq + 1
	}
	if t.Batch.Failure != "" {
		l.fail(seq, t.Batch.Failure)
	} else if err := l.summary.merge(t); err != nil {
		l.fail(seq, fmt.Sprintf("batch %d: the totals overflow: %v; split the input into smaller files", seq, err))
	}
	if l.batches == 0 || l.merged < l.batches || l.done {
		return nil
	}
	l.done = true
	if l.failure != "" {
		return nil
	}
	if l.JSON {
		l.err = l.summary.WriteJSON(l.Out)
	} else {
		l.err = l.summary.WriteTable(l.Out)
	}
	if l.err != nil {
		l.err = fmt.Errorf("write the summary: %w", l.err)
	}
	return l.err
}

// markSeen records that batch seq has arrived and reports whether it had already.
func (l *Ledger) markSeen(seq int) bool {
	word, bit := seq/64, uint64(1)<<(seq%64)
	for len(l.seen) <= word {
		l.seen = append(l.seen, 0)
	}
	had := l.seen[word]&bit != 0
	l.seen[word] |= bit
	return had
}

func (l *Ledger) fail(seq int, failure string) {
	if l.failure == "" || seq < l.failSeq {
		l.failure, l.failSeq = failure, seq
	}
}

// Result returns the summary of a complete run. The error says why there is
// none: the input could not be read, a total overflowed, the summary could
// not be written, or the run ended with batches missing (errIncomplete: an
// organ failed, and the log says which).
func (l *Ledger) Result() (Summary, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case strings.HasPrefix(l.failure, unreadablePrefix):
		return Summary{}, fmt.Errorf("%w: %s", errUnreadable, strings.TrimPrefix(l.failure, unreadablePrefix))
	case l.failure != "":
		return Summary{}, errors.New(l.failure)
	case !l.done && l.batches == 0:
		return Summary{}, fmt.Errorf("%w: %d batches arrived and the last one never did; the errors logged above say which organ failed", errIncomplete, l.merged)
	case !l.done:
		return Summary{}, fmt.Errorf("%w: %d of %d batches arrived; the errors logged above say which organ failed", errIncomplete, l.merged, l.batches)
	case l.err != nil:
		return Summary{}, l.err
	}
	return l.summary, nil
}
