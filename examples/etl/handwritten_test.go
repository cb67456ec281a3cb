package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"testing"
)

// summarizeByHand is the baseline the pipeline is measured against: one
// function, one pass, no events, no batches. It is written as carefully as
// the pipeline's reader: the same buffered, record-reusing CSV reader, the
// same checks (checkHeader, checkText, parseSale), the same checked totals,
// and aggregation straight into the summary's maps. What it does not do is
// what the framework adds: batches, events, a queue, and the per-batch
// totals merged by the Ledger.
func summarizeByHand(path string) (Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, readBufferSize)
	skipBOM(br)
	cr := csvReader(br)
	s := newSummary(path)
	s.Batches = 1

	record, reason, first, _, err := readRecord(cr)
	if err != nil && err != io.EOF {
		return Summary{}, fmt.Errorf("%s: line 1: %w", path, err)
	}
	cols, check, isData := checkHeader(record, reason, first)
	s.Header = check
	if err == io.EOF {
		return s, nil
	}
	add := func(sale Sale) error {
		one := Totals{Orders: 1, Units: sale.Units, RevenueCents: sale.RevenueCents()}
		if err := addTo(s.ByRegion, sale.Region, one); err != nil {
			return err
		}
		if err := addTo(s.ByProduct, sale.Product, one); err != nil {
			return err
		}
		return s.Total.Add(one)
	}
	if isData {
		sale, _ := parseSale(record, cols)
		if err := add(sale); err != nil {
			return Summary{}, err
		}
	}
	for {
		record, reason, first, _, err := readRecord(cr)
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return Summary{}, fmt.Errorf("%s: %w", path, err)
		}
		if reason == 0 {
			var sale Sale
			if sale, reason = parseSale(record, cols); reason == 0 {
				if err := add(sale); err != nil {
					return Summary{}, err
				}
				continue
			}
		}
		s.Rejected.Add(reason, first)
	}
}

// TestHandWrittenAgreesWithPipeline makes sure the benchmark compares equal
// work: the baseline and the organ chain summarise a file identically.
func TestHandWrittenAgreesWithPipeline(t *testing.T) {
	paths := []string{"testdata/malformed.csv", "testdata/missing_header.csv", "testdata/odd_header.csv", "testdata/empty.csv", "testdata/bom_crlf.csv", writeSales(t, 5000)}
	for _, path := range paths {
		want, err := summarizeByHand(path)
		if err != nil {
			t.Fatal(err)
		}
		l := &Ledger{Out: io.Discard}
		runChain(t, &Extractor{}, l, EtlStart{Source: path, BatchSize: 100})
		got, err := l.Result()
		if err != nil {
			t.Fatal(err)
		}
		got.Batches, want.Batches = 0, 0
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: pipeline\n%+v\nhand-written\n%+v", path, got, want)
		}
	}
}
