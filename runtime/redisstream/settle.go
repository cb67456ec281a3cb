package redisstream

import (
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/necrostack/necrostack/runtime"
)

// settleOp is how one entry is settled: the typed value the settle script
// reads.
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

// The binary layout of a settle batch, in the formats of Lua's struct
// library (big-endian; "c0" is a string whose length is the number read just
// before it), which the settle script reads with these same strings:
//
//	batchHeader                    the number of streams, the number of ops, how many entries
//	                               this consumer holds (the most XPENDING can list)
//	batchStream × streams          a stream's KEYS index, the first and last entry ids of the batch in it
//	opHeader × ops, each followed by
//	  opEmit × emits               an emitted event: its topic's KEYS index and the ARGV index
//	                               of its envelope (envelopes follow the batch in ARGV, so that
//	                               the script reads them without copying them out of it)
const (
	batchHeader = ">HHI"
	batchStream = ">HBc0Bc0"
	opHeader    = ">HBBc0Bc0Hc0H" // stream, outcome, entry id, reason, detail, number of emits
	opEmit      = ">HI"           // topic, ARGV index of the envelope
)

// append encodes op in the layout of opHeader and opEmit, appending its
// envelopes to envs; argOffset is the ARGV index of envs[0].
func (op *settleOp) append(dst []byte, envs *[]any, argOffset int) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(op.entry.stream))
	dst = append(dst, byte(op.outcome))
	dst = appendStr8(dst, op.entry.id)
	dst = appendStr8(dst, op.reason)
	dst = appendStr16(dst, op.detail)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(op.emits)))
	for _, m := range op.emits {
		dst = binary.BigEndian.AppendUint16(dst, uint16(m.stream))
		dst = binary.BigEndian.AppendUint32(dst, uint32(argOffset+len(*envs)))
		*envs = append(*envs, m.envelope)
	}
	return dst
}

// appendStr8 appends s with a one-byte length (struct's "Bc0"); entry ids and
// reasons are far shorter than 256 bytes.
func appendStr8(dst []byte, s string) []byte {
	s = s[:min(len(s), 255)]
	return append(append(dst, byte(len(s))), s...)
}

// appendStr16 appends s with a two-byte length (struct's ">Hc0").
func appendStr16(dst []byte, s string) []byte {
	s = s[:min(len(s), 65535)]
	return append(binary.BigEndian.AppendUint16(dst, uint16(len(s))), s...)
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
	fetch := !now && len(c.buf) == 0
	c.mu.Unlock()
	if !write {
		return nil
	}
	// Everything fetched is handed out: write the settles in the same round
	// trip as the next read, unless another worker is reading.
	if fetch && c.readMu.TryLock() {
		defer c.readMu.Unlock()
		return c.fetchLocked(ctx, 0)
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
		batch, keys, held := c.nextBatch()
		if len(batch) == 0 {
			return nil
		}
		res, err := c.writeBatch(ctx, keys, batch, held)
		if err != nil {
			c.failed(ctx, err)
			return err
		}
		c.done(ctx, batch, res)
	}
}

// nextBatch returns up to batchSize settles waiting, oldest first, and the
// keys their script needs; settleMu is held.
func (c *Consumer) nextBatch() (batch []*flight, keys []string, held int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.pending), c.b.cfg.batchSize)
	return slices.Clone(c.pending[:n]), c.settleKeys, len(c.local) + n
}

// done drops a written batch from the settles waiting and acts on the
// results; settleMu is held.
func (c *Consumer) done(ctx context.Context, batch []*flight, res []int64) {
	c.mu.Lock()
	c.pending = c.pending[len(batch):]
	c.mu.Unlock()
	c.settled(ctx, batch, res)
}

// writeBatch runs the settle script on batch, recreating the service's
// groups once if one vanished.
func (c *Consumer) writeBatch(ctx context.Context, keys []string, batch []*flight, held int) ([]int64, error) {
	res, err := c.runSettle(ctx, keys, batch, held)
	if isNoGroup(err) {
		if err = c.recoverGroups(ctx, err); err == nil {
			res, err = c.runSettle(ctx, keys, batch, held)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("redisstream: settle %d events of service %s (they stay pending and are written again with the next Pull): %w", len(batch), c.service, err)
	}
	return res, nil
}

// settleArgs returns the settle script's ARGV for a batch: the common
// arguments, the batch (its header, the range of entries of each stream in
// it, then the ops), then the envelopes the ops publish.
func (c *Consumer) settleArgs(batch []*flight, held int) []any {
	type span struct {
		stream      int
		first, last string
	}
	var spans []span
	for _, f := range batch {
		i := slices.IndexFunc(spans, func(s span) bool { return s.stream == f.stream })
		switch {
		case i < 0:
			spans = append(spans, span{f.stream, f.id, f.id})
		case lessID(f.id, spans[i].first):
			spans[i].first = f.id
		case lessID(spans[i].last, f.id):
			spans[i].last = f.id
		}
	}
	size, nenvs := 8, 0
	for _, f := range batch {
		size += 16 + len(f.op.entry.id) + len(f.op.reason) + len(f.op.detail) + 6*len(f.op.emits)
		nenvs += len(f.op.emits)
	}
	packed := make([]byte, 0, size+len(spans)*48)
	packed = binary.BigEndian.AppendUint16(packed, uint16(len(spans)))
	packed = binary.BigEndian.AppendUint16(packed, uint16(len(batch)))
	packed = binary.BigEndian.AppendUint32(packed, uint32(held))
	for _, s := range spans {
		packed = binary.BigEndian.AppendUint16(packed, uint16(s.stream))
		packed = appendStr8(appendStr8(packed, s.first), s.last)
	}
	args := c.argv(nil) // ARGV[4] is the batch, set below
	args = slices.Grow(args, nenvs)
	for _, f := range batch {
		packed = f.op.append(packed, &args, 1)
	}
	args[3] = string(packed)
	return args
}

func (c *Consumer) runSettle(ctx context.Context, keys []string, batch []*flight, held int) ([]int64, error) {
	res, err := settleScript.Run(ctx, c.b.client, keys, c.settleArgs(batch, held)...).Int64Slice()
	if err == nil {
		err = checkResults(res, batch)
	}
	return res, err
}

func checkResults(res []int64, batch []*flight) error {
	if len(res) != len(batch) {
		return fmt.Errorf("redisstream: the settle script returned %d results for %d entries", len(res), len(batch))
	}
	return nil
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
			log.LogAttrs(ctx, slog.LevelWarn, "redisstream: the entry was no longer this consumer's when it was settled: another consumer reclaimed it (and handles it again), or an earlier attempt of this settle was written though its reply was lost; what its handling emitted now is dropped",
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
