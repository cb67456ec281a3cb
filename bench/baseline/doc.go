// Package baseline is the hand-written code NecroStack's benchmarks compare
// against: the Séance-shaped four-stage chain of bench/chain —
// SUMMON_RITUAL → SPIRIT_APPEARED → ANSWER_GENERATED → OMEN_REVEALED — written
// the way a careful programmer would write it without a framework.
//
// It shares no code with NecroStack: it imports nothing from
// github.com/necrostack/necrostack (TestNoNecroStackDependency checks it with
// go list -deps). Its payload structs have the same fields as bench/chain's,
// and its organs compute the same values (bench's TestBaselineMatchesChain
// checks that), so both sides do the same work in the organs and move the
// same payloads.
//
// Memory (memory.go): an Event is {Type string; Payload any}; a Ring is a
// FIFO of them on a power-of-two circular buffer; Chain.Dispatch is a switch
// on the type with a type assertion and a direct call to the organ. Drain
// runs a ring until it is empty, on one goroutine, with no locks. For
// service mode a Queue is a Ring guarded by a sync.Mutex and a sync.Cond:
// Serve pops one event at a time and pushes what it emits; another goroutine
// pushes roots. It carries no ids, no timestamps, no causation, no
// acknowledgement and no recovery from panics.
//
// Redis (redis.go): one stream per event type and one consumer group, the
// same layout shape as NecroStack's topics; a RedisWorker is one consumer of
// the group: XREADGROUP over the four streams (COUNT batch/4 per stream, so
// that one read returns at most batch entries, as NecroStack's does), decode
// each entry's one field "event" with encoding/json into its own Envelope,
// decode the payload with encoding/json by a switch on the type, call the
// organ, encode the child's envelope with encoding/json, then one pipeline
// per batch: an XADD per child and an XACK per stream. It pays what an
// envelope costs — a UUIDv7-shaped id from math/rand/v2 and the clock,
// time.Now().UTC(), causation and correlation ids, RFC 3339 timestamps
// written and parsed by encoding/json — so its entries are the size of
// NecroStack's (≈ 300 bytes). It does not do what NecroStack's Redis backend
// does for reliability: no check that an entry is still this consumer's
// before acknowledging it (the XADDs and XACK are a pipeline, not an atomic
// script), no retries (a failing entry ends Step with an error), no dead
// letters, no claiming of other consumers' idle entries, no refreshing of
// idle times, no size limit, no strict decoding (unknown keys are ignored),
// no trimming.
package baseline
