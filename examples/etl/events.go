package main

// The payloads of the pipeline. Each is a plain struct; its event type is its
// name in SCREAMING_SNAKE_CASE (EtlStart is ETL_START). Every field has a
// JSON name, so the same events can travel through Redis between processes.

// EtlStart starts a run: read Source in batches of BatchSize rows. It is
// the entry point of the pipeline.
//
//necro:entry
type EtlStart struct {
	// Source is what the Extractor opens: a file path, or the embedded
	// sample's name (SampleSource).
	Source string `json:"source"`
	// BatchSize is the number of CSV rows per RAW_DATA_LOADED event, from 1
	// to MaxBatchSize; 0 means DefaultBatchSize.
	BatchSize int `json:"batch_size"`
}

// BatchInfo says where a batch sits in its run. Every stage copies it from
// its input to its output, so that ExportSummary knows when it has seen the
// whole input.
type BatchInfo struct {
	Source string `json:"source"`
	Seq    int    `json:"seq"`  // 0 for the first batch of a run, then 1, 2, ...
	Last   bool   `json:"last"` // no batch follows this one
	// Header is the verdict on the input's first line; only the first batch
	// (Seq 0) carries it.
	Header *HeaderCheck `json:"header,omitempty"`
	// Failure says why the input could not be read to the end (a missing
	// file, an I/O error). The batch that carries it is the last one, and the
	// run fails.
	Failure string `json:"failure,omitempty"`
}

// RawRecord is one CSV record as read: valid CSV and valid UTF-8, not yet
// checked any further.
type RawRecord struct {
	Line   int      `json:"line"` // the line of the input it starts on, from 1
	Fields []string `json:"fields"`
}

// RawDataLoaded is one batch of records read from the input.
type RawDataLoaded struct {
	Batch    BatchInfo   `json:"batch"`
	Columns  Columns     `json:"columns"` // the column order the header gave
	Records  []RawRecord `json:"records"`
	Rejected Rejections  `json:"rejected"` // records that were not CSV or not text
	// Next is where the following batch starts; nil for the last batch.
	Next *Cursor `json:"next,omitempty"`
}

// DataCleaned is one batch of sales that passed every check of a row.
type DataCleaned struct {
	Batch    BatchInfo  `json:"batch"`
	Sales    []Sale     `json:"sales"`
	Rejected Rejections `json:"rejected"` // every row of the batch rejected so far
}

// DataTransformed is one batch reduced to totals per region and per product.
type DataTransformed struct {
	Batch     BatchInfo         `json:"batch"`
	ByRegion  map[string]Totals `json:"by_region"`
	ByProduct map[string]Totals `json:"by_product"`
	Rejected  Rejections        `json:"rejected"`
}
