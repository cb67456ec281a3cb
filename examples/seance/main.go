package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"time"

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

var (
	mediums   = []string{"Madame Zora", "Old Tobias", "Sister Agnes", "The Twins"}
	spirits   = []string{"Edgar", "Lenore", "the Drowned Sailor", "Great-Aunt Mildred", "a nameless child"}
	questions = []string{"Will the harvest be good?", "Where is the silver hidden?", "Did you forgive us?", "Who will marry first?", "Why do the dogs howl at noon?"}
)

// run is the whole demo, minus process concerns, so that tests can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 0, "random seed; the same seed tells the same story (default: a new one each run)")
	rituals := fs.Int("rituals", 1, "number of séances to hold")
	backendName := fs.String("backend", "memory", "event backend: memory or redis")
	redisURL := fs.String("redis-url", "redis://localhost:6379/0", "Redis URL for -backend redis")
	verbose := fs.Bool("v", false, "log every event handled (JSON on standard error)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics (such as :9090), and keep serving after the séance until interrupted")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "seance: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *rituals < 1 {
		fmt.Fprintln(stderr, "seance: -rituals must be at least 1")
		return 2
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := runtime.NewJSONLogger(stderr, level)
	backend, err := openBackend(ctx, *backendName, *redisURL, logger)
	if err != nil {
		fmt.Fprintf(stderr, "seance: %v\n", err)
		return 2
	}
	defer backend.Close()

	opts := []runtime.Option{runtime.WithLogger(logger), runtime.WithMaxSteps(4 * *rituals)}
	if *metricsAddr != "" {
		metrics, err := otelprom.Serve(*metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "seance: -metrics-addr: %v\n", err)
			return 2
		}
		defer metrics.Close(context.Background())
		defer holdMetrics(ctx, stderr, metrics.URL())
		opts = append(opts, otelnecro.Options(otelnecro.WithMeterProvider(metrics.MeterProvider()))...)
	}
	spine := NewSpine(backend, NewOracle(*seed), &Manifestation{Out: stdout}, opts...)

	pick := rand.New(rand.NewPCG(*seed, 1))
	fmt.Fprintf(stdout, "🕯  The séance begins (seed %d).\n", *seed)
	start := make([]runtime.Event, *rituals)
	for i := range start {
		start[i] = NewSummonRitualEvent(SummonRitual{
			Ritual:   i + 1,
			Medium:   mediums[pick.IntN(len(mediums))],
			Spirit:   spirits[pick.IntN(len(spirits))],
			Question: questions[pick.IntN(len(questions))],
		})
	}
	if err := spine.RunUntilIdle(ctx, start...); err != nil {
		fmt.Fprintf(stderr, "seance: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "🕯  The candles are out.")
	return 0
}

// holdMetrics keeps the metrics served after the séance, until ctx ends (Ctrl-C).
func holdMetrics(ctx context.Context, stderr io.Writer, url string) {
	fmt.Fprintf(stderr, "seance: serving metrics at %s until interrupted\n", url)
	<-ctx.Done()
}

// openBackend returns the backend the flags name. On Redis the séance uses
// the stream {seance}:events and the consumer group "necro".
func openBackend(ctx context.Context, name, redisURL string, logger *slog.Logger) (runtime.Backend, error) {
	switch name {
	case "memory":
		return memory.New(), nil
	case "redis":
		return redisstream.Dial(ctx, redisURL, redisstream.WithBus("seance"), redisstream.WithLogger(logger))
	}
	return nil, fmt.Errorf("unknown -backend %q: use memory or redis", name)
}
