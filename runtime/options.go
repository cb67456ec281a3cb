package runtime

import (
	"log/slog"
	"os"
	"time"
)

// Option configures a Runner (and so a generated Spine).
type Option func(*config)

type config struct {
	service   string
	topics    []string
	start     StartPosition
	pullBatch int
	maxSteps  int64
	// middleware around each event, and around each organ call
	middleware      []Middleware
	organMiddleware []OrganMiddleware
	handlerTimeout  time.Duration
	logger          *slog.Logger
	workers         int
	pullTimeout     time.Duration
	backoffMin      time.Duration
	backoffMax      time.Duration
}

func newConfig(opts []Option) config {
	c := config{
		workers:     1,
		pullBatch:   DefaultPullBatch,
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

// DefaultPullBatch is how many events a worker takes per Pull unless
// WithPullBatch says otherwise.
const DefaultPullBatch = 8

// WithService names the service the Runner consumes for. Replicas of one
// service (the same name, in one process or many) share its events; each
// service on a bus gets every event of the types it handles. A generated
// Spine passes its package's name; pass this option to override it.
func WithService(name string) Option {
	return func(c *config) { c.service = name }
}

// WithTopics sets the event types the Runner subscribes to: the types its
// Dispatcher handles. A generated Spine passes them (see its Routes); set it
// yourself for a hand-written Dispatcher.
func WithTopics(eventTypes ...string) Option {
	return func(c *config) { c.topics = append([]string(nil), eventTypes...) }
}

// WithStartAt says where a service that is new to the bus starts:
// StartNewest (the default) or StartOldest. A service the bus knows carries
// on where it was.
func WithStartAt(p StartPosition) Option {
	return func(c *config) { c.start = p }
}

// WithPullBatch sets how many events a worker takes from the backend per
// Pull (default DefaultPullBatch). The ones not started yet wait behind the
// one being handled and count as in flight; Stop hands them back. Use 1 when
// handlers are slow and workers many, so that no event waits behind another.
// Values below 1 mean 1.
func WithPullBatch(n int) Option {
	return func(c *config) { c.pullBatch = max(n, 1) }
}

// WithMaxSteps stops a run with an error matching ErrMaxSteps when it would
// dispatch more than n events; it guards against organs that emit in a cycle.
// The count starts again at each Run or RunUntilIdle. 0 (the default) means no
// limit: a cycle of organs then runs until stopped.
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
