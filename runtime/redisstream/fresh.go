package redisstream

import (
	"context"
	"log/slog"
	"time"
)

// keepFresh resets the idle time of every entry this consumer holds —
// fetched, being handled, or waiting for a retry — so that no other
// consumer reclaims it while this one lives. When Redis is unreachable it
// tries again soon, so that entries are refreshed first thing once it is
// back.
func (c *Consumer) keepFresh(ctx context.Context) {
	defer close(c.freshDone)
	every := c.b.cfg.claimIdle / 3
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := every
		if err := c.refresh(ctx); err != nil && ctx.Err() == nil {
			c.mu.Lock()
			c.outage = true
			c.mu.Unlock()
			c.log().LogAttrs(ctx, slog.LevelWarn, "redisstream: could not keep the entries this consumer holds fresh; if this lasts longer than the claim idle timeout, other consumers may reclaim them",
				slog.String("service", c.service), slog.String("error", err.Error()))
			next = min(every, 250*time.Millisecond)
		}
		t.Reset(next)
	}
}

// refresh touches every entry this consumer holds.
func (c *Consumer) refresh(ctx context.Context) error {
	c.mu.Lock()
	byStream := map[int][]string{}
	for ref := range c.local {
		byStream[ref.stream] = append(byStream[ref.stream], ref.id)
	}
	c.mu.Unlock()
	for stream, ids := range byStream {
		if err := c.touch(ctx, stream, ids, 0); err != nil {
			return err
		}
	}
	return nil
}

// touch sets the idle time of ids of a topic that are still pending for
// this consumer.
func (c *Consumer) touch(ctx context.Context, stream int, ids []string, idle time.Duration) error {
	const chunk = 500
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		argv := c.argv(stream, idle.Milliseconds())
		for _, id := range ids[:n] {
			argv = append(argv, id)
		}
		if err := touchScript.Run(ctx, c.b.client, c.keys, argv...).Err(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
