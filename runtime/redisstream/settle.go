package redisstream

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/necrostack/necrostack/runtime"
)

// settleOp is how one entry is settled: the typed value the settle script
// reads (see settleScript for its encoding).
type settleOp struct {
	entry   entryRef
	outcome outcome
	reason  string // the dead letter's reason: outcomeDead's, or outcomeRetry's when it is the last ("" for max_deliveries)
	detail  string // outcomeDead, outcomeRetry: what went wrong
	emits   []emit // published when the entry is acknowledged or dead-lettered
}

// emit is one event to publish: its topic's KEYS index and its envelope.
type emit struct {
	stream   int
	envelope string
}

// append encodes op as a MessagePack map.
func (op *settleOp) append(dst []byte) []byte {
	dst = mpMap(dst, 6)
	dst = mpUint(mpString(dst, "s"), uint64(op.entry.stream))
	dst = mpString(mpString(dst, "e"), op.entry.id)
	dst = mpUint(mpString(dst, "o"), uint64(op.outcome))
	dst = mpString(mpString(dst, "r"), op.reason)
	dst = mpString(mpString(dst, "d"), op.detail)
	dst = mpArray(mpString(dst, "m"), len(op.emits))
	for _, m := range op.emits {
		dst = mpString(mpUint(mpArray(dst, 2), uint64(m.stream)), m.envelope)
	}
	return dst
}

// settleResult is what the settle script says of one op.
type settleResult int64

const (
	resultNotOwned     settleResult = 0
	resultDeadLettered settleResult = -1
	// Any other value: acknowledged (an ack op) or the entry's delivery
	// count so far (a retry op).
)

// Ack settles d with the events its handling emitted. The write is
// batched: it happens with the next Pull that finds nothing fetched left to
// hand out, once WithBatchSize settles wait, or at Close, whichever comes
// first; then, in one script per batch, each input that is still pending
// for this consumer has its emitted events published and is acknowledged,
// and each input another consumer reclaimed is dropped with what it emitted
// (that consumer handles it again). Acknowledging d again is a no-op.
func (c *Consumer) Ack(ctx context.Context, d runtime.Delivery, emitted []runtime.Event) error {
	op := &settleOp{outcome: outcomeAck}
	if err := c.encodeEmits(op, emitted); err != nil {
		// The input cannot be settled as handled: keep it, and why, as a dead letter.
		op = &settleOp{outcome: outcomeDead, reason: ReasonUnencodable, detail: err.Error()}
	}
	return c.settle(ctx, "ack", d, op, false)
}

// Nack reports that handling d failed. A payload that does not fit its
// organ, or an event type nobody routes, goes to the dead letters at once;
// any other failure is retried after a backoff, by this or another consumer,
// until WithMaxDeliveries deliveries, and is then dead-lettered. What the
// organs that succeeded emitted is published with the dead letter, never
// with a retry (the retry emits it again).
func (c *Consumer) Nack(ctx context.Context, d runtime.Delivery, emitted []runtime.Event, cause error) error {
	detail := "unknown failure"
	if cause != nil {
		detail = cause.Error()
	}
	if len(detail) > 2000 {
		detail = detail[:2000] + "…"
	}
	op := &settleOp{outcome: outcomeRetry, detail: detail, reason: runtime.FinalReason(cause)}
	if reason := runtime.PermanentReason(cause); reason != "" {
		op.outcome, op.reason = outcomeDead, reason
	}
	if err := c.encodeEmits(op, emitted); err != nil {
		op.emits = nil
		op.detail += "; and what the other organs emitted cannot be published: " + err.Error()
	}
	return c.settle(ctx, "nack", d, op, true)
}

// encodeEmits adds the envelopes of emitted to op, with their topics.
func (c *Consumer) encodeEmits(op *settleOp, emitted []runtime.Event) error {
	if len(emitted) == 0 {
		return nil
	}
	op.emits = make([]emit, len(emitted))
	for i, ev := range emitted {
		env, err := c.b.encode(ev)
		if err != nil {
			return err
		}
		op.emits[i] = emit{stream: c.topicIndex(ev.Type), envelope: env}
	}
	return nil
}

// topicIndex returns the KEYS index of the stream of an event type, adding
// it to the script keys when the service does not read it.
func (c *Consumer) topicIndex(eventType string) int {
	key := c.b.TopicKey(eventType)
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.emitTo[key]; ok {
		return i
	}
	// Appending past the clipped capacity makes a new array: a flush may be
	// reading the old one.
	c.settleKeys = slices.Clip(append(c.settleKeys, key))
	c.emitTo[key] = len(c.settleKeys)
	if _, known := c.b.registered.LoadOrStore(eventType, true); !known {
		c.b.client.SAdd(context.Background(), c.b.TopicsKey(), eventType) // best effort: trimming and tools read it
	}
	return len(c.settleKeys)
}

// settle records the settle of a delivery and writes it now when it must.
func (c *Consumer) settle(ctx context.Context, what string, d runtime.Delivery, op *settleOp, now bool) error {
	c.mu.Lock()
	f := c.out[d.Tag]
	if f == nil {
		c.mu.Unlock()
		if d.Tag == 0 || d.Tag >= c.nextTag {
			return runtime.Permanent(fmt.Errorf("redisstream: %s event %s (%s): this consumer of service %s never handed out delivery %d", what, d.ID, d.Type, c.service, d.Tag))
		}
		return nil // settled already
	}
	if f.op == nil { // a settle that failed to write is written again, not replaced
		op.entry = f.entryRef
		f.op = op
	}
	if !f.queued {
		f.queued = true
		c.pending = append(c.pending, f)
	}
	write := now || len(c.buf) == 0 || len(c.pending) >= c.b.cfg.batchSize
	c.mu.Unlock()
	if !write {
		return nil
	}
	return c.flush(ctx)
}

// Release hands deliveries that were not started back: they go to the front
// of what this consumer has fetched, to be handed out again (Close hands
// whatever is left to the other consumers of the service).
func (c *Consumer) Release(_ context.Context, ds ...runtime.Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	back := make([]*flight, 0, len(ds))
	for _, d := range ds {
		f := c.out[d.Tag]
		if f == nil || f.op != nil {
			continue // settled already
		}
		delete(c.out, d.Tag)
		f.tag = 0
		back = append(back, f)
	}
	c.buf = append(back, c.buf...)
	return nil
}

// flush writes every settle waiting, batchSize at a time.
func (c *Consumer) flush(ctx context.Context) error {
	c.settleMu.Lock()
	defer c.settleMu.Unlock()
	for {
		c.mu.Lock()
		n := min(len(c.pending), c.b.cfg.batchSize)
		batch := make([]*flight, n)
		copy(batch, c.pending[:n])
		keys := c.settleKeys
		c.mu.Unlock()
		if n == 0 {
			return nil
		}
		res, err := c.runSettle(ctx, keys, batch)
		if isNoGroup(err) {
			if err = c.recoverGroups(ctx, err); err == nil {
				res, err = c.runSettle(ctx, keys, batch)
			}
		}
		if err != nil {
			c.failed(ctx, err)
			return fmt.Errorf("redisstream: settle %d events of service %s (they stay pending and are written again with the next Pull): %w", n, c.service, err)
		}
		c.mu.Lock()
		c.pending = c.pending[n:]
		c.mu.Unlock()
		c.settled(ctx, batch, res)
	}
}

func (c *Consumer) runSettle(ctx context.Context, keys []string, batch []*flight) ([]int64, error) {
	packed := mpArray(nil, len(batch))
	for _, f := range batch {
		packed = f.op.append(packed)
	}
	res, err := settleScript.Run(ctx, c.b.client, keys, c.argv(packed)...).Int64Slice()
	if err == nil && len(res) != len(batch) {
		err = fmt.Errorf("settle script returned %d results for %d entries", len(res), len(batch))
	}
	return res, err
}

// settled forgets the entries of a written batch and acts on the results.
func (c *Consumer) settled(ctx context.Context, batch []*flight, res []int64) {
	log := c.log()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, f := range batch {
		if f.tag != 0 {
			delete(c.out, f.tag)
			f.tag = 0
		}
		f.queued = false
		r := settleResult(res[i])
		switch {
		case r == resultNotOwned:
			delete(c.local, f.entryRef)
			c.b.stats.discarded.Add(1)
			log.LogAttrs(ctx, slog.LevelWarn, "redisstream: another consumer reclaimed the entry before it was settled; what its handling emitted is dropped, the other consumer handles it again",
				slog.String("service", c.service), slog.String("entry", f.id), slog.String(runtime.LogKeyEventID, f.ev.ID.String()), slog.String(runtime.LogKeyEventType, f.ev.Type))
		case r == resultDeadLettered:
			delete(c.local, f.entryRef)
			c.noteSettled(f)
			c.b.stats.dead.Add(1)
			reason := f.op.reason
			if f.op.outcome == outcomeRetry && reason == "" {
				reason = ReasonMaxDeliveries
			}
			log.LogAttrs(ctx, slog.LevelWarn, "redisstream: entry dead-lettered",
				slog.String("service", c.service), slog.String("entry", f.id), slog.String(runtime.LogKeyEventType, f.ev.Type),
				slog.String("reason", reason), slog.Int64("deliveries", f.deliveries), slog.String("dead_letters", c.keys[keyDead-1]))
		case f.op.outcome == outcomeAck:
			delete(c.local, f.entryRef)
			c.noteSettled(f)
			c.b.stats.acked.Add(1)
		default:
			// Still pending for this consumer after r deliveries: hand it out
			// again after a backoff, without holding up other events. It
			// stays in local, so it is kept fresh meanwhile.
			c.b.stats.retried.Add(1)
			f.op = nil
			f.retryDue = time.Now().Add(c.backoff(int64(r)))
			heap.Push(&c.retries, retryItem{ref: f.entryRef, due: f.retryDue})
		}
	}
}

// noteSettled moves the topic's settled mark; c.mu is held.
func (c *Consumer) noteSettled(f *flight) {
	i := f.stream - firstStream
	if i < len(c.settledAt) && (c.settledAt[i] == "" || lessID(c.settledAt[i], f.id)) {
		c.settledAt[i] = f.id
	}
}

// backoff is the wait before the retry that follows delivery number d:
// retryMin doubled per delivery, capped at retryMax, jittered to [½, 1].
func (c *Consumer) backoff(d int64) time.Duration {
	cfg := &c.b.cfg
	w := cfg.retryMin << min(max(d-1, 0), 30)
	if w <= 0 || w > cfg.retryMax {
		w = cfg.retryMax
	}
	return w/2 + rand.N(w/2+1)
}

// Deferred returns how many failed events wait for their retry: the Runner's
// RunUntilIdle waits for them.
func (c *Consumer) Deferred() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.retries {
		if f := c.local[r.ref]; f != nil && f.retryDue.Equal(r.due) {
			n++
		}
	}
	return n
}

// nextRetry returns when the earliest retry is due.
func (c *Consumer) nextRetry() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.retries) > 0 {
		r := c.retries[0]
		if f := c.local[r.ref]; f != nil && f.retryDue.Equal(r.due) {
			return r.due, true
		}
		heap.Pop(&c.retries) // settled or taken back meanwhile
	}
	return time.Time{}, false
}

// dueRetries pops the retries that are due, at most batchSize, by topic.
func (c *Consumer) dueRetries() map[int][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var due map[int][]string
	now, n := time.Now(), 0
	for len(c.retries) > 0 && n < c.b.cfg.batchSize && !c.retries[0].due.After(now) {
		r := heap.Pop(&c.retries).(retryItem)
		if f := c.local[r.ref]; f != nil && f.retryDue.Equal(r.due) {
			if due == nil {
				due = map[int][]string{}
			}
			due[r.ref.stream] = append(due[r.ref.stream], r.ref.id)
			n++
		}
	}
	return due
}

// requeueRetries puts retries back after a failed attempt to take them.
func (c *Consumer) requeueRetries(stream int, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if f := c.local[entryRef{stream, id}]; f != nil && !f.retryDue.IsZero() {
			heap.Push(&c.retries, retryItem{ref: f.entryRef, due: f.retryDue})
		}
	}
}

type retryItem struct {
	ref entryRef
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
