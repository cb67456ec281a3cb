package redisstream_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
	"github.com/necrostack/necrostack/runtime/runtimetest"
)

// dial returns a backend on srv with a bus of its own, closed when t ends.
func dial(t testing.TB, srv *redistest.Server, opts ...redisstream.Option) *redisstream.Backend {
	t.Helper()
	// Trimming off unless a test turns it on: tests read whole topics.
	opts = append([]redisstream.Option{redisstream.WithBus(redistest.App(t)), redisstream.WithLogger(slog.New(slog.DiscardHandler)), redisstream.WithTrimEvery(0)}, opts...)
	b, err := redisstream.Dial(context.Background(), srv.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

const (
	conformanceRetain        = 20
	conformanceMaxDeliveries = 3
)

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	runtimetest.Run(t, runtimetest.Features{
		New: func(t *testing.T) runtime.Backend {
			return dial(t, srv, redisstream.WithRetention(conformanceRetain, time.Hour),
				redisstream.WithMaxDeliveries(conformanceMaxDeliveries),
				redisstream.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
		},
		Redelivers:    true,
		MaxDeliveries: conformanceMaxDeliveries,
		RetainLen:     conformanceRetain,
		Trim: func(t *testing.T, b runtime.Backend) {
			if _, err := b.(*redisstream.Backend).Trim(context.Background()); err != nil {
				t.Fatal(err)
			}
		},
		LoseGroup: func(t *testing.T, b runtime.Backend, service string) {
			rb := b.(*redisstream.Backend)
			topics, err := client.SMembers(context.Background(), rb.TopicsKey()).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, topic := range topics {
				client.XGroupDestroy(context.Background(), rb.TopicKey(topic), service)
			}
		},
		DeadLetters: func(t *testing.T, b runtime.Backend, service string) []runtimetest.DeadLetter {
			dead, err := b.(*redisstream.Backend).DeadLetters(context.Background(), service, "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			var out []runtimetest.DeadLetter
			for _, d := range dead {
				ev, err := runtime.DecodeEvent([]byte(d.Fields["event"]))
				if err != nil {
					t.Fatalf("dead letter %s: %v", d.ID, err)
				}
				out = append(out, runtimetest.DeadLetter{EventID: ev.ID.String(), Reason: d.Reason})
			}
			return out
		},
	})
}
