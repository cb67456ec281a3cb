package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// options are the command line of the demo.
type options struct {
	csvPath     string // "" for the embedded sample
	json        bool
	backend     string
	redisURL    string
	batchSize   int
	verbose     bool
	metricsAddr string // "" serves no metrics
}

// errHelp is returned by parseArgs for -h and -help: usage was printed, exit 0.
var errHelp = flag.ErrHelp

// parseArgs parses the command line. Errors have been printed to stderr with
// the usage when it helps; the demo then exits 2 (or 0 for errHelp).
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("etl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.csvPath, "csv", "", "CSV `file` of sales with the header region,product,units,unit_price (default: the embedded sample)")
	fs.BoolVar(&o.json, "json", false, "print the summary as JSON instead of tables")
	fs.StringVar(&o.backend, "backend", "memory", "event `backend`: memory or redis")
	fs.StringVar(&o.redisURL, "redis-url", "redis://localhost:6379/0", "Redis `URL` for -backend redis")
	fs.IntVar(&o.batchSize, "batch-size", DefaultBatchSize, fmt.Sprintf("CSV `rows` per RAW_DATA_LOADED event, 1 to %d", MaxBatchSize))
	fs.BoolVar(&o.verbose, "v", false, "log every event handled (JSON on standard error)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics (such as :9090), and keep serving after the run until interrupted")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: etl [flags]\n\nReads a CSV of sales in batches through a NecroStack Spine and prints\nthe totals per region and per product, and the rows it rejected.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var problem error
	switch {
	case fs.NArg() > 0:
		problem = fmt.Errorf("unexpected arguments %q: name the input with -csv FILE", fs.Args())
	case o.batchSize < 1 || o.batchSize > MaxBatchSize:
		problem = fmt.Errorf("-batch-size %d is out of range: use 1 to %d", o.batchSize, MaxBatchSize)
	case o.backend != "memory" && o.backend != "redis":
		problem = fmt.Errorf("unknown -backend %q: use memory or redis", o.backend)
	case o.csvPath == "" && isFlagSet(fs, "csv"):
		problem = errors.New("-csv needs a file name; leave it out to read the embedded sample")
	}
	if problem != nil {
		fmt.Fprintf(stderr, "etl: %v\n", problem)
		return o, problem
	}
	return o, nil
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// source is the EtlStart.Source the options name.
func (o options) source() string {
	if o.csvPath == "" {
		return SampleSource
	}
	return o.csvPath
}
