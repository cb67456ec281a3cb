package redisstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/runtime"
)

// Consumer is one process's consumer of a service on a Redis bus: it reads
// the service's topics through the service's consumer groups. See the
// package documentation for what it guarantees.
type Consumer struct {
	b       *Backend
	name    string // in the service's groups
	service string
	start   runtime.StartPosition
	topics  []string // event types, in the order of keys[firstStream-1:]
	// streams read: the topics, then the service's inbox ("{bus}:in:SERVICE",
	// where requeued dead letters go); names[i] names stream firstStream+i.
	names   []string
	decoder *runtime.Decoder // knows the topics: their names are not allocated per event
	// keys are the script keys: dead letters, settled cursors, then one
	// stream per topic; a topic's stream is keys[firstStream-1+i]. They
	// never change; settleKeys (under mu) add the topics the service emits to.
	keys    []string
	streams map[string]int // topic stream key → KEYS index

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	stopFresh context.CancelFunc
	freshDone chan struct{}

	readMu   sync.Mutex // one fetch (claims, XREADGROUP) at a time; guards the read state below
	reader   blockingReader
	drained  bool      // this consumer's own pending entries were taken back
	cursors  []string  // XAUTOCLAIM cursor per topic
	nextIdle time.Time // when to look for idle entries again
	nextTrim time.Time

	settleMu sync.Mutex // one settle script at a time

	mu         sync.Mutex           // guards the bookkeeping below
	buf        []*flight            // fetched, not yet handed out, oldest first
	out        map[uint64]*flight   // handed out, not yet settled, by tag
	local      map[entryRef]*flight // every fetched entry not yet settled
	pending    []*flight            // settles waiting to be written, in order
	retries    retryHeap            // failed entries waiting to be handed out again
	nextTag    uint64               // tags handed out are 1..nextTag-1
	settledAt  []string             // per topic, the newest entry this consumer settled
	settleKeys []string             // keys, then the streams emitted to
	emitTo     map[string]int       // stream key → index in settleKeys
	outage     bool                 // a Redis call failed since the last refresh
	claimAfter time.Time            // no idle claims before: the grace after an outage
	regrouped  bool                 // groups were recreated: drain again
}

// entryRef names a stream entry: its topic's KEYS index and its id.
type entryRef struct {
	stream int
	id     string
}

// flight is one entry taken from a topic, until it is settled.
type flight struct {
	entryRef
	ev         runtime.Event
	deliveries int64
	tag        uint64    // while handed out; 0 otherwise
	op         *settleOp // once settled by Ack, Nack or a decode failure
	queued     bool      // in Consumer.pending
	retryDue   time.Time // while waiting for a retry
}

var _ runtime.Consumer = (*Consumer)(nil)

// Subscribe joins sub.Service to sub.Topics: it makes sure each topic's
// stream has the service's consumer group — created at the newest entry, or
// at the oldest retained one with runtime.StartOldest, and left where it is
// when it exists — and returns a Consumer of them.
func (b *Backend) Subscribe(ctx context.Context, sub runtime.Subscription) (runtime.Consumer, error) {
	if err := checkSubscription(sub); err != nil {
		return nil, err
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("redisstream: subscribe %s: %w", sub.Service, ErrClosed)
	}
	topics := slices.Clone(sub.Topics)
	slices.Sort(topics)
	topics = slices.Compact(topics)
	c := &Consumer{
		b:         b,
		service:   sub.Service,
		start:     sub.Start,
		topics:    topics,
		keys:      []string{b.DeadLetterKey(sub.Service), b.cursorKey(sub.Service)},
		streams:   map[string]int{},
		cursors:   make([]string, len(topics)+1),
		settledAt: make([]string, len(topics)+1),
		out:       map[uint64]*flight{},
		local:     map[entryRef]*flight{},
		nextTag:   1,
		closed:    make(chan struct{}),
		freshDone: make(chan struct{}),
	}
	for _, t := range topics {
		c.streams[b.TopicKey(t)] = len(c.keys) + 1
		c.keys = append(c.keys, b.TopicKey(t))
		c.names = append(c.names, t)
	}
	c.streams[b.InboxKey(sub.Service)] = len(c.keys) + 1
	c.keys = append(c.keys, b.InboxKey(sub.Service))
	c.names = append(c.names, "inbox")
	c.decoder = runtime.NewDecoder(topics...)
	c.settleKeys = slices.Clip(slices.Clone(c.keys))
	c.emitTo = maps.Clone(c.streams)
	if err := c.createGroups(ctx, false); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("redisstream: subscribe %s: %w", sub.Service, ErrClosed)
	}
	c.name = b.consumerName(sub.Service)
	b.consumers[c] = true
	b.mu.Unlock()
	c.reader = newBlockingReader(b.client, c.keys[firstStream-1])
	freshCtx, cancel := context.WithCancel(context.Background())
	c.stopFresh = cancel
	go c.keepFresh(freshCtx)
	return c, nil
}

func checkSubscription(sub runtime.Subscription) error {
	err := sub.Validate()
	if sub.Service == releasedConsumer {
		err = errors.Join(fmt.Errorf("the service name %q is the consumer that holds released entries; choose another (runtime.WithService)", sub.Service), err)
	}
	if err != nil {
		return runtime.Permanent(fmt.Errorf("redisstream: subscribe %q: %w", sub.Service, err))
	}
	return nil
}

// consumerName returns the name of a new consumer of service: WithConsumer's
// when no open consumer of the service in this process has it, else the
// first free of "#2", "#3"…, so that consumers of one service in one process
// never take each other's entries; b.mu is held.
func (b *Backend) consumerName(service string) string {
	taken := map[string]bool{}
	for c := range b.consumers {
		if c.service == service {
			taken[c.name] = true
		}
	}
	name := b.cfg.consumer
	for n := 2; taken[name]; n++ {
		name = b.cfg.consumer + "#" + strconv.Itoa(n)
	}
	return name
}

// Name returns the consumer's name in its service's groups.
func (c *Consumer) Name() string { return c.name }

// Service returns the name of the consumer's service: its consumer group.
func (c *Consumer) Service() string { return c.service }

// Topics returns the event types the consumer reads, sorted.
func (c *Consumer) Topics() []string { return slices.Clone(c.topics) }

func (c *Consumer) log() *slog.Logger { return c.b.cfg.logger }

func (c *Consumer) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *Consumer) errClosed(op string) error {
	return fmt.Errorf("redisstream: %s for service %s: %w", op, c.service, ErrClosed)
}

// stream returns the key of a topic by its KEYS index.
func (c *Consumer) stream(i int) string { return c.keys[i-1] }

// createGroups makes sure every topic has the service's group. A group that
// is missing is created at the newest entry, or at the oldest with
// StartOldest; when lost is true (a NOGROUP told us the group vanished while
// the service ran), at the newest entry this service settled instead, so
// that nothing is replayed by surprise.
func (c *Consumer) createGroups(ctx context.Context, lost bool) error {
	b := c.b
	var settled map[string]string
	if lost {
		var err error
		settled, err = b.client.HGetAll(ctx, b.cursorKey(c.service)).Result()
		if err != nil {
			return fmt.Errorf("redisstream: read where service %s settled: %w", c.service, err)
		}
	}
	cmds := make([]*redis.StatusCmd, len(c.names))
	positions := make([]string, len(c.names))
	// The commands' own errors are read below; the topics set is best effort.
	_, _ = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		topics := make([]any, len(c.topics))
		for i, t := range c.topics {
			topics[i] = t
		}
		for i := range c.names {
			positions[i] = c.startAt(i, lost, settled)
			cmds[i] = p.XGroupCreateMkStream(ctx, c.stream(firstStream+i), c.service, positions[i])
		}
		p.SAdd(ctx, b.TopicsKey(), topics...)
		p.SAdd(ctx, b.ServicesKey(), c.service)
		return nil
	})
	created := 0
	var err error
	for i, cmd := range cmds {
		switch e := cmd.Err(); {
		case e == nil:
			created++
			if lost {
				b.stats.recreated.Add(1)
				c.log().LogAttrs(ctx, slog.LevelError, "redisstream: the consumer group of a service was gone (did Redis restart without persistence, or was it destroyed?); created it again",
					slog.String("service", c.service), slog.String("topic", c.names[i]), slog.String("at", positions[i]))
			}
		case strings.HasPrefix(e.Error(), "BUSYGROUP"):
		default:
			err = e
		}
	}
	if err != nil {
		return fmt.Errorf("redisstream: create the consumer groups of service %s: %w", c.service, err)
	}
	for _, t := range c.topics {
		b.registered.Store(t, true)
	}
	if lost && created > 0 {
		c.mu.Lock()
		c.regrouped = true // the next fetch drains this consumer's pending list again
		c.mu.Unlock()
	}
	return nil
}

// startAt is where stream i's group starts when it has to be created.
func (c *Consumer) startAt(i int, lost bool, settled map[string]string) string {
	inbox := i == len(c.topics) // private to the service: all of it is for the service
	if !lost {
		if c.start == runtime.StartOldest || inbox {
			return "0"
		}
		return "$"
	}
	// Where this service settled last, but before any entry this consumer
	// still holds: those are handed out again rather than lost.
	at := settled[c.keys[firstStream-1+i]]
	c.mu.Lock()
	if mine := c.settledAt[i]; mine != "" && (at == "" || lessID(at, mine)) {
		at = mine
	}
	for ref := range c.local {
		if p := prevID(ref.id); ref.stream == firstStream+i && (at == "" || lessID(p, at)) {
			at = p
		}
	}
	c.mu.Unlock()
	if at != "" {
		return at
	}
	if c.start == runtime.StartOldest || inbox {
		return "0"
	}
	c.log().LogAttrs(context.Background(), slog.LevelError, "redisstream: nothing says where the lost group of a service was; starting it at the newest entry",
		slog.String("service", c.service), slog.String("topic", c.names[i]))
	return "$"
}

// recoverGroups answers a NOGROUP error: Redis lost a group of the service.
func (c *Consumer) recoverGroups(ctx context.Context, cause error) error {
	c.log().LogAttrs(ctx, slog.LevelWarn, "redisstream: a consumer group is missing; recreating the service's groups",
		slog.String("service", c.service), slog.String("error", cause.Error()))
	return c.createGroups(ctx, true)
}

func isNoGroup(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOGROUP")
}

// lessID orders stream entry ids "ms-seq".
func lessID(a, b string) bool {
	ams, aseq := splitID(a)
	bms, bseq := splitID(b)
	return ams < bms || (ams == bms && aseq < bseq)
}

func splitID(id string) (ms, seq uint64) {
	l, r, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(l, 10, 64)
	seq, _ = strconv.ParseUint(r, 10, 64)
	return ms, seq
}

// prevID returns the id just before id: a group created there delivers id.
func prevID(id string) string {
	ms, seq := splitID(id)
	switch {
	case seq > 0:
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10)
	case ms > 0:
		return strconv.FormatUint(ms-1, 10) + "-18446744073709551615"
	}
	return "0"
}
