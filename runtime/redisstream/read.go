package redisstream

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// blockingReader runs XREADGROUP … BLOCK on a connection of its own, so that
// a cancelled context can end the block at once with CLIENT UNBLOCK (go-redis
// does not interrupt a blocked read when its context is cancelled). With a
// client it cannot pin a connection of (a Ring, say), it reads through the
// pool and a block lasts its course.
type blockingReader struct {
	client redis.UniversalClient
	key    string // a key of the bus: a cluster's node for it serves the reads

	mu   sync.Mutex
	node *redis.Client // the client the pinned connection came from
	conn *redis.Conn
	id   int64 // the connection's CLIENT ID
}

func newBlockingReader(client redis.UniversalClient, key string) blockingReader {
	return blockingReader{client: client, key: key}
}

// pin returns the pinned connection and its id, opening it when needed, or
// nil when this client cannot pin one.
func (r *blockingReader) pin(ctx context.Context) (*redis.Conn, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		return r.conn, r.id
	}
	var node *redis.Client
	switch c := r.client.(type) {
	case *redis.Client:
		node = c
	case *redis.ClusterClient:
		n, err := c.MasterForKey(ctx, r.key)
		if err != nil {
			return nil, 0
		}
		node = n
	default:
		return nil, 0
	}
	conn := node.Conn()
	id, err := conn.ClientID(ctx).Result()
	if err != nil {
		conn.Close()
		return nil, 0
	}
	r.node, r.conn, r.id = node, conn, id
	return conn, id
}

// read runs XREADGROUP; cancelling ctx ends a blocked read at once, with no
// entries.
func (r *blockingReader) read(ctx context.Context, args *redis.XReadGroupArgs) ([]redis.XStream, error) {
	if args.Block < 0 {
		return r.client.XReadGroup(ctx, args).Result()
	}
	conn, id := r.pin(ctx)
	if conn == nil {
		return r.client.XReadGroup(ctx, args).Result()
	}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		// Unblock until the read has returned: the first UNBLOCK may land
		// before the read was sent.
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			r.unblock(id)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	res, err := conn.XReadGroup(context.WithoutCancel(ctx), args).Result()
	close(done)
	stop()
	if err != nil && !errors.Is(err, redis.Nil) && !isNoGroup(err) {
		r.drop() // the connection may be broken: open a new one next time
	}
	if ctx.Err() != nil && errors.Is(err, redis.Nil) {
		err = nil
	}
	return res, err
}

// unblock ends a blocked read on connection id.
func (r *blockingReader) unblock(id int64) {
	r.mu.Lock()
	node := r.node
	r.mu.Unlock()
	if node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	node.ClientUnblock(ctx, id)
}

// drop closes the pinned connection.
func (r *blockingReader) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil {
		r.conn.Close()
		r.conn, r.node, r.id = nil, nil, 0
	}
}
