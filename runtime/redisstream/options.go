package redisstream

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Defaults of the options.
const (
	DefaultApp           = "necro"
	DefaultGroup         = "necro"
	DefaultBatchSize     = 100
	DefaultBlock         = 2 * time.Second
	DefaultClaimIdle     = 30 * time.Second
	DefaultMaxDeliveries = 5
	DefaultMaxEventSize  = 1 << 20 // 1 MiB
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 10 * time.Second
)

// Option configures a Backend; pass options to Dial or New.
type Option func(*config)

type config struct {
	app           string
	group         string
	consumer      string
	deadKey       string
	batchSize     int
	block         time.Duration
	claimIdle     time.Duration
	maxDeliveries int
	maxEventSize  int
	retryMin      time.Duration
	retryMax      time.Duration
	trimEvery     time.Duration
	logger        *slog.Logger
}

func newConfig(opts []Option) (config, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = "host"
	}
	c := config{
		app:           DefaultApp,
		group:         DefaultGroup,
		consumer:      fmt.Sprintf("%s-%d", host, os.Getpid()),
		batchSize:     DefaultBatchSize,
		block:         DefaultBlock,
		claimIdle:     DefaultClaimIdle,
		maxDeliveries: DefaultMaxDeliveries,
		maxEventSize:  DefaultMaxEventSize,
		retryMin:      DefaultRetryMin,
		retryMax:      DefaultRetryMax,
		logger:        slog.Default(),
	}
	for _, o := range opts {
		o(&c)
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.app == "" || strings.ContainsAny(c.app, "{}") {
		bad("app %q: use a non-empty name without braces", c.app)
	}
	if c.group == "" {
		bad("group is empty: name the consumer group")
	}
	if c.consumer == "" {
		bad("consumer is empty: name this process's consumer, or leave the option out")
	}
	if c.deadKey == "" {
		c.deadKey = "{" + c.app + "}:dead"
	} else if hashTag(c.deadKey) != c.app {
		bad("dead-letter key %q must carry the hash tag {%s}, so that it shares a Redis Cluster slot with the stream", c.deadKey, c.app)
	}
	if c.batchSize < 1 {
		bad("batch size %d: use at least 1", c.batchSize)
	}
	if c.block < time.Millisecond {
		bad("block %v: use at least 1ms (0 would block forever)", c.block)
	}
	if c.claimIdle < 10*time.Millisecond {
		bad("claim idle %v: use at least 10ms", c.claimIdle)
	}
	if c.maxDeliveries < 1 {
		bad("max deliveries %d: use at least 1", c.maxDeliveries)
	}
	if c.maxEventSize < 64 {
		bad("max event size %d bytes: use at least 64", c.maxEventSize)
	}
	if c.retryMin <= 0 || c.retryMax < c.retryMin {
		bad("retry backoff %v..%v: use 0 < min <= max", c.retryMin, c.retryMax)
	}
	if c.trimEvery < 0 {
		bad("trim interval %v is negative", c.trimEvery)
	}
	if c.logger == nil {
		bad("logger is nil: pass a *slog.Logger, or leave the option out")
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("%w: %s", ErrConfig, strings.Join(problems, "; "))
	}
	return c, nil
}

// hashTag returns the hash tag of a Redis key: what its first {…} holds.
func hashTag(key string) string {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return ""
	}
	tag, _, ok := strings.Cut(rest, "}")
	if !ok {
		return ""
	}
	return tag
}

// WithApp names the application. Its keys are "{app}:events" (the stream)
// and "{app}:dead" (the dead letters): the hash tag keeps them in one Redis
// Cluster slot, as the scripts that touch both need. Default "necro".
func WithApp(name string) Option { return func(c *config) { c.app = name } }

// WithGroup names the consumer group every process of the app joins.
// Default "necro".
func WithGroup(name string) Option { return func(c *config) { c.group = name } }

// WithConsumer names this process in the group. The default, hostname-pid,
// is unique per process; a name that is stable across restarts (a pod name of
// a StatefulSet, say) lets a restarted process take back its own pending
// entries at once instead of waiting for the claim idle timeout. Two live
// processes must never share a name.
func WithConsumer(name string) Option { return func(c *config) { c.consumer = name } }

// WithDeadLetterKey sets the key of the dead-letter stream. It must carry the
// app's hash tag. Default "{app}:dead".
func WithDeadLetterKey(key string) Option { return func(c *config) { c.deadKey = key } }

// WithBatchSize sets how many entries one XREADGROUP or claim fetches, and
// how many acknowledgements are written in one round trip. Default 100.
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithBlock sets the longest one XREADGROUP blocks; a Pull with a longer
// timeout blocks several times, checking for Close and due retries in
// between. Default 2s.
func WithBlock(d time.Duration) Option { return func(c *config) { c.block = d } }

// WithClaimIdle sets how long an entry must sit unacknowledged before another
// consumer reclaims it (XAUTOCLAIM): the time to notice a dead consumer.
// Entries being handled are kept fresh, so a slow handler is never reclaimed
// from under itself. Default 30s.
func WithClaimIdle(d time.Duration) Option { return func(c *config) { c.claimIdle = d } }

// WithMaxDeliveries sets how many times an entry is handed to a handler
// before it goes to the dead-letter stream. Default 5.
func WithMaxDeliveries(n int) Option { return func(c *config) { c.maxDeliveries = n } }

// WithMaxEventSize sets the largest encoded event, in bytes, that Enqueue and
// Ack write and that Pull hands out; a larger entry found in the stream is
// dead-lettered. Default 1 MiB.
func WithMaxEventSize(n int) Option { return func(c *config) { c.maxEventSize = n } }

// WithRetryBackoff sets the backoff before a failed event is handed out
// again: min after the first failure, doubling up to max, with jitter. Other
// events flow meanwhile. Default 100ms to 10s.
func WithRetryBackoff(min, max time.Duration) Option {
	return func(c *config) { c.retryMin, c.retryMax = min, max }
}

// WithTrimEvery trims the stream at most this often, while pulling: entries
// every group has acknowledged are removed (XTRIM MINID below the oldest
// pending or undelivered entry), never anything still to be handled. Dead
// letters are never trimmed. Default 0: never; see also Backend.Trim.
func WithTrimEvery(d time.Duration) Option { return func(c *config) { c.trimEvery = d } }

// WithLogger sets where the backend logs reclaims, dead letters, retries and
// reconnects. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
