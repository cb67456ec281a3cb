// Package redisstream is the Redis Streams backend of NecroStack: a bus that
// services in many processes on many machines share. Every event type is a
// topic, a stream of its own; every service is a consumer group on each
// topic it handles, so that every service gets every event of its topics
// (fan-out) and the replicas of one service compete for them. It is the only
// package of NecroStack that links github.com/redis/go-redis/v9.
//
// # Guarantees
//
//   - Handlers run at least once per event and service. An event whose
//     consumer dies is reclaimed by another replica after the claim idle
//     timeout (XAUTOCLAIM); a consumer restarted under the same name takes
//     its own back at once. Every entry a live consumer holds — fetched,
//     being handled, or waiting for a retry — is kept fresh, so it is not
//     reclaimed from under it; after an outage a consumer refreshes what it
//     holds before it claims anyone else's.
//   - The events a handler emits are written exactly once for an
//     acknowledged input: they are added to their topics and the input
//     acknowledged in one Lua script, which first checks that the input is
//     still pending for this consumer. A consumer whose entry was reclaimed
//     emits nothing.
//   - Nothing is dropped without a dead letter: an entry that cannot be
//     decoded, is too large, sits in the wrong topic, has a payload that
//     does not fit its organ, or failed WithMaxDeliveries times is copied to
//     its service's dead letters, with why and how often it was delivered, in
//     the same script as its ack. What the organs that succeeded emitted is
//     published with the dead letter. Dead letters are never trimmed.
//   - A failed event is retried after a capped, jittered backoff, by
//     redelivery; other events flow meanwhile.
//   - Redis going away is retried with backoff; a consumer group that
//     vanished is created again, loudly, where the service last settled
//     (never at the start of the topic, which would replay it).
//   - Stop and Close end a blocked read at once; Close hands every entry
//     the consumer still holds to the other replicas, reclaimable at once.
//
// # Layout
//
// For the bus "shop" (WithBus), every key in one Redis Cluster hash slot:
//
//	{shop}:t:ORDER_PLACED      a topic: entries with one field, "event", the JSON envelope
//	{shop}:topics              the set of the bus's topics
//	{shop}:dead:payments       the dead letters of service payments: reason, detail,
//	                           deliveries, topic, original_id, service, consumer, and the
//	                           original entry's fields as original:<field>
//	{shop}:settled:payments    where service payments last settled, per topic
//
// Service payments is the consumer group "payments" on each topic it
// handles. To look inside:
//
//	redis-cli XINFO GROUPS '{shop}:t:ORDER_PLACED'
//	redis-cli XPENDING '{shop}:t:ORDER_PLACED' payments
//	redis-cli XRANGE '{shop}:dead:payments' - +
//
// # Batching
//
// One XREADGROUP over all of a service's topics fetches up to WithBatchSize
// entries; Pull hands them out. Settles are batched too: they are written,
// in one script call, when the fetched entries are all handed out (before
// the next read), when WithBatchSize of them wait, on Nack, and at Close. So
// a crash loses no settle that was written, and a settle not yet written
// means its input is handled again.
package redisstream
