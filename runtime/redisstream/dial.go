package redisstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/runtime"
)

var (
	// ErrConfig is matched by the error of Dial and New for an invalid option
	// or URL.
	ErrConfig = errors.New("redisstream: invalid configuration")

	// ErrEventTooLarge is matched by the error of Enqueue for an event whose
	// encoding is larger than WithMaxEventSize.
	ErrEventTooLarge = errors.New("event too large")

	// ErrClosed is runtime.ErrClosed: the backend was closed.
	ErrClosed = runtime.ErrClosed
)

// The reasons a dead letter gives, in its "reason" field: runtime's.
const (
	ReasonUndecodable      = runtime.ReasonUndecodable
	ReasonTooLarge         = runtime.ReasonTooLarge
	ReasonUnknownEventType = runtime.ReasonUnknownEventType
	ReasonBadPayload       = runtime.ReasonBadPayload
	ReasonMaxDeliveries    = runtime.ReasonMaxDeliveries
	ReasonUnencodable      = runtime.ReasonUnencodable
)

// entryField is the one field of a stream entry: the event's JSON envelope.
const entryField = "event"

// releasedConsumer holds the entries a consumer handed back as it left,
// idle for the claim idle time so that any consumer of the service takes
// them at once.
const releasedConsumer = "necro:released"

// Backend is a runtime.Backend on Redis Streams: a bus shared by many
// processes. See the package documentation for its layout and guarantees.
// It is safe for concurrent use.
type Backend struct {
	client    redis.UniversalClient
	ownClient bool
	cfg       config
	tag       string // "{bus}"

	registered sync.Map // topic → true once in the topics set

	mu        sync.Mutex
	consumers map[*Consumer]bool
	closed    bool

	stats stats
}

type stats struct {
	acked, discarded, dead, retried, reclaimed, recovered, recreated, expired atomic.Int64
}

var _ runtime.Backend = (*Backend)(nil)

// Dial connects to the Redis server at rawURL (redis://[user:password@]host:port/db,
// or rediss:// for TLS) and returns a Backend that owns the client: Close
// closes it. Errors never show the password.
func Dial(ctx context.Context, rawURL string, opts ...Option) (*Backend, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL, password included
		}
		return nil, fmt.Errorf("%w: Redis URL %s: %s; use redis://[user:password@]host:port/db or rediss://…",
			ErrConfig, redactURL(rawURL), scrub(err.Error(), rawURL))
	}
	client := redis.NewClient(o)
	b, err := newBackend(ctx, client, true, opts)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("redisstream: Redis at %s: %w", redactURL(rawURL), err)
	}
	return b, nil
}

// New returns a Backend on an existing client. Close leaves the client open:
// it belongs to the caller.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Backend, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: the client is nil", ErrConfig)
	}
	return newBackend(ctx, client, false, opts)
}

func newBackend(ctx context.Context, client redis.UniversalClient, own bool, opts []Option) (*Backend, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	routeRedisLogs(cfg.logger)
	b := &Backend{client: client, ownClient: own, cfg: cfg, tag: "{" + cfg.bus + "}", consumers: map[*Consumer]bool{}}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("ping: %w", err)
	}
	return b, nil
}

// Bus returns the name of the bus.
func (b *Backend) Bus() string { return b.cfg.bus }

// TopicKey returns the key of the stream of an event type: "{bus}:t:TYPE".
func (b *Backend) TopicKey(eventType string) string { return b.tag + ":t:" + eventType }

// TopicsKey returns the key of the set of the bus's topics: "{bus}:topics".
func (b *Backend) TopicsKey() string { return b.tag + ":topics" }

// ServicesKey returns the key of the set of the services that subscribed to
// the bus: "{bus}:services".
func (b *Backend) ServicesKey() string { return b.tag + ":services" }

// DeadLetterKey returns the key of a service's dead letters: "{bus}:dead:SERVICE".
func (b *Backend) DeadLetterKey(service string) string { return b.tag + ":dead:" + service }

// InboxKey returns the key of a service's inbox: "{bus}:in:SERVICE". Only
// that service reads it; requeued dead letters go there, so that a requeue
// does not reach the other services of their topic.
func (b *Backend) InboxKey(service string) string { return b.tag + ":in:" + service }

// cursorKey returns the key of the hash of where a service last settled, per topic.
func (b *Backend) cursorKey(service string) string { return b.tag + ":settled:" + service }

// ConsumerName returns this process's consumer name in its services' groups.
func (b *Backend) ConsumerName() string { return b.cfg.consumer }

// Stats counts what the backend's consumers did since it was created.
type Stats struct {
	Acked          int64 // inputs acknowledged with their emitted events
	Discarded      int64 // inputs no longer this consumer's at their settle (reclaimed by another, or settled by an earlier attempt whose reply was lost): what their handling emitted was dropped
	DeadLettered   int64 // entries moved to a dead-letter stream
	Retried        int64 // failed inputs scheduled to be handed out again
	Reclaimed      int64 // entries taken over from another consumer idle past the claim idle time
	Recovered      int64 // entries pending for this consumer that it did not hold: a previous life's, or a lost read's
	GroupRecreated int64 // times a service's consumer group had vanished and was created again
	Expired        int64 // silent consumers with nothing pending removed from a group
}

// Stats returns the counters of the backend.
func (b *Backend) Stats() Stats {
	s := &b.stats
	return Stats{
		Acked:          s.acked.Load(),
		Discarded:      s.discarded.Load(),
		DeadLettered:   s.dead.Load(),
		Retried:        s.retried.Load(),
		Reclaimed:      s.reclaimed.Load(),
		Recovered:      s.recovered.Load(),
		GroupRecreated: s.recreated.Load(),
		Expired:        s.expired.Load(),
	}
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Close closes every Consumer of the backend (each writes the settles still
// waiting and hands back what it holds), then the client if Dial created it.
// Close is safe to call more than once.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	consumers := make([]*Consumer, 0, len(b.consumers))
	for c := range b.consumers {
		consumers = append(consumers, c)
	}
	b.mu.Unlock()
	var errs []error
	for _, c := range consumers {
		errs = append(errs, c.Close())
	}
	if b.ownClient {
		errs = append(errs, b.client.Close())
	}
	return errors.Join(errs...)
}

// redisLogger routes go-redis's own log lines (dial failures during an
// outage, say) through the logger of the newest backend, as JSON beside the
// rest, instead of plain text on standard error.
type redisLogger struct{ l atomic.Pointer[slog.Logger] }

var redisLogs = &redisLogger{}
var redisLogsOnce sync.Once

func routeRedisLogs(l *slog.Logger) {
	redisLogs.l.Store(l)
	redisLogsOnce.Do(func() { redis.SetLogger(redisLogs) })
}

// Printf logs one go-redis message at warning level.
func (r *redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l := r.l.Load(); l != nil {
		l.LogAttrs(ctx, slog.LevelWarn, "go-redis: "+strings.TrimSpace(fmt.Sprintf(format, v...)))
	}
}

// redactURL returns rawURL with its password replaced by "xxxxx", or a
// placeholder when it does not parse.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// scrub removes the password of rawURL from msg.
func scrub(msg, rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
