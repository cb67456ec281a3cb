// Package redisstream is the Redis Streams backend of NecroStack: the way an
// app outgrows one process and one machine. Every process of an app joins
// one consumer group on one stream; Redis hands each entry to one of them.
// It is the only package of NecroStack that links github.com/redis/go-redis/v9.
//
// # Guarantees
//
//   - Handlers run at least once per event. An event whose consumer dies is
//     reclaimed by another after the claim idle timeout (XAUTOCLAIM); a
//     consumer restarted under the same name takes its own back at once.
//   - The events a handler emits are written exactly once for an
//     acknowledged input: they are added and the input acknowledged in one
//     Lua script, which first checks that the input is still pending for
//     this consumer. A consumer whose entry was reclaimed emits nothing.
//   - Nothing is dropped without a dead letter: an entry that cannot be
//     decoded, is too large, has an event type no organ listens to, has a
//     payload that does not fit its organ, or failed WithMaxDeliveries times
//     is copied to the dead-letter stream, with why and how often it was
//     delivered, in the same script as its ack. Dead letters are never trimmed.
//   - A failed event is retried after a capped, jittered backoff, by
//     redelivery; other events flow meanwhile.
//   - Redis going away is retried with backoff (the Runner retries Pull; a
//     failed ack is written again with the next Pull); a consumer group that
//     vanished (a restart without persistence) is created again, loudly.
//
// # Stream layout
//
// For the app "seance" (WithApp), in one Redis Cluster hash slot:
//
//	{seance}:events   the stream; each entry has one field, "event": the JSON envelope
//	{seance}:dead     dead letters: reason, detail, deliveries, original_id, group,
//	                  consumer, and the original entry's fields as original:<field>
//
// The consumer group is "necro" (WithGroup). To look inside:
//
//	redis-cli XINFO GROUPS '{seance}:events'
//	redis-cli XPENDING '{seance}:events' necro
//	redis-cli XRANGE '{seance}:dead' - +
//
// # Batching
//
// One XREADGROUP fetches up to WithBatchSize entries; Pull hands them out one
// at a time. Acknowledgements are batched too: they are written, in one
// script call, when the fetched entries are all handed out (before the next
// read), when WithBatchSize of them wait, on Nack, and at Close. So a crash
// loses no acknowledgement that was written, and an acknowledgement not yet
// written means its input is handled again.
package redisstream
