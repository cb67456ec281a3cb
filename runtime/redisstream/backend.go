package redisstream

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
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

// The reasons a dead letter gives, in its "reason" field.
const (
	ReasonUndecodable      = "undecodable"        // not one "event" field holding a valid JSON envelope
	ReasonTooLarge         = "too_large"          // larger than WithMaxEventSize
	ReasonUnknownEventType = "unknown_event_type" // no organ listens to its type (runtime.ErrNoRoute)
	ReasonBadPayload       = "bad_payload"        // its payload does not decode into the organ's type (runtime.ErrPayloadType)
	ReasonMaxDeliveries    = "max_deliveries"     // handed out WithMaxDeliveries times without success
	ReasonUnencodable      = "unencodable_emit"   // what its handling emitted cannot be written (too large, invalid)
)

// entryField is the one field of a stream entry: the event's JSON envelope.
const entryField = "event"

// Backend is a runtime.Backend on a Redis stream shared by every process of
// an app through one consumer group. See the package documentation for its
// guarantees. It is safe for concurrent use.
type Backend struct {
	client    redis.UniversalClient
	ownClient bool
	cfg       config
	keys      []string // stream, dead letters

	readMu   sync.Mutex // one fetch (claim or XREADGROUP) at a time
	settleMu sync.Mutex // one settle script at a time

	mu       sync.Mutex
	buf      []*flight               // fetched, not yet handed out, oldest first
	inFlight map[uuid.UUID][]*flight // handed out, not yet settled
	local    map[string]*flight      // every fetched entry not yet settled, by entry id
	pending  []*flight               // settles waiting to be written, in order
	retries  retryHeap               // failed entries waiting to be handed out again
	retrying map[string]time.Time    // entry id → due time of its retry
	drained  bool                    // this consumer's own pending list was taken back
	cursor   string                  // XAUTOCLAIM cursor
	nextIdle time.Time               // when to look for idle entries again
	nextTrim time.Time

	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	stopTouch context.CancelFunc
	touchDone chan struct{}

	stats struct {
		acked, discarded, dead, retried, reclaimed, recreated atomic.Int64
	}
}

// flight is one entry taken from the stream, until it is settled.
type flight struct {
	id         string // stream entry id
	ev         runtime.Event
	deliveries int64
	handedOut  bool
	op         []any // its settle, once Ack or Nack gave one
	kind       byte  // 'a', 'n' or 'd'
	queued     bool  // in Backend.pending
}

var _ runtime.Backend = (*Backend)(nil)
var _ runtime.Nacker = (*Backend)(nil)

// Dial connects to the Redis server at rawURL (redis://[user:password@]host:port/db,
// or rediss:// for TLS), makes sure the stream and its consumer group exist,
// and returns a Backend that owns the client: Close closes it. Errors never
// show the password.
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

// New returns a Backend on an existing client, after making sure the stream
// and its consumer group exist. Close leaves the client open: it belongs to
// the caller.
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
	b := &Backend{
		client:    client,
		ownClient: own,
		cfg:       cfg,
		keys:      []string{"{" + cfg.app + "}:events", cfg.deadKey},
		inFlight:  map[uuid.UUID][]*flight{},
		local:     map[string]*flight{},
		retrying:  map[string]time.Time{},
		closed:    make(chan struct{}),
		touchDone: make(chan struct{}),
	}
	if err := b.createGroup(ctx); err != nil {
		return nil, err
	}
	touchCtx, cancel := context.WithCancel(context.Background())
	b.stopTouch = cancel
	go b.keepFresh(touchCtx)
	return b, nil
}

// StreamKey returns the key of the stream: "{app}:events".
func (b *Backend) StreamKey() string { return b.keys[0] }

// DeadLetterKey returns the key of the dead-letter stream: "{app}:dead" by default.
func (b *Backend) DeadLetterKey() string { return b.keys[1] }

// Group returns the name of the consumer group.
func (b *Backend) Group() string { return b.cfg.group }

// Consumer returns this backend's consumer name in the group.
func (b *Backend) Consumer() string { return b.cfg.consumer }

// Stats counts what the backend did since it was created.
type Stats struct {
	Acked          int64 // inputs acknowledged with their emitted events
	Discarded      int64 // inputs another consumer had reclaimed: their emitted events were dropped
	DeadLettered   int64 // entries moved to the dead-letter stream
	Retried        int64 // failed inputs scheduled to be handed out again
	Reclaimed      int64 // entries taken back from a dead consumer or from this one's previous life
	GroupRecreated int64 // times the consumer group had vanished and was created again
}

// Stats returns the counters of the backend.
func (b *Backend) Stats() Stats {
	return Stats{
		Acked:          b.stats.acked.Load(),
		Discarded:      b.stats.discarded.Load(),
		DeadLettered:   b.stats.dead.Load(),
		Retried:        b.stats.retried.Load(),
		Reclaimed:      b.stats.reclaimed.Load(),
		GroupRecreated: b.stats.recreated.Load(),
	}
}

func (b *Backend) isClosed() bool {
	select {
	case <-b.closed:
		return true
	default:
		return false
	}
}

func (b *Backend) errClosed(op string) error {
	return fmt.Errorf("redisstream: %s on stream %s: %w", op, b.keys[0], ErrClosed)
}

// createGroup creates the consumer group (and the stream) unless it exists.
// It starts at the beginning of the stream, so that events enqueued before
// any consumer joined are handled.
func (b *Backend) createGroup(ctx context.Context) error {
	err := b.client.XGroupCreateMkStream(ctx, b.keys[0], b.cfg.group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create consumer group %s on %s: %w", b.cfg.group, b.keys[0], err)
	}
	return nil
}

// recreateGroup handles a NOGROUP error: Redis lost the group (a restart
// without persistence, or someone deleted the key). Entries that were
// pending are gone with it; new events flow again.
func (b *Backend) recreateGroup(ctx context.Context, cause error) error {
	b.cfg.logger.LogAttrs(ctx, slog.LevelError, "redisstream: the consumer group is gone (did Redis restart without persistence?); creating it again",
		slog.String("stream", b.keys[0]), slog.String("group", b.cfg.group), slog.String("error", cause.Error()))
	if err := b.createGroup(ctx); err != nil {
		return fmt.Errorf("redisstream: %w", err)
	}
	b.stats.recreated.Add(1)
	b.mu.Lock()
	b.drained = false
	b.mu.Unlock()
	return nil
}

func isNoGroup(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOGROUP")
}

// encode returns the JSON envelope of ev, checking its size.
func (b *Backend) encode(ev runtime.Event) (string, error) {
	data, err := ev.AppendJSON(nil)
	if err != nil {
		return "", err
	}
	if len(data) > b.cfg.maxEventSize {
		return "", fmt.Errorf("event %s (%s) is %d bytes encoded, over the limit of %d: %w; send a reference to the data instead, or raise WithMaxEventSize",
			ev.ID, ev.Type, len(data), b.cfg.maxEventSize, ErrEventTooLarge)
	}
	return string(data), nil
}

// Enqueue appends events to the stream in order, in one round trip. A
// failed Enqueue may have written some of them; retrying may write those
// twice (producers are at-least-once).
func (b *Backend) Enqueue(ctx context.Context, events ...runtime.Event) error {
	if b.isClosed() {
		return b.errClosed("enqueue")
	}
	if len(events) == 0 {
		return nil
	}
	encoded := make([]string, len(events))
	for i, ev := range events {
		var err error
		if encoded[i], err = b.encode(ev); err != nil {
			return fmt.Errorf("redisstream: enqueue: %w", err)
		}
	}
	if len(encoded) == 1 {
		return b.xadd(ctx, b.client, encoded[0]).Err()
	}
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range encoded {
			b.xadd(ctx, p, e)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstream: enqueue %d events on %s: %w", len(events), b.keys[0], err)
	}
	return nil
}

func (b *Backend) xadd(ctx context.Context, c redis.Cmdable, event string) *redis.StringCmd {
	return c.XAdd(ctx, &redis.XAddArgs{Stream: b.keys[0], Values: []any{entryField, event}})
}

// Pull hands out up to max events: from what the last read fetched, or,
// when that is all handed out, after writing the acknowledgements waiting:
// this consumer's own pending entries (once, at start), failed entries whose retry is due, entries idle past the claim
// timeout (XAUTOCLAIM), and new entries (XREADGROUP COUNT batch BLOCK ≤
// timeout).
func (b *Backend) Pull(ctx context.Context, dst []runtime.Event, maxEvents int, timeout time.Duration) ([]runtime.Event, error) {
	if b.isClosed() {
		return dst, b.errClosed("pull")
	}
	if maxEvents < 1 {
		return dst, nil
	}
	deadline := time.Now().Add(timeout)
	for {
		if b.take(&dst, maxEvents) > 0 {
			return dst, nil
		}
		if b.isClosed() {
			return dst, b.errClosed("pull")
		}
		if err := ctx.Err(); err != nil {
			return dst, err
		}
		// Everything fetched is handed out: write the acknowledgements
		// waiting, so that the read sees what they emitted.
		if err := b.flush(ctx); err != nil {
			return dst, err
		}
		wait := time.Until(deadline)
		if err := b.fetch(ctx, max(wait, 0)); err != nil {
			if b.isClosed() {
				return dst, b.errClosed("pull")
			}
			if ctx.Err() != nil {
				return dst, ctx.Err()
			}
			return dst, err
		}
		if b.take(&dst, maxEvents) > 0 || wait <= 0 {
			return dst, nil
		}
	}
}

// take moves up to max fetched events to dst and returns how many it moved.
func (b *Backend) take(dst *[]runtime.Event, max int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(max, len(b.buf))
	for _, f := range b.buf[:n] {
		f.handedOut = true
		b.inFlight[f.ev.ID] = append(b.inFlight[f.ev.ID], f)
		*dst = append(*dst, f.ev)
	}
	clear(b.buf[:n])
	b.buf = b.buf[n:]
	return n
}

// fetch fills the buffer, blocking up to wait for new entries when there is
// nothing else to hand out.
func (b *Backend) fetch(ctx context.Context, wait time.Duration) error {
	b.readMu.Lock()
	defer b.readMu.Unlock()
	if b.buffered() > 0 {
		return nil
	}
	if err := b.claimAll(ctx); err != nil {
		if !isNoGroup(err) {
			return err
		}
		return b.recreateGroup(ctx, err)
	}
	if b.buffered() > 0 {
		return nil
	}
	block := min(wait, b.cfg.block)
	if due, ok := b.nextRetry(); ok {
		block = min(block, max(time.Until(due), 0))
	}
	args := &redis.XReadGroupArgs{
		Group:    b.cfg.group,
		Consumer: b.cfg.consumer,
		Streams:  []string{b.keys[0], ">"},
		Count:    int64(b.cfg.batchSize),
		Block:    -1, // no BLOCK: return at once
	}
	if block > 0 {
		args.Block = max(block, time.Millisecond)
	}
	streams, err := b.client.XReadGroup(ctx, args).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if isNoGroup(err) {
		return b.recreateGroup(ctx, err)
	}
	if err != nil {
		return fmt.Errorf("redisstream: read %s as %s/%s: %w", b.keys[0], b.cfg.group, b.cfg.consumer, err)
	}
	var dead bool
	for _, s := range streams {
		for _, m := range s.Messages {
			fields := make([]any, 0, 2*len(m.Values))
			for k, v := range m.Values {
				fields = append(fields, k, v)
			}
			dead = b.admit(ctx, m.ID, fields, 1) || dead
		}
	}
	if dead {
		return b.flush(ctx)
	}
	return nil
}

func (b *Backend) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}

// claimAll runs the claims that are due: own pending entries at start,
// retries, idle entries of other consumers, and the trim.
func (b *Backend) claimAll(ctx context.Context) error {
	b.mu.Lock()
	drained := b.drained
	b.mu.Unlock()
	if !drained {
		after := "0-0"
		for {
			next, err := b.claim(ctx, "own", after, b.cfg.batchSize)
			if err != nil {
				return err
			}
			if next == "0-0" {
				break
			}
			after = next
		}
		b.mu.Lock()
		b.drained = true
		b.mu.Unlock()
	}
	if ids := b.dueRetries(); len(ids) > 0 {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		if _, err := b.claim(ctx, "ids", args...); err != nil {
			return err
		}
	}
	now := time.Now()
	if now.After(b.nextIdle) {
		if b.cursor == "" {
			b.cursor = "0-0"
		}
		next, err := b.claim(ctx, "idle", b.cfg.claimIdle.Milliseconds(), b.cursor, b.cfg.batchSize)
		if err != nil {
			return err
		}
		b.cursor = next
		if next == "0-0" {
			// A full pass over the pending entries: look again in a while.
			b.nextIdle = now.Add(b.cfg.claimIdle / 2)
		}
	}
	if b.cfg.trimEvery > 0 && now.After(b.nextTrim) {
		b.nextTrim = now.Add(b.cfg.trimEvery)
		if _, err := b.Trim(ctx); err != nil {
			b.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "redisstream: trim failed", slog.String("error", err.Error()))
		}
	}
	return nil
}

// claim runs the claim script in mode and admits what it returns; it
// returns the script's cursor.
func (b *Backend) claim(ctx context.Context, mode string, args ...any) (string, error) {
	argv := append([]any{b.cfg.group, b.cfg.consumer, b.cfg.maxDeliveries, mode}, args...)
	res, err := claimScript.Run(ctx, b.client, b.keys, argv...).Slice()
	if err != nil {
		return "", fmt.Errorf("redisstream: claim (%s) on %s: %w", mode, b.keys[0], err)
	}
	if len(res) != 3 {
		return "", fmt.Errorf("redisstream: claim (%s): unexpected reply %v", mode, res)
	}
	next, _ := res[0].(string)
	entries, _ := res[1].([]any)
	deadCount, _ := res[2].(int64)
	if deadCount > 0 {
		b.stats.dead.Add(deadCount)
		b.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "redisstream: entries delivered too often were dead-lettered",
			slog.Int64("entries", deadCount), slog.Int("max_deliveries", b.cfg.maxDeliveries), slog.String("dead_letters", b.keys[1]))
	}
	var dead bool
	for _, e := range entries {
		triple, _ := e.([]any)
		if len(triple) != 3 {
			continue
		}
		id, _ := triple[0].(string)
		fields, _ := triple[1].([]any)
		deliveries, _ := triple[2].(int64)
		b.stats.reclaimed.Add(1)
		dead = b.admit(ctx, id, fields, deliveries) || dead
	}
	if dead {
		return next, b.flush(ctx)
	}
	return next, nil
}

// admit decodes one entry into the buffer, or queues its dead letter and
// reports true when it cannot be decoded.
func (b *Backend) admit(ctx context.Context, id string, fields []any, deliveries int64) (dead bool) {
	ev, reason, detail := b.decode(fields)
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.retrying, id)
	if _, dup := b.local[id]; dup {
		return false // already here: fetched earlier and not settled yet
	}
	f := &flight{id: id, ev: ev, deliveries: deliveries}
	b.local[id] = f
	if reason != "" {
		f.kind, f.op = 'd', []any{"d", id, reason, detail}
		f.queued = true
		b.pending = append(b.pending, f)
		return true
	}
	b.buf = append(b.buf, f)
	return false
}

// decode turns the fields of an entry into an event, or says why it cannot.
func (b *Backend) decode(fields []any) (ev runtime.Event, reason, detail string) {
	if len(fields) != 2 || fields[0] != entryField {
		names := make([]string, 0, len(fields)/2)
		for i := 0; i < len(fields); i += 2 {
			names = append(names, fmt.Sprint(fields[i]))
		}
		return ev, ReasonUndecodable, fmt.Sprintf("the entry has the fields %q; want exactly one field %q holding the JSON envelope", names, entryField)
	}
	data, _ := fields[1].(string)
	if len(data) > b.cfg.maxEventSize {
		return ev, ReasonTooLarge, fmt.Sprintf("the event is %d bytes, over the limit of %d (WithMaxEventSize)", len(data), b.cfg.maxEventSize)
	}
	ev, err := runtime.DecodeEvent([]byte(data))
	if err != nil {
		return ev, ReasonUndecodable, err.Error()
	}
	return ev, "", ""
}

// flightOf returns the oldest unsettled flight of an event handed out, or nil.
func (b *Backend) flightOf(id uuid.UUID) *flight {
	if fs := b.inFlight[id]; len(fs) > 0 {
		return fs[0]
	}
	return nil
}

// Ack settles in with the events its handling emitted. The write is
// batched: it happens with the next Pull that finds nothing fetched left to
// hand out, once WithBatchSize acknowledgements wait, or at Close, whichever
// comes first; then, in one script per batch, each input that is still
// pending for this consumer has its emitted events added and is
// acknowledged, and each input another consumer reclaimed is dropped with
// what it emitted (that consumer handles it again).
func (b *Backend) Ack(ctx context.Context, in runtime.Event, emitted []runtime.Event) error {
	op := make([]any, 0, 3+len(emitted))
	op = append(op, "a", "", len(emitted))
	kind := byte('a')
	for _, ev := range emitted {
		e, err := b.encode(ev)
		if err != nil {
			// The input cannot be settled as handled: keep it, and why, as a dead letter.
			op, kind = []any{"d", "", ReasonUnencodable, err.Error()}, 'd'
			break
		}
		op = append(op, e)
	}
	return b.settle(ctx, in, kind, op, false)
}

// Nack reports that handling in failed. An unknown event type or a payload
// that does not fit the organ's type goes to the dead letters at once; any
// other failure is retried after a backoff, by this or another consumer,
// until WithMaxDeliveries deliveries, and is then dead-lettered.
func (b *Backend) Nack(ctx context.Context, in runtime.Event, cause error) error {
	permanent, reason := "0", ReasonMaxDeliveries
	switch {
	case errors.Is(cause, runtime.ErrNoRoute):
		permanent, reason = "1", ReasonUnknownEventType
	case errors.Is(cause, runtime.ErrPayloadType):
		permanent, reason = "1", ReasonBadPayload
	}
	detail := "unknown failure"
	if cause != nil {
		detail = cause.Error()
	}
	if len(detail) > 2000 {
		detail = detail[:2000] + "…"
	}
	return b.settle(ctx, in, 'n', []any{"n", "", permanent, reason, detail}, true)
}

// settle records the settle of an event handed out and writes it now when
// it must.
func (b *Backend) settle(ctx context.Context, in runtime.Event, kind byte, op []any, now bool) error {
	b.mu.Lock()
	f := b.flightOf(in.ID)
	if f == nil {
		b.mu.Unlock()
		if b.isClosed() {
			return b.errClosed("ack")
		}
		return fmt.Errorf("redisstream: settle event %s (%s): this backend did not hand it out, or it was settled already", in.ID, in.Type)
	}
	op[1] = f.id
	f.op, f.kind = op, kind
	if !f.queued {
		f.queued = true
		b.pending = append(b.pending, f)
	}
	write := now || len(b.buf) == 0 || len(b.pending) >= b.cfg.batchSize
	b.mu.Unlock()
	if !write {
		return nil
	}
	return b.flush(ctx)
}

// flush writes every settle waiting, batchSize at a time.
func (b *Backend) flush(ctx context.Context) error {
	b.settleMu.Lock()
	defer b.settleMu.Unlock()
	for {
		b.mu.Lock()
		n := min(len(b.pending), b.cfg.batchSize)
		batch := make([]*flight, n)
		copy(batch, b.pending[:n])
		b.mu.Unlock()
		if n == 0 {
			return nil
		}
		res, err := b.runSettle(ctx, batch)
		if isNoGroup(err) {
			if err = b.recreateGroup(ctx, err); err == nil {
				res, err = b.runSettle(ctx, batch)
			}
		}
		if err != nil {
			return fmt.Errorf("redisstream: acknowledge %d events on %s (they stay pending and are written again with the next Pull): %w", n, b.keys[0], err)
		}
		b.mu.Lock()
		b.pending = b.pending[n:]
		b.mu.Unlock()
		b.settled(ctx, batch, res)
	}
}

func (b *Backend) runSettle(ctx context.Context, batch []*flight) ([]int64, error) {
	argv := []any{b.cfg.group, b.cfg.consumer, b.cfg.maxDeliveries}
	for _, f := range batch {
		argv = append(argv, f.op...)
	}
	res, err := settleScript.Run(ctx, b.client, b.keys, argv...).Int64Slice()
	if err == nil && len(res) != len(batch) {
		err = fmt.Errorf("settle script returned %d results for %d entries", len(res), len(batch))
	}
	return res, err
}

// settled forgets the entries of a written batch and acts on the results.
func (b *Backend) settled(ctx context.Context, batch []*flight, res []int64) {
	log := b.cfg.logger
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, f := range batch {
		delete(b.local, f.id)
		if f.handedOut {
			fs := b.inFlight[f.ev.ID]
			for j, g := range fs {
				if g == f {
					fs = append(fs[:j], fs[j+1:]...)
					break
				}
			}
			if len(fs) == 0 {
				delete(b.inFlight, f.ev.ID)
			} else {
				b.inFlight[f.ev.ID] = fs
			}
		}
		r := res[i]
		switch {
		case r == 0:
			b.stats.discarded.Add(1)
			log.LogAttrs(ctx, slog.LevelWarn, "redisstream: another consumer reclaimed the entry before it was settled; what its handling emitted is dropped, the other consumer handles it again",
				slog.String("entry", f.id), slog.String(runtime.LogKeyEventID, f.ev.ID.String()), slog.String(runtime.LogKeyEventType, f.ev.Type))
		case r == -1:
			b.stats.dead.Add(1)
			reason := f.op[2] // 'd': the reason; 'n': whether it is permanent, then the reason
			if f.kind == 'n' {
				reason = f.op[3]
			}
			log.LogAttrs(ctx, slog.LevelWarn, "redisstream: entry dead-lettered",
				slog.String("entry", f.id), slog.String(runtime.LogKeyEventType, f.ev.Type),
				slog.Any("reason", reason), slog.Int64("deliveries", f.deliveries), slog.String("dead_letters", b.keys[1]))
		case f.kind == 'a':
			b.stats.acked.Add(1)
		case f.kind == 'n':
			// Still pending for this consumer after r deliveries: hand it out
			// again after a backoff, without holding up other events.
			b.stats.retried.Add(1)
			due := time.Now().Add(b.backoff(r))
			b.retrying[f.id] = due
			heap.Push(&b.retries, retryItem{id: f.id, due: due})
		}
	}
}

// backoff is the wait before the retry that follows delivery number d:
// retryMin doubled per delivery, capped at retryMax, jittered to [½, 1].
func (b *Backend) backoff(d int64) time.Duration {
	w := b.cfg.retryMin << min(max(d-1, 0), 30)
	if w <= 0 || w > b.cfg.retryMax {
		w = b.cfg.retryMax
	}
	return w/2 + rand.N(w/2+1)
}

// nextRetry returns when the earliest retry is due.
func (b *Backend) nextRetry() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.retries) > 0 {
		r := b.retries[0]
		if due, ok := b.retrying[r.id]; ok && due.Equal(r.due) {
			return r.due, true
		}
		heap.Pop(&b.retries) // claimed meanwhile by another path
	}
	return time.Time{}, false
}

// dueRetries pops the ids of the retries that are due, at most batchSize.
func (b *Backend) dueRetries() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	now := time.Now()
	for len(b.retries) > 0 && len(ids) < b.cfg.batchSize && !b.retries[0].due.After(now) {
		r := heap.Pop(&b.retries).(retryItem)
		if due, ok := b.retrying[r.id]; ok && due.Equal(r.due) {
			delete(b.retrying, r.id)
			ids = append(ids, r.id)
		}
	}
	return ids
}

// keepFresh resets the idle time of the entries this backend holds, so that
// no other consumer reclaims an entry whose handler is still running.
func (b *Backend) keepFresh(ctx context.Context) {
	defer close(b.touchDone)
	t := time.NewTicker(b.cfg.claimIdle / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		ids := make([]string, 0, len(b.local))
		for id, f := range b.local {
			if f.kind != 'n' { // a failed entry waits for its retry, not on a handler
				ids = append(ids, id)
			}
		}
		b.mu.Unlock()
		if err := b.touch(ctx, ids, 0); err != nil && ctx.Err() == nil {
			b.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "redisstream: could not keep the entries being handled fresh; if this lasts longer than the claim idle timeout, other consumers may reclaim them",
				slog.Int("entries", len(ids)), slog.String("error", err.Error()))
		}
	}
}

// touch sets the idle time of ids that are still pending for this consumer.
func (b *Backend) touch(ctx context.Context, ids []string, idle time.Duration) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		argv := []any{b.cfg.group, b.cfg.consumer, b.cfg.maxDeliveries, idle.Milliseconds()}
		for _, id := range ids[:n] {
			argv = append(argv, id)
		}
		if err := touchScript.Run(ctx, b.client, b.keys, argv...).Err(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Trim removes the entries of the stream that every group has acknowledged:
// everything below both the oldest pending entry and the last delivered one.
// It never removes an entry still to be handled, and never touches the dead
// letters. It returns how many entries it removed.
func (b *Backend) Trim(ctx context.Context) (int64, error) {
	n, err := trimScript.Run(ctx, b.client, b.keys[:1]).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstream: trim %s: %w", b.keys[0], err)
	}
	return n, nil
}

// Close writes the acknowledgements still waiting, hands the entries fetched
// but not handed out back to the group (they are reclaimable at once), leaves
// the group if this consumer holds no pending entry, and closes the client if
// Dial created it. Entries handed out and not settled
// stay pending: another consumer reclaims them after the claim idle timeout,
// or this consumer name takes them back when it starts again. Close is safe
// to call more than once.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		close(b.closed)
		b.stopTouch()
		<-b.touchDone
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if err := b.flush(ctx); err != nil {
			errs = append(errs, err)
		}
		b.mu.Lock()
		ids := make([]string, 0, len(b.buf))
		for _, f := range b.buf {
			ids = append(ids, f.id)
		}
		b.mu.Unlock()
		if err := b.touch(ctx, ids, b.cfg.claimIdle); err != nil {
			errs = append(errs, fmt.Errorf("redisstream: hand back %d fetched entries (they are reclaimed after the claim idle timeout instead): %w", len(ids), err))
		}
		if err := leaveScript.Run(ctx, b.client, b.keys, b.cfg.group, b.cfg.consumer, b.cfg.maxDeliveries).Err(); err != nil {
			errs = append(errs, fmt.Errorf("redisstream: leave group %s: %w", b.cfg.group, err))
		}
		if b.ownClient {
			if err := b.client.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// DeadLetter is an entry of the dead-letter stream.
type DeadLetter struct {
	ID         string            // its id in the dead-letter stream
	OriginalID string            // its id in the event stream
	Reason     string            // one of the Reason constants
	Detail     string            // what was wrong, in words
	Deliveries int64             // how many times it had been handed out
	Group      string            // the group and consumer that dead-lettered it
	Consumer   string            //
	Fields     map[string]string // the original entry's fields: "event" holds its envelope
}

// DeadLetters returns up to count dead letters, oldest first, starting after
// the dead-letter id after ("" for the beginning).
func (b *Backend) DeadLetters(ctx context.Context, after string, count int64) ([]DeadLetter, error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	msgs, err := b.client.XRangeN(ctx, b.keys[1], start, "+", count).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstream: read dead letters %s: %w", b.keys[1], err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := DeadLetter{ID: m.ID, Fields: map[string]string{}}
		for k, v := range m.Values {
			s := fmt.Sprint(v)
			switch k {
			case "original_id":
				d.OriginalID = s
			case "reason":
				d.Reason = s
			case "detail":
				d.Detail = s
			case "deliveries":
				d.Deliveries, _ = strconv.ParseInt(s, 10, 64)
			case "group":
				d.Group = s
			case "consumer":
				d.Consumer = s
			default:
				if name, ok := strings.CutPrefix(k, "original:"); ok {
					d.Fields[name] = s
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}

type retryItem struct {
	id  string
	due time.Time
}

type retryHeap []retryItem

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(retryItem)) }
func (h *retryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
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
