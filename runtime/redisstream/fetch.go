package redisstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/runtime"
)

// Pull hands out up to max events: from what the last read fetched, or,
// when that is all handed out, after writing the settles waiting: this
// consumer's own pending entries (at start), failed entries whose retry is
// due, entries of other consumers idle past the claim timeout (XAUTOCLAIM),
// and new entries of the service's topics (one XREADGROUP … COUNT batch
// BLOCK ≤ timeout over all of them).
func (c *Consumer) Pull(ctx context.Context, dst []runtime.Delivery, maxEvents int, timeout time.Duration) ([]runtime.Delivery, error) {
	if c.isClosed() {
		return dst, c.errClosed("pull")
	}
	if maxEvents < 1 {
		return dst, nil
	}
	deadline := time.Now().Add(timeout)
	for {
		if n := len(dst); c.take(&dst, maxEvents) > n {
			return dst, nil
		}
		if c.isClosed() {
			return dst, c.errClosed("pull")
		}
		if ctx.Err() != nil {
			return dst, nil
		}
		wait := time.Until(deadline)
		if err := c.fetch(ctx, max(wait, 0)); err != nil {
			switch {
			case c.isClosed():
				return dst, c.errClosed("pull")
			case ctx.Err() != nil:
				return dst, nil
			}
			return dst, err
		}
		if n := len(dst); c.take(&dst, maxEvents) > n || wait <= 0 {
			return dst, nil
		}
	}
}

// take moves up to max fetched entries to dst as deliveries and returns the
// new length of dst.
func (c *Consumer) take(dst *[]runtime.Delivery, max int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(max, len(c.buf))
	for _, f := range c.buf[:n] {
		f.tag = c.nextTag
		c.nextTag++
		c.out[f.tag] = f
		*dst = append(*dst, runtime.Delivery{Event: f.ev, Attempt: int(f.deliveries), Tag: f.tag})
	}
	clear(c.buf[:n])
	c.buf = c.buf[n:]
	return len(*dst)
}

func (c *Consumer) buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// fetch fills the buffer, blocking up to wait for new entries when there is
// nothing else to hand out, and writes the settles waiting.
func (c *Consumer) fetch(ctx context.Context, wait time.Duration) error {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	return c.fetchLocked(ctx, wait)
}

// fetchLocked is fetch with readMu held. The settles waiting travel in the
// same round trip as a first read that does not block (the script runs
// first, so the read sees what they emitted); only when that read finds
// nothing does a second one block, up to wait.
func (c *Consumer) fetchLocked(ctx context.Context, wait time.Duration) error {
	if c.buffered() > 0 {
		return c.flush(ctx)
	}
	ctx, cancel := c.closeAware(ctx)
	defer cancel()
	if err := c.claimAll(ctx); err != nil {
		return c.failed(ctx, err)
	}
	if c.buffered() > 0 {
		return c.flush(ctx)
	}
	args := c.readArgs()
	res, err := c.settleAndRead(ctx, args)
	if err == nil && len(res) == 0 {
		err = c.flush(ctx) // what did not fit in the first settle batch
	}
	if err == nil && len(res) == 0 && wait > 0 {
		block := min(wait, c.b.cfg.block)
		if due, ok := c.nextRetry(); ok {
			block = min(block, max(time.Until(due), 0))
		}
		if block > 0 {
			args.Block = max(block, time.Millisecond)
			res, err = c.reader.read(ctx, args)
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return c.failed(ctx, err)
	}
	if c.admit(ctx, c.entries(res)) {
		return c.flush(ctx)
	}
	return nil
}

// readArgs returns a read of every stream of the service that does not block.
func (c *Consumer) readArgs() *redis.XReadGroupArgs {
	streams := make([]string, 0, 2*len(c.names))
	streams = append(streams, c.keys[firstStream-1:]...)
	for range c.names {
		streams = append(streams, ">")
	}
	return &redis.XReadGroupArgs{
		Group:    c.service,
		Consumer: c.name,
		Streams:  streams,
		Count:    int64(max(c.b.cfg.batchSize/len(c.names), 1)),
		Block:    -1, // no BLOCK: return at once
	}
}

// entries turns a read's reply into entries, in the order they were added
// across topics, as near as their ids tell.
func (c *Consumer) entries(res []redis.XStream) []rawEntry {
	var entries []rawEntry
	for _, s := range res {
		for _, m := range s.Messages {
			fields := make([]any, 0, 2*len(m.Values))
			for k, v := range m.Values {
				fields = append(fields, k, v)
			}
			entries = append(entries, rawEntry{entryRef: entryRef{c.streams[s.Stream], m.ID}, fields: fields, deliveries: 1})
		}
	}
	if len(res) > 1 {
		slices.SortStableFunc(entries, func(a, b rawEntry) int {
			switch {
			case lessID(a.id, b.id):
				return -1
			case lessID(b.id, a.id):
				return 1
			}
			return 0
		})
	}
	return entries
}

// settleAndRead writes up to one batch of the settles waiting and reads, in
// one pipeline. A read that succeeds is returned even when the settle
// failed: those settles stay waiting, and what was read is this consumer's.
func (c *Consumer) settleAndRead(ctx context.Context, args *redis.XReadGroupArgs) ([]redis.XStream, error) {
	c.settleMu.Lock()
	defer c.settleMu.Unlock()
	batch, keys, held := c.nextBatch()
	if len(batch) == 0 {
		res, err := c.b.client.XReadGroup(ctx, args).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			err = fmt.Errorf("redisstream: read the topics of service %s as %s: %w", c.service, c.name, err)
		}
		return res, err
	}
	var settle *redis.Cmd
	var read *redis.XStreamSliceCmd
	_, _ = c.b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		settle = settleScript.EvalSha(ctx, p, keys, c.settleArgs(batch, held)...)
		read = p.XReadGroup(ctx, args)
		return nil
	})
	res, err := settle.Int64Slice()
	if err != nil && (strings.HasPrefix(err.Error(), "NOSCRIPT") || isNoGroup(err)) {
		res, err = c.writeBatch(ctx, keys, batch, held) // loads the script, or recreates the groups
	} else if err == nil {
		err = checkResults(res, batch)
	}
	if err != nil {
		c.failed(ctx, err)
	} else {
		c.done(ctx, batch, res)
	}
	rres, rerr := read.Result()
	if rerr != nil && !errors.Is(rerr, redis.Nil) {
		return nil, fmt.Errorf("redisstream: read the topics of service %s as %s: %w", c.service, c.name, rerr)
	}
	return rres, nil
}

// closeAware returns a context that also ends when the consumer closes.
func (c *Consumer) closeAware(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-c.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// failed notes a failed Redis call: a NOGROUP recreates the service's
// groups; any failure makes the next fetch refresh this consumer's entries
// before it claims anyone else's.
func (c *Consumer) failed(ctx context.Context, err error) error {
	if isNoGroup(err) {
		if rerr := c.recoverGroups(ctx, err); rerr != nil {
			err = errors.Join(err, rerr)
		} else {
			return nil
		}
	}
	if ctx.Err() == nil {
		c.mu.Lock()
		c.outage = true
		c.mu.Unlock()
	}
	return err
}

// claimAll runs the claims that are due: after an outage, refresh what this
// consumer holds first; then own pending entries at start, due retries, idle
// entries of other consumers, the expiry of silent consumers, and the trim.
func (c *Consumer) claimAll(ctx context.Context) error {
	c.mu.Lock()
	outage, regrouped := c.outage, c.regrouped
	c.regrouped = false
	c.mu.Unlock()
	if regrouped {
		c.drained = false
		clear(c.cursors)
	}
	if outage {
		if err := c.refresh(ctx); err != nil {
			return err
		}
		c.mu.Lock()
		c.outage = false
		// Other consumers are refreshing theirs: give them the time a live
		// consumer takes to refresh what it holds before taking entries that
		// look abandoned — a claim idle time, and no less than the few
		// seconds a reconnect can take (go-redis retries a command with
		// backoff before it reports a failure).
		c.claimAfter = time.Now().Add(max(c.b.cfg.claimIdle, outageGrace))
		c.mu.Unlock()
		// A read whose reply the outage lost left entries pending for this
		// consumer that it never saw: take them now, before anyone else.
		c.drained = false
		c.log().LogAttrs(ctx, slog.LevelInfo, "redisstream: Redis is back; refreshed the entries this consumer holds",
			slog.String("service", c.service))
	}
	if !c.drained {
		if err := c.drain(ctx); err != nil {
			return err
		}
		c.drained = true
	}
	if err := c.claimRetries(ctx); err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	claimAfter := c.claimAfter
	c.mu.Unlock()
	if now.After(c.nextIdle) && now.After(claimAfter) {
		if err := c.claimIdle(ctx, now); err != nil {
			return err
		}
	}
	if c.b.cfg.trimEvery > 0 && now.After(c.nextTrim) {
		c.nextTrim = now.Add(c.b.cfg.trimEvery)
		if err := c.b.trimIfLeased(ctx, c.b.cfg.trimEvery); err != nil && ctx.Err() == nil {
			c.log().LogAttrs(ctx, slog.LevelWarn, "redisstream: trim failed", slog.String("error", err.Error()))
		}
	}
	return nil
}

// drain takes back the entries pending for this consumer that it does not
// hold: what its previous life left (a restarted process with a stable
// name), or what a read whose reply was lost delivered to it.
func (c *Consumer) drain(ctx context.Context) error {
	for i := range c.names {
		stream := firstStream + i
		after := "-"
		for {
			p, err := c.b.client.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: c.stream(stream), Group: c.service, Start: after, End: "+",
				Count: int64(c.b.cfg.batchSize), Consumer: c.name,
			}).Result()
			if err != nil {
				return fmt.Errorf("redisstream: list the entries %s holds in %s: %w", c.name, c.stream(stream), err)
			}
			args := []any{stream}
			c.mu.Lock()
			for _, e := range p {
				if _, held := c.local[entryRef{stream, e.ID}]; !held {
					args = append(args, e.ID)
				}
			}
			c.mu.Unlock()
			if len(args) > 1 {
				if _, err := c.claimAs(ctx, true, claimIDsScript, args...); err != nil {
					return err
				}
			}
			if len(p) < c.b.cfg.batchSize {
				return nil
			}
			after = "(" + p[len(p)-1].ID
		}
	}
	return nil
}

// outageGrace is the shortest wait, after an outage, before a consumer
// claims entries that look abandoned.
const outageGrace = 3 * time.Second

// claimIdle takes a batch of idle entries per topic (XAUTOCLAIM). At the end
// of a full pass over a topic it removes the silent consumers of its group.
func (c *Consumer) claimIdle(ctx context.Context, now time.Time) error {
	done := 0
	for i := range c.names {
		cursor := c.cursors[i]
		if cursor == "" {
			cursor = "0-0"
		}
		next, err := c.claim(ctx, claimIdleScript, firstStream+i, c.b.cfg.claimIdle.Milliseconds(), cursor, c.b.cfg.batchSize)
		if err != nil {
			return err
		}
		c.cursors[i] = next
		if next == "" {
			done++
			n, err := expireScript.Run(ctx, c.b.client, c.keys, c.argv(firstStream+i, c.b.cfg.consumerExpiry.Milliseconds())...).Int64()
			if err != nil {
				return err
			}
			if n > 0 {
				c.b.stats.expired.Add(n)
				c.log().LogAttrs(ctx, slog.LevelInfo, "redisstream: removed silent consumers holding nothing from a group",
					slog.String("service", c.service), slog.String("topic", c.names[i]), slog.Int64("consumers", n))
			}
		}
	}
	if done == len(c.names) {
		// A full pass over every topic's pending entries: look again in a while.
		c.nextIdle = now.Add(c.b.cfg.claimIdle / 2)
	}
	return nil
}

// claimRetries takes back the failed entries whose retry is due, counting a
// delivery for each. An entry that is no longer this consumer's (reclaimed,
// or dead-lettered at its last delivery) is forgotten.
func (c *Consumer) claimRetries(ctx context.Context) error {
	for stream, ids := range c.dueRetries() {
		args := make([]any, 0, 1+len(ids))
		args = append(args, stream)
		for _, id := range ids {
			args = append(args, id)
		}
		res, err := claimIDsScript.Run(ctx, c.b.client, c.keys, c.argv(args...)...).Slice()
		if err != nil {
			c.requeueRetries(stream, ids)
			return fmt.Errorf("redisstream: take back %d entries of %s to retry them: %w", len(ids), c.stream(stream), err)
		}
		reply, err := parseClaim(stream, res)
		if err != nil {
			return err
		}
		c.b.stats.dead.Add(reply.dead)
		taken := map[string]int64{}
		for _, e := range reply.entries {
			taken[e.id] = e.deliveries
		}
		c.mu.Lock()
		for _, id := range ids {
			ref := entryRef{stream, id}
			f := c.local[ref]
			if f == nil {
				continue
			}
			d, ok := taken[id]
			if !ok {
				delete(c.local, ref)
				continue
			}
			f.retryDue, f.deliveries, f.op, f.queued = time.Time{}, d, nil, false
			c.buf = append(c.buf, f)
		}
		c.mu.Unlock()
	}
	return nil
}

// argv returns the common script arguments followed by args.
func (c *Consumer) argv(args ...any) []any {
	return append([]any{c.service, c.name, c.b.cfg.maxDeliveries}, args...)
}

// rawEntry is an entry as Redis returned it, before decoding.
type rawEntry struct {
	entryRef
	fields     []any
	deliveries int64
	own        bool // pending for this consumer, which did not know it (drain)
}

// claim runs a claim script on the topic args[0] and admits what it takes;
// it returns the script's cursor, "" when the pass is done.
func (c *Consumer) claim(ctx context.Context, script *redis.Script, args ...any) (string, error) {
	return c.claimAs(ctx, false, script, args...)
}

// claimAs is claim; own says the entries were this consumer's already.
func (c *Consumer) claimAs(ctx context.Context, own bool, script *redis.Script, args ...any) (string, error) {
	res, err := script.Run(ctx, c.b.client, c.keys, c.argv(args...)...).Slice()
	if err != nil {
		return "", fmt.Errorf("redisstream: claim entries of %s for service %s: %w", c.stream(args[0].(int)), c.service, err)
	}
	reply, err := parseClaim(args[0].(int), res)
	if err != nil {
		return "", err
	}
	if reply.dead > 0 {
		c.b.stats.dead.Add(reply.dead)
		c.log().LogAttrs(ctx, slog.LevelWarn, "redisstream: entries delivered too often were dead-lettered",
			slog.String("service", c.service), slog.Int64("entries", reply.dead),
			slog.Int("max_deliveries", c.b.cfg.maxDeliveries), slog.String("dead_letters", c.keys[keyDead-1]))
	}
	for i := range reply.entries {
		reply.entries[i].own = own
	}
	if c.admit(ctx, reply.entries) {
		return reply.next, c.flush(ctx)
	}
	return reply.next, nil
}

// claimReply is what a claim script returns.
type claimReply struct {
	next    string // "" when done
	entries []rawEntry
	dead    int64
}

func parseClaim(stream int, res []any) (claimReply, error) {
	var r claimReply
	if len(res) != 3 {
		return r, fmt.Errorf("redisstream: claim: unexpected reply %v", res)
	}
	r.next, _ = res[0].(string)
	if r.next == "0-0" {
		r.next = ""
	}
	r.dead, _ = res[2].(int64)
	entries, _ := res[1].([]any)
	for _, e := range entries {
		triple, _ := e.([]any)
		if len(triple) != 3 {
			return r, fmt.Errorf("redisstream: claim: unexpected entry %v", e)
		}
		id, _ := triple[0].(string)
		fields, _ := triple[1].([]any)
		deliveries, _ := triple[2].(int64)
		r.entries = append(r.entries, rawEntry{entryRef: entryRef{stream, id}, fields: fields, deliveries: deliveries})
	}
	return r, nil
}

// admit decodes entries into the buffer, and queues the dead letters of
// those that cannot be decoded; it reports whether it queued any. An entry
// this consumer already holds is skipped; a retried one is taken back with
// its new delivery count.
func (c *Consumer) admit(ctx context.Context, entries []rawEntry) (dead bool) {
	if len(entries) == 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		if _, ok := c.local[e.entryRef]; ok {
			continue // fetched earlier and not settled yet
		}
		switch {
		case e.own:
			c.b.stats.recovered.Add(1)
		case e.deliveries > 1:
			c.b.stats.reclaimed.Add(1)
		}
		ev, reason, detail := c.decode(e)
		f := &flight{entryRef: e.entryRef, ev: ev, deliveries: e.deliveries}
		c.local[e.entryRef] = f
		if reason != "" {
			f.op = &settleOp{entry: e.entryRef, outcome: outcomeDead, reason: reason, detail: detail}
			f.queued = true
			c.pending = append(c.pending, f)
			dead = true
			continue
		}
		c.buf = append(c.buf, f)
	}
	return dead
}

// decode turns the fields of an entry into an event, or says why it cannot.
func (c *Consumer) decode(e rawEntry) (ev runtime.Event, reason, detail string) {
	fields := e.fields
	if len(fields) != 2 || fields[0] != entryField {
		names := make([]string, 0, len(fields)/2)
		for i := 0; i < len(fields); i += 2 {
			names = append(names, fmt.Sprint(fields[i]))
		}
		return ev, ReasonUndecodable, fmt.Sprintf("the entry has the fields %q; want exactly one field %q holding the JSON envelope", names, entryField)
	}
	data, _ := fields[1].(string)
	if len(data) > c.b.cfg.maxEventSize {
		return ev, ReasonTooLarge, fmt.Sprintf("the event is %d bytes, over the limit of %d (WithMaxEventSize)", len(data), c.b.cfg.maxEventSize)
	}
	ev, err := c.decoder.Decode([]byte(data))
	if err != nil {
		return ev, ReasonUndecodable, err.Error()
	}
	if i := e.stream - firstStream; i < len(c.topics) && ev.Type != c.topics[i] {
		return ev, ReasonUndecodable, fmt.Sprintf("the event has type %q but is in the topic of %q", ev.Type, c.topics[i])
	} else if i == len(c.topics) && !slices.Contains(c.topics, ev.Type) {
		return ev, ReasonUndecodable, fmt.Sprintf("the event in the inbox of service %s has type %q, which the service does not handle", c.service, ev.Type)
	}
	return ev, "", ""
}
