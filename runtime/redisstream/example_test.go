package redisstream_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// Dial a Redis server, then hand the backend to a generated Spine (here a
// Runner with a dispatch function stands in for it). The example is compiled,
// not run: it needs a Redis server; the package's tests start their own.
func ExampleDial() {
	ctx := context.Background()
	backend, err := redisstream.Dial(ctx, "redis://localhost:6379/0",
		redisstream.WithApp("shop"),
		redisstream.WithClaimIdle(time.Minute),
		redisstream.WithMaxDeliveries(5))
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close()

	runner := runtime.NewRunner(backend, runtime.DispatchFunc(
		func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			fmt.Println("handled", in.Type)
			return out, nil
		}))
	start := runtime.MustNewEvent("ORDER_PLACED", map[string]int{"order": 7})
	if err := runner.RunUntilIdle(ctx, start); err != nil {
		log.Fatal(err)
	}
}
