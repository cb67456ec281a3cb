package baseline

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// EntryField is the one field of a stream entry: the event's JSON envelope.
const EntryField = "event"

// Envelope is an event as it travels through Redis: the same keys as
// NecroStack's JSON envelope. The payload stays raw until the switch knows
// its type.
type Envelope struct {
	ID            string          `json:"id"`
	Timestamp     time.Time       `json:"timestamp"`
	EventType     string          `json:"event_type"`
	Payload       json.RawMessage `json:"payload"`
	CausationID   string          `json:"causation_id,omitempty"`
	CorrelationID string          `json:"correlation_id,omitempty"`
}

// outEnvelope is an envelope to encode: the payload is the typed value,
// encoded in the same json.Marshal call.
type outEnvelope struct {
	ID            string    `json:"id"`
	Timestamp     time.Time `json:"timestamp"`
	EventType     string    `json:"event_type"`
	Payload       any       `json:"payload"`
	CausationID   string    `json:"causation_id,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
}

// newID returns a UUIDv7-shaped id, in text: 48 bits of Unix milliseconds
// then random bits from math/rand/v2.
func newID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16|rand.Uint64()&0xffff)
	b[6] = 0x70 | b[6]&0x0f // version 7
	b[8] = 0x80 | b[8]&0x3f // RFC 4122 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Encode returns the JSON envelope of a new event of eventType carrying
// payload: a fresh id, the current UTC time, and, when parent is not nil,
// its causation (the parent's id) and correlation (the chain's first id).
func Encode(eventType string, payload any, parent *Envelope) ([]byte, error) {
	now := time.Now().UTC()
	env := outEnvelope{ID: newID(now), Timestamp: now, EventType: eventType, Payload: payload}
	if parent != nil {
		env.CausationID = parent.ID
		env.CorrelationID = parent.CorrelationID
		if env.CorrelationID == "" {
			env.CorrelationID = parent.ID
		}
	}
	return json.Marshal(&env)
}

// HandleJSON decodes the payload of in by a switch on its type, calls the
// organ, and returns what it emitted: its type and typed payload.
func (c *Chain) HandleJSON(ctx context.Context, in *Envelope) (childType string, child any, err error) {
	switch in.EventType {
	case TypeSummonRitual:
		var p SummonRitual
		if err := json.Unmarshal(in.Payload, &p); err != nil {
			return "", nil, err
		}
		r, err := SummonSpirit(ctx, p)
		return TypeSpiritAppeared, r, err
	case TypeSpiritAppeared:
		var p SpiritAppeared
		if err := json.Unmarshal(in.Payload, &p); err != nil {
			return "", nil, err
		}
		r, err := c.Oracle.AskQuestion(ctx, p)
		return TypeAnswerGenerated, r, err
	case TypeAnswerGenerated:
		var p AnswerGenerated
		if err := json.Unmarshal(in.Payload, &p); err != nil {
			return "", nil, err
		}
		r, err := InterpretResponse(ctx, p)
		return TypeOmenRevealed, r, err
	case TypeOmenRevealed:
		var p OmenRevealed
		if err := json.Unmarshal(in.Payload, &p); err != nil {
			return "", nil, err
		}
		return "", nil, c.Sink.ManifestEffect(ctx, p)
	}
	return "", nil, fmt.Errorf("no organ listens to %q", in.EventType)
}

// RedisLayout names the streams and the group: one stream per event type,
// "{prefix}:TYPE", and one consumer group on each.
type RedisLayout struct {
	Streams [len(Types)]string // in the order of Types
	Group   string
}

// NewRedisLayout returns the layout of the chain under prefix.
func NewRedisLayout(prefix, group string) RedisLayout {
	l := RedisLayout{Group: group}
	for i, t := range Types {
		l.Streams[i] = "{" + prefix + "}:" + t
	}
	return l
}

// Stream returns the stream of an event type.
func (l *RedisLayout) Stream(eventType string) string {
	for i, t := range Types {
		if t == eventType {
			return l.Streams[i]
		}
	}
	return ""
}

// Setup creates the group on every stream, at its newest entry.
func (l *RedisLayout) Setup(ctx context.Context, client *redis.Client) error {
	for _, s := range l.Streams {
		if err := client.XGroupCreateMkStream(ctx, s, l.Group, "$").Err(); err != nil {
			return fmt.Errorf("create group %s on %s: %w", l.Group, s, err)
		}
	}
	return nil
}

// Publish writes one root per ritual in one pipeline, an XADD each.
func (l *RedisLayout) Publish(ctx context.Context, client *redis.Client, rituals []SummonRitual) error {
	pipe := client.Pipeline()
	for _, r := range rituals {
		data, err := Encode(TypeSummonRitual, r, nil)
		if err != nil {
			return err
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: l.Streams[0], Values: []any{EntryField, data}})
	}
	_, err := pipe.Exec(ctx)
	return err
}

// RedisWorker is one consumer of the group: what one goroutine of a
// hand-written service runs. Several workers are several consumers of the
// group (own names), each with its own loop; they share the client's
// connection pool and the Chain.
type RedisWorker struct {
	client *redis.Client
	layout *RedisLayout
	chain  *Chain
	read   redis.XReadGroupArgs
	pipe   redis.Pipeliner
	ids    []string
}

// NewRedisWorker returns consumer name of the group. One XREADGROUP reads
// all four streams, at most max(batch/4, 1) entries from each (so at most
// batch in all, as NecroStack's reads), blocking up to block for the first
// (no BLOCK when block is negative).
func NewRedisWorker(client *redis.Client, layout *RedisLayout, name string, batch int, block time.Duration, c *Chain) *RedisWorker {
	streams := make([]string, 0, 2*len(layout.Streams))
	streams = append(streams, layout.Streams[:]...)
	for range layout.Streams {
		streams = append(streams, ">")
	}
	return &RedisWorker{
		client: client,
		layout: layout,
		chain:  c,
		read: redis.XReadGroupArgs{
			Group:    layout.Group,
			Consumer: name,
			Streams:  streams,
			Count:    int64(max(batch/len(layout.Streams), 1)),
			Block:    block,
		},
		pipe: client.Pipeline(),
	}
}

// Step reads one batch and handles it: for each entry, decode the envelope,
// run the organ, encode what it emitted; then one pipeline with an XADD per
// emitted event and an XACK per stream. It returns how many entries it
// handled and acknowledged (0: the read found none). On an error it stops:
// the entries of the batch stay pending (no retry, no dead letter).
func (w *RedisWorker) Step(ctx context.Context) (int, error) {
	res, err := w.client.XReadGroup(ctx, &w.read).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range res {
		if len(s.Messages) == 0 {
			continue
		}
		w.ids = w.ids[:0]
		for _, m := range s.Messages {
			data, ok := m.Values[EntryField].(string)
			if !ok {
				return 0, fmt.Errorf("entry %s of %s has no field %q", m.ID, s.Stream, EntryField)
			}
			var in Envelope
			if err := json.Unmarshal([]byte(data), &in); err != nil {
				return 0, fmt.Errorf("entry %s of %s: %w", m.ID, s.Stream, err)
			}
			childType, child, err := w.chain.HandleJSON(ctx, &in)
			if err != nil {
				return 0, fmt.Errorf("entry %s of %s: %w", m.ID, s.Stream, err)
			}
			if childType != "" {
				enc, err := Encode(childType, child, &in)
				if err != nil {
					return 0, err
				}
				w.pipe.XAdd(ctx, &redis.XAddArgs{Stream: w.layout.Stream(childType), Values: []any{EntryField, enc}})
			}
			w.ids = append(w.ids, m.ID)
		}
		w.pipe.XAck(ctx, s.Stream, w.layout.Group, w.ids...)
		n += len(w.ids)
	}
	if n == 0 {
		return 0, nil
	}
	if _, err := w.pipe.Exec(ctx); err != nil {
		return 0, err
	}
	return n, nil
}
