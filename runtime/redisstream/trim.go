package redisstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Trim trims every topic of the bus, and every service's inbox: a topic with consumer groups loses the
// entries every group is done with — everything below both each group's
// oldest pending entry and its last delivered one — and never an entry
// still to be handled; a topic with no group keeps the retention
// (WithRetention). Dead letters are never trimmed. It returns how many
// entries it removed.
func (b *Backend) Trim(ctx context.Context) (int64, error) {
	topics, err := b.client.SMembers(ctx, b.TopicsKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstream: list the topics of bus %s: %w", b.cfg.bus, err)
	}
	services, err := b.client.SMembers(ctx, b.ServicesKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstream: list the services of bus %s: %w", b.cfg.bus, err)
	}
	keys := make([]string, 0, len(topics)+len(services))
	for _, t := range topics {
		keys = append(keys, b.TopicKey(t))
	}
	for _, s := range services {
		keys = append(keys, b.InboxKey(s))
	}
	minID := "0"
	if b.cfg.retainAge > 0 {
		minID = strconv.FormatInt(time.Now().Add(-b.cfg.retainAge).UnixMilli(), 10) + "-0"
	}
	retain := b.cfg.retainLen
	var total int64
	var errs []error
	for _, key := range keys {
		n, err := trimScript.Run(ctx, b.client, []string{key}, retain, minID).Int64()
		if err != nil {
			errs = append(errs, fmt.Errorf("trim %s: %w", key, err))
			continue
		}
		total += n
	}
	if len(errs) > 0 {
		return total, fmt.Errorf("redisstream: %w", errors.Join(errs...))
	}
	return total, nil
}

// trimIfLeased trims when no other process of the bus has in the last
// interval: the lease key says who did.
func (b *Backend) trimIfLeased(ctx context.Context, interval time.Duration) error {
	ok, err := b.client.SetNX(ctx, b.tag+":trim-lease", b.cfg.consumer, interval).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if !ok {
		return nil
	}
	_, err = b.Trim(ctx)
	return err
}
