package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/otelnecro"
	"github.com/necrostack/necrostack/runtime/otelnecro/otelprom"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes of the demo.
const (
	exitOK    = 0
	exitRun   = 1 // the input cannot be read, or the run failed
	exitUsage = 2 // a bad command line, or a backend that cannot be used
)

// run is the whole demo, minus process concerns, so that tests can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, stdout, stderr)
}

// runWith is run with extra options for the Spine, applied after the demo's
// own: the tests use it to run the demo with several workers.
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer, extra ...runtime.Option) int {
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	level := slog.LevelWarn
	if opts.verbose {
		level = slog.LevelDebug
	}
	logger := runtime.NewJSONLogger(stderr, level)
	backend, err := openBackend(ctx, opts.backend, opts.redisURL, logger)
	if err != nil {
		fmt.Fprintf(stderr, "etl: %v\n", err)
		return exitUsage
	}
	defer backend.Close()

	ledger := &Ledger{Out: stdout, JSON: opts.json}
	spineOpts := append([]runtime.Option{runtime.WithLogger(logger)}, extra...)
	if opts.metricsAddr != "" {
		metrics, err := otelprom.Serve(opts.metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "etl: -metrics-addr: %v\n", err)
			return exitUsage
		}
		defer metrics.Close(context.Background())
		defer holdMetrics(ctx, stderr, metrics.URL())
		spineOpts = append(spineOpts, otelnecro.Options(otelnecro.WithMeterProvider(metrics.MeterProvider()))...)
	}
	spine := NewSpine(backend, &Extractor{}, ledger, spineOpts...)
	start := NewEtlStartEvent(EtlStart{Source: opts.source(), BatchSize: opts.batchSize})
	if err := spine.RunUntilIdle(ctx, start); err != nil {
		fmt.Fprintf(stderr, "etl: the run stopped: %v\n", err)
		return exitRun
	}
	if _, err := ledger.Result(); err != nil {
		fmt.Fprintf(stderr, "etl: %v\n", err)
		if opts.csvPath != "" && errors.Is(err, errUnreadable) {
			fmt.Fprintf(stderr, "etl: check that -csv %s names a readable CSV file\n", opts.csvPath)
		}
		return exitRun
	}
	return exitOK
}

// holdMetrics keeps the metrics served after the run, until ctx ends (Ctrl-C).
func holdMetrics(ctx context.Context, stderr io.Writer, url string) {
	fmt.Fprintf(stderr, "etl: serving metrics at %s until interrupted\n", url)
	<-ctx.Done()
}

// openBackend returns the backend the flags name. On Redis the pipeline uses
// the stream {etl}:events and the consumer group "necro"; the Extractor opens
// the CSV by path, so every consumer must see the same file.
func openBackend(ctx context.Context, name, redisURL string, logger *slog.Logger) (runtime.Backend, error) {
	switch name {
	case "memory":
		return memory.New(), nil
	case "redis":
		return redisstream.Dial(ctx, redisURL, redisstream.WithBus("etl"), redisstream.WithLogger(logger))
	}
	return nil, fmt.Errorf("unknown -backend %q: use memory or redis", name)
}
