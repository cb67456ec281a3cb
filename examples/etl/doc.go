// ETL is NecroStack's data-pipeline demo: it reads a CSV of sales in batches
// and passes each batch down a chain of events — ETL_START → RAW_DATA_LOADED →
// DATA_CLEANED → DATA_TRANSFORMED — through a Spine that necrogen generates
// from the //necro:listens directives in organs.go, then prints what the sales
// add up to per region and per product, and which rows it rejected and why.
//
// It shows what the framework is for beyond a toy chain: typed organs that
// are plain functions; organs with state (Extractor, Ledger) wired in as
// NewSpine parameters; an organ that emits nothing (*T nil) to end a stream;
// and a file of any size read with flat memory, because each loaded batch
// pulls in the next one rather than the whole file entering the queue at
// once (see organs.go).
//
//	go run ./examples/etl                         # the embedded sample
//	go run ./examples/etl -csv sales.csv          # a file of yours: region,product,units,unit_price
//	go run ./examples/etl -csv sales.csv -json    # the summary as JSON
//	go run ./examples/etl -backend redis -redis-url redis://localhost:6379/0
//
// Exit status: 0 when the summary was printed (rejected rows are reported,
// not fatal); 1 when the input cannot be read or the run fails; 2 for a usage
// error or a backend that cannot be used.
package main

//go:generate go tool necrogen
