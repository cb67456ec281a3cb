package redisstream_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
	"github.com/necrostack/necrostack/runtime/runtimetest"
)

// dial returns a backend on srv with an app of its own, closed when t ends.
func dial(t testing.TB, srv *redistest.Server, opts ...redisstream.Option) *redisstream.Backend {
	t.Helper()
	opts = append([]redisstream.Option{redisstream.WithApp(redistest.App(t)), redisstream.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	b, err := redisstream.Dial(context.Background(), srv.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	runtimetest.Run(t, func(t *testing.T) runtime.Backend { return dial(t, srv) })
}
