package redisstream

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Defaults of the options.
const (
	DefaultBus            = "necro"
	DefaultBatchSize      = 100
	DefaultBlock          = 2 * time.Second
	DefaultClaimIdle      = 30 * time.Second
	DefaultMaxDeliveries  = 5
	DefaultMaxEventSize   = 1 << 20 // 1 MiB
	DefaultRetryMin       = 100 * time.Millisecond
	DefaultRetryMax       = 10 * time.Second
	DefaultTrimEvery      = time.Minute
	DefaultRetainLen      = 10_000
	DefaultRetainAge      = 24 * time.Hour
	DefaultConsumerExpiry = time.Hour
)

// Option configures a Backend; pass options to Dial or New.
type Option func(*config)

type config struct {
	bus            string
	consumer       string
	batchSize      int
	block          time.Duration
	claimIdle      time.Duration
	maxDeliveries  int
	maxEventSize   int
	retryMin       time.Duration
	retryMax       time.Duration
	trimEvery      time.Duration
	retainLen      int
	retainAge      time.Duration
	consumerExpiry time.Duration
	logger         *slog.Logger
}

func newConfig(opts []Option) (config, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = "host"
	}
	c := config{
		bus:            DefaultBus,
		consumer:       fmt.Sprintf("%s-%d", host, os.Getpid()),
		batchSize:      DefaultBatchSize,
		block:          DefaultBlock,
		claimIdle:      DefaultClaimIdle,
		maxDeliveries:  DefaultMaxDeliveries,
		maxEventSize:   DefaultMaxEventSize,
		retryMin:       DefaultRetryMin,
		retryMax:       DefaultRetryMax,
		trimEvery:      DefaultTrimEvery,
		retainLen:      DefaultRetainLen,
		retainAge:      DefaultRetainAge,
		consumerExpiry: DefaultConsumerExpiry,
		logger:         slog.Default(),
	}
	for _, o := range opts {
		o(&c)
	}
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if c.bus == "" || strings.ContainsAny(c.bus, "{}") {
		bad("bus %q: use a non-empty name without braces", c.bus)
	}
	if c.consumer == "" || c.consumer == releasedConsumer {
		bad("consumer %q: name this process's consumer, or leave the option out", c.consumer)
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
	if c.retainLen < 0 || c.retainAge < 0 {
		bad("retention %d events, %v: use 0 or more", c.retainLen, c.retainAge)
	}
	if c.consumerExpiry < c.claimIdle {
		bad("consumer expiry %v is shorter than the claim idle %v", c.consumerExpiry, c.claimIdle)
	}
	if c.logger == nil {
		bad("logger is nil: pass a *slog.Logger, or leave the option out")
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("%w: %w", ErrConfig, errors.Join(problems...))
	}
	return c, nil
}

// WithBus names the bus: the namespace the services share. Every key of a
// bus carries its name as hash tag ("{shop}:t:ORDER_PLACED"), so all of
// them share one Redis Cluster slot, as the scripts that touch several need.
// Default "necro".
func WithBus(name string) Option { return func(c *config) { c.bus = name } }

// WithConsumer names this process in the groups of the services it runs.
// The default, hostname-pid, is unique per process; a name that is stable
// across restarts (a pod name of a StatefulSet, say) lets a restarted
// process take back its own pending entries at once instead of waiting for
// the claim idle timeout. Two live processes must never share a name.
func WithConsumer(name string) Option { return func(c *config) { c.consumer = name } }

// WithBatchSize sets how many entries one XREADGROUP or claim fetches, and
// how many settles are written in one script call. Default 100.
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithBlock sets the longest one XREADGROUP blocks; a Pull with a longer
// timeout blocks several times, checking for due retries in between. Stop
// and Close end a blocked read at once. Default 2s.
func WithBlock(d time.Duration) Option { return func(c *config) { c.block = d } }

// WithClaimIdle sets how long an entry must sit unattended before another
// consumer reclaims it (XAUTOCLAIM): the time to notice a dead consumer.
// Every entry a consumer holds — being handled, fetched, or waiting for a
// retry — is kept fresh, so a live consumer's entries are not reclaimed.
// Default 30s.
func WithClaimIdle(d time.Duration) Option { return func(c *config) { c.claimIdle = d } }

// WithMaxDeliveries sets how many times an entry is handed to a service
// before it goes to the service's dead letters. Default 5.
func WithMaxDeliveries(n int) Option { return func(c *config) { c.maxDeliveries = n } }

// WithMaxEventSize sets the largest encoded event, in bytes, that Enqueue and
// Ack write and that Pull hands out; a larger entry found in a topic is
// dead-lettered. Default 1 MiB.
func WithMaxEventSize(n int) Option { return func(c *config) { c.maxEventSize = n } }

// WithRetryBackoff sets the backoff before a failed event is handed out
// again: min after the first failure, doubling up to max, with jitter. Other
// events flow meanwhile. Default 100ms to 10s.
func WithRetryBackoff(min, max time.Duration) Option {
	return func(c *config) { c.retryMin, c.retryMax = min, max }
}

// WithTrimEvery sets how often the bus's topics are trimmed (one process of
// the bus does it per interval): a topic with consumer groups loses the
// entries every group is done with (XTRIM MINID below the oldest pending or
// undelivered entry), never one still to be handled; a topic with none
// keeps its retention (WithRetention). Dead letters are never trimmed.
// 0 turns periodic trimming off (Backend.Trim still works). Default 1m.
func WithTrimEvery(d time.Duration) Option { return func(c *config) { c.trimEvery = d } }

// WithRetention bounds what a topic that no service subscribes to keeps, for
// a service that subscribes later with runtime.StartOldest: at most n
// entries, none older than age (0: no limit of that kind). Defaults:
// DefaultRetainLen, DefaultRetainAge.
func WithRetention(n int, age time.Duration) Option {
	return func(c *config) { c.retainLen, c.retainAge = n, age }
}

// WithConsumerExpiry sets how long a consumer of a group may stay silent,
// holding no pending entry, before another removes it from the group, so
// that the consumers of crashed processes do not pile up. Default 1h.
func WithConsumerExpiry(d time.Duration) Option { return func(c *config) { c.consumerExpiry = d } }

// WithLogger sets where the backend logs reclaims, dead letters, retries,
// reconnects, and go-redis's own messages. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
