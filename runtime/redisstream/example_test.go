package redisstream_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// Dial a Redis server, then hand the bus to a generated Spine (here a Runner
// with a dispatch function stands in for it, as service "payments"). The
// example is compiled, not run: it needs a Redis server; the package's tests
// start their own.
func ExampleDial() {
	ctx := context.Background()
	bus, err := redisstream.Dial(ctx, "redis://localhost:6379/0",
		redisstream.WithBus("shop"),
		redisstream.WithClaimIdle(time.Minute),
		redisstream.WithMaxDeliveries(5))
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	payments := runtime.NewRunner(bus, runtime.DispatchFunc(
		func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			fmt.Println("charging for", in.Type)
			return out, nil
		}),
		runtime.WithService("payments"),
		runtime.WithTopics("ORDER_PLACED"))
	start := runtime.MustNewEvent("ORDER_PLACED", map[string]int{"order": 7})
	if err := payments.RunUntilIdle(ctx, start); err != nil {
		log.Fatal(err)
	}
}
