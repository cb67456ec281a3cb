package redisstream

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/runtime"
)

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

// Enqueue publishes events to their topics in order, in one round trip. A
// failed Enqueue may have written some of them; retrying may write those
// twice (producers are at-least-once). An event that cannot be encoded is an
// error, and then nothing is written.
func (b *Backend) Enqueue(ctx context.Context, events ...runtime.Event) error {
	if b.isClosed() {
		return fmt.Errorf("redisstream: enqueue on bus %s: %w", b.cfg.bus, ErrClosed)
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
	var fresh []any
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		fresh = b.register(ctx, p, events)
		for i, e := range encoded {
			p.XAdd(ctx, &redis.XAddArgs{Stream: b.TopicKey(events[i].Type), Values: []any{entryField, e}})
		}
		return nil
	})
	if err != nil {
		b.unregister(fresh)
		return fmt.Errorf("redisstream: enqueue %d events on bus %s: %w", len(events), b.cfg.bus, err)
	}
	return nil
}

// register adds the topics of events that this process has not seen yet to
// the bus's topics set, which trimming and the operations tools read.
// It returns the topics it added, for unregister when the write fails.
func (b *Backend) register(ctx context.Context, c redis.Cmdable, events []runtime.Event) []any {
	var fresh []any
	for i := range events {
		if _, known := b.registered.LoadOrStore(events[i].Type, true); !known {
			fresh = append(fresh, events[i].Type)
		}
	}
	if len(fresh) > 0 {
		c.SAdd(ctx, b.TopicsKey(), fresh...)
	}
	return fresh
}

// unregister forgets topics whose registration may not have been written.
func (b *Backend) unregister(topics []any) {
	for _, t := range topics {
		b.registered.Delete(t)
	}
}
