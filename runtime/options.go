package runtime

import (
	"log/slog"
	"os"
	"time"
)

// Option configures a Runner (and so a generated Spine).
type Option func(*config)

type config struct {
	maxSteps    int64
	logger      *slog.Logger
	workers     int
	pullTimeout time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		workers:     1,
		pullTimeout: time.Second,
		backoffMin:  10 * time.Millisecond,
		backoffMax:  5 * time.Second,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = NewJSONLogger(os.Stderr, slog.LevelInfo)
	}
	return c
}

// WithMaxSteps stops a run with an error matching ErrMaxSteps when it would
// dispatch more than n events; it guards against organs that emit in a cycle.
// The count starts again at each Run or RunUntilIdle. 0 (the default) means no
// limit.
func WithMaxSteps(n int) Option {
	return func(c *config) { c.maxSteps = int64(max(n, 0)) }
}

// WithLogger sets the structured logger. Per-event lines are at slog.LevelDebug
// and cost nothing when that level is off; handler failures are at
// slog.LevelError. The default is NewJSONLogger(os.Stderr, slog.LevelInfo).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithWorkers sets how many events are handled at once. The default, 1, keeps
// strict FIFO order; with more, events are pulled in order but may finish out
// of order. Values below 1 mean 1.
func WithWorkers(n int) Option {
	return func(c *config) { c.workers = max(n, 1) }
}

// WithPullTimeout sets how long one Pull waits for an event before the loop
// checks for stop and pulls again (default 1s). Cancelling the context or
// calling Stop interrupts a waiting Pull at once either way.
func WithPullTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.pullTimeout = d
		}
	}
}

// WithBackoff sets the capped exponential backoff between retries of a failed
// backend call (defaults: 10ms doubling up to 5s, with jitter).
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) {
		if min > 0 {
			c.backoffMin = min
		}
		if max >= c.backoffMin {
			c.backoffMax = max
		}
	}
}
