package redisstream

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Close leaves the bus: it writes the settles still waiting, then hands
// every entry this consumer still holds — fetched and not handed out, or
// handed out and never settled — to the other consumers of the service,
// reclaimable at once, and removes this consumer from the service's groups.
// Close is safe to call more than once.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.stopFresh()
		<-c.freshDone
		c.readMu.Lock() // a fetch in progress ends: closeAware cancels it
		c.reader.drop()
		c.readMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if err := c.flush(ctx); err != nil {
			errs = append(errs, err)
		}
		for i := range c.names {
			err := leaveScript.Run(ctx, c.b.client, c.keys, c.argv(firstStream+i, releasedConsumer, c.b.cfg.claimIdle.Milliseconds())...).Err()
			if err != nil {
				errs = append(errs, fmt.Errorf("redisstream: hand back the entries of %s and leave the group of service %s (another consumer reclaims them after the claim idle timeout instead): %w",
					c.names[i], c.service, err))
			}
		}
		c.mu.Lock()
		clear(c.local)
		clear(c.out)
		c.buf = nil
		c.mu.Unlock()
		c.b.mu.Lock()
		delete(c.b.consumers, c)
		c.b.mu.Unlock()
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}
