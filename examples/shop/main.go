// Shop is NecroStack's multi-service demo: four services — orders,
// payments, shipping and notifications — share the events of package
// events over one bus. By default they all run in this process on the
// memory bus; with -backend redis they share a Redis bus, and each can run as
// a process of its own (-service), in as many replicas as you like.
//
//	go run ./examples/shop                       # every service, in memory
//	go run ./examples/shop -orders 20 -seed 3
//	go run ./examples/shop -backend redis        # every service, one process, on Redis
//	go run ./examples/shop -backend redis -service payments   # one service, until ^C
//	go run ./examples/shop -backend redis -place              # place the orders, then exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/necrostack/necrostack/examples/shop/events"
	"github.com/necrostack/necrostack/examples/shop/notifications"
	"github.com/necrostack/necrostack/examples/shop/orders"
	"github.com/necrostack/necrostack/examples/shop/payments"
	"github.com/necrostack/necrostack/examples/shop/shipping"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/otelnecro"
	"github.com/necrostack/necrostack/runtime/otelnecro/otelprom"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

var (
	customers = []string{"Ada", "Boris", "Clara", "Mallory", "Dmitri", "Esme"}
	catalogue = []events.Item{{SKU: "candle", PriceCents: 450}, {SKU: "ouija board", PriceCents: 2999}, {SKU: "tarot deck", PriceCents: 1850}, {SKU: "crystal ball", PriceCents: 26000}}
)

// services are the shop's services, by name: each a Spine on the bus.
var serviceNames = []string{"notifications", "orders", "payments", "shipping"}

type service interface {
	Subscribe(ctx context.Context) error
	Run(ctx context.Context) error
	Stop()
}

// run is the whole demo, minus process concerns, so that tests can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("orders", 6, "number of orders to place")
	seed := fs.Uint64("seed", 21, "random seed: the same seed places the same orders")
	backendName := fs.String("backend", "memory", "event bus: memory or redis")
	redisURL := fs.String("redis-url", "redis://localhost:6379/0", "Redis URL for -backend redis")
	only := fs.String("service", "", "run only this service until interrupted: notifications, orders, payments or shipping (-backend redis)")
	place := fs.Bool("place", false, "place the orders on the bus and exit (-backend redis)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for every order's story")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics (such as :9090); with every service in this process, keep serving after the run until interrupted")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "shop: unexpected arguments %q\n", fs.Args())
		return 2
	case *n < 1:
		fmt.Fprintln(stderr, "shop: -orders must be at least 1")
		return 2
	case *only != "" && !slices.Contains(serviceNames, *only):
		fmt.Fprintf(stderr, "shop: unknown -service %q: use one of %v\n", *only, serviceNames)
		return 2
	case (*only != "" || *place) && *backendName != "redis":
		fmt.Fprintln(stderr, "shop: -service and -place share a bus between processes: use them with -backend redis")
		return 2
	}

	logger := runtime.NewJSONLogger(stderr, slog.LevelWarn)
	bus, err := openBus(ctx, *backendName, *redisURL, logger)
	if err != nil {
		fmt.Fprintf(stderr, "shop: %v\n", err)
		return 2
	}
	defer bus.Close()

	if *place {
		if err := bus.Enqueue(ctx, placeOrders(*n, *seed)...); err != nil {
			fmt.Fprintf(stderr, "shop: place the orders: %v\n", err)
			return 1
		}
		return 0
	}

	var mu sync.Mutex
	finals := 0
	allFinal := make(chan struct{})
	notifier := &notifications.Notifier{Final: func(int) {
		mu.Lock()
		defer mu.Unlock()
		if finals++; finals == *n {
			close(allFinal)
		}
	}}
	opts := []runtime.Option{runtime.WithLogger(logger), runtime.WithStartAt(runtime.StartOldest)}
	if *metricsAddr != "" {
		metrics, err := otelprom.Serve(*metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "shop: -metrics-addr: %v\n", err)
			return 2
		}
		defer metrics.Close(context.Background())
		if *only == "" {
			defer holdMetrics(ctx, stderr, metrics.URL())
		} else {
			fmt.Fprintf(stderr, "shop: serving metrics at %s\n", metrics.URL())
		}
		opts = append(opts, otelnecro.Options(otelnecro.WithMeterProvider(metrics.MeterProvider()))...)
	}
	services := map[string]service{
		"notifications": notifications.NewSpine(bus, notifier, opts...),
		"orders":        orders.NewSpine(bus, opts...),
		"payments":      payments.NewSpine(bus, &payments.Gateway{LimitCents: 100_000, Blocked: map[string]bool{"Mallory": true}}, opts...),
		"shipping":      shipping.NewSpine(bus, &shipping.Warehouse{Carriers: []string{"Raven Post", "Hearse & Sons", "Will-o'-Wisp Express"}}, opts...),
	}
	if *only != "" {
		s := services[*only]
		if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "shop: %s: %v\n", *only, err)
			return 1
		}
		if *only == "notifications" {
			notifier.WriteStories(stdout)
		}
		return 0
	}

	// Every service subscribes before the first order is placed: a service
	// new to the bus starts with what is published after it subscribed.
	for _, name := range serviceNames {
		if err := services[name].Subscribe(ctx); err != nil {
			fmt.Fprintf(stderr, "shop: %s: %v\n", name, err)
			return 1
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(services))
	for _, name := range serviceNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := services[name].Run(ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	stopAll := func() {
		for _, s := range services {
			s.Stop()
		}
		wg.Wait()
	}
	fmt.Fprintf(stdout, "🕯  The shop opens: %d orders (seed %d).\n", *n, *seed)
	if err := bus.Enqueue(ctx, placeOrders(*n, *seed)...); err != nil {
		stopAll()
		fmt.Fprintf(stderr, "shop: place the orders: %v\n", err)
		return 1
	}
	select {
	case <-allFinal:
	case err := <-errs:
		stopAll()
		fmt.Fprintf(stderr, "shop: %v\n", err)
		return 1
	case <-time.After(*timeout):
		stopAll()
		fmt.Fprintf(stderr, "shop: not every order's story ended within %v\n", *timeout)
		return 1
	case <-ctx.Done():
		stopAll()
		return 1
	}
	stopAll()
	notifier.WriteStories(stdout)
	fmt.Fprintln(stdout, "🕯  The shop closes.")
	return 0
}

// holdMetrics keeps the metrics served after the run, until ctx ends (Ctrl-C).
func holdMetrics(ctx context.Context, stderr io.Writer, url string) {
	fmt.Fprintf(stderr, "shop: serving metrics at %s until interrupted\n", url)
	<-ctx.Done()
}

// placeOrders returns the orders a seed places.
func placeOrders(n int, seed uint64) []runtime.Event {
	pick := rand.New(rand.NewPCG(seed, 2))
	evs := make([]runtime.Event, n)
	for i := range evs {
		o := events.OrderPlaced{Order: i + 1, Customer: customers[pick.IntN(len(customers))]}
		for range 1 + pick.IntN(3) {
			item := catalogue[pick.IntN(len(catalogue))]
			item.Qty = 1 + pick.IntN(4)
			o.Items = append(o.Items, item)
			o.TotalCents += item.Qty * item.PriceCents
		}
		evs[i] = events.NewOrderPlacedEvent(o)
	}
	return evs
}

// openBus returns the bus the flags name. On Redis the services share the
// bus "shop".
func openBus(ctx context.Context, name, redisURL string, logger *slog.Logger) (runtime.Backend, error) {
	switch name {
	case "memory":
		return memory.New(), nil
	case "redis":
		return redisstream.Dial(ctx, redisURL, redisstream.WithBus("shop"), redisstream.WithLogger(logger))
	}
	return nil, fmt.Errorf("unknown -backend %q: use memory or redis", name)
}
