package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/bench/chain"
	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// redisRoots is the number of four-stage chains (SUMMON_RITUAL roots) one
// op of BenchmarkRedisChain runs: 4×redisRoots events are handled per op.
const redisRoots = 1000

const redisEventsPerOp = 4 * redisRoots

// redisBatch is the XREADGROUP COUNT of both implementations (the backend's
// default batch size).
const redisBatch = 100

// BenchmarkRedisChain runs the Séance chain end to end on one local
// redis-server, started once for both sub-benchmarks:
//
//   - impl=spine: the generated Spine of bench/chain, one worker, on a
//     runtime/redisstream backend (RunUntilIdle).
//   - impl=handwritten: a single-goroutine go-redis loop doing the same chain:
//     XREADGROUP COUNT 100, decode the "event" field with runtime.DecodeEvent
//     and runtime.Payload, call the organs of bench/chain in a switch, then one
//     pipeline with an XADD per child and one XACK for the batch.
//
// Each op enqueues redisRoots SUMMON_RITUAL roots with the timer stopped (a
// pipelined XADD of the same JSON envelopes for both), then, timed, handles
// every event until none is left: 4 events read and acknowledged and 3
// written per chain. ns/event, events/s and allocs/event count the 4 handled
// events per chain and only the timed part; so do client-cpu-ns/event (this
// process, all threads, from getrusage) and server-cpu-ns/event (redis-server,
// from INFO cpu), which split where the time goes and are steadier than wall
// time on a busy machine. After each op, with the timer
// stopped, the stream must hold exactly 4×redisRoots entries, none pending,
// no dead letters, and the sink must have seen every omen; the stream is then
// emptied (XTRIM MAXLEN 0), so the stream's length does not grow with b.N.
//
// Neither implementation blocks in XREADGROUP: RunUntilIdle with one worker
// pulls with a zero timeout, and the hand-written loop does the same, so the
// final empty read that ends each op costs one round trip in both.
func BenchmarkRedisChain(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	b.Run("impl=spine", func(b *testing.B) {
		client := srv.Client(b)
		backend, err := redisstream.New(ctx, client,
			redisstream.WithBus(redistest.App(b)),
			redisstream.WithConsumer("bench"),
			redisstream.WithBatchSize(redisBatch),
			redisstream.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		defer backend.Close()
		sink := &chain.Sink{}
		s := chain.NewSpine(backend, &chain.Oracle{}, sink, runtime.WithLogger(slog.New(slog.DiscardHandler)))
		var keys []string
		for _, r := range chain.Routes() {
			keys = append(keys, backend.TopicKey(r.EventType))
		}
		st := &redisStream{client: client, keys: keys, dead: backend.DeadLetterKey("chain"), group: "chain"}
		if err := s.Subscribe(ctx); err != nil {
			b.Fatal(err)
		}
		ops := measureRedis(b, st, sink,
			func(roots []runtime.Event) error { return backend.Enqueue(ctx, roots...) },
			func() error { return s.RunUntilIdle(ctx) })
		if got := backend.Stats(); got.Acked != int64(ops*redisEventsPerOp) || got.DeadLettered != 0 || got.Retried != 0 || got.Discarded != 0 {
			b.Fatalf("backend stats %+v after %d ops of %d events", got, ops, redisEventsPerOp)
		}
	})
	b.Run("impl=handwritten", func(b *testing.B) {
		client := srv.Client(b)
		app := redistest.App(b)
		h := &handLoop{
			client:   client,
			key:      "{" + app + "}:events",
			group:    "necro",
			consumer: "bench",
			oracle:   &chain.Oracle{},
			sink:     &chain.Sink{},
		}
		if err := client.XGroupCreateMkStream(ctx, h.key, h.group, "0").Err(); err != nil {
			b.Fatal(err)
		}
		st := &redisStream{client: client, keys: []string{h.key}, dead: "{" + app + "}:dead", group: h.group}
		measureRedis(b, st, h.sink,
			func(roots []runtime.Event) error { return h.enqueue(ctx, roots) },
			func() error { return h.run(ctx) })
	})
}

// redisStream is what the per-op check looks at.
type redisStream struct {
	client      *redis.Client
	keys        []string
	dead, group string
}

// check verifies one op, then empties the streams for the next.
func (s *redisStream) check(ctx context.Context) error {
	var total int64
	for _, key := range s.keys {
		n, err := s.client.XLen(ctx, key).Result()
		if err != nil {
			return err
		}
		total += n
		p, err := s.client.XPending(ctx, key, s.group).Result()
		if err != nil {
			return err
		}
		if p.Count != 0 {
			return fmt.Errorf("%d entries still pending on %s after the op", p.Count, key)
		}
		groups, err := s.client.XInfoGroups(ctx, key).Result()
		if err != nil {
			return err
		}
		if len(groups) != 1 || groups[0].Lag != 0 {
			return fmt.Errorf("groups of %s after the op: %+v; want one with lag 0", key, groups)
		}
	}
	if total != redisEventsPerOp {
		return fmt.Errorf("streams %v hold %d entries after one op, want %d (4 per chain)", s.keys, total, redisEventsPerOp)
	}
	if d, err := s.client.XLen(ctx, s.dead).Result(); err != nil || d != 0 {
		return fmt.Errorf("dead letters on %s: %d (%v)", s.dead, d, err)
	}
	for _, key := range s.keys {
		if err := s.client.XTrimMaxLen(ctx, key, 0).Err(); err != nil {
			return err
		}
	}
	return nil
}

// measureRedis runs ops of redisRoots chains: enqueue (untimed), run (timed),
// check (untimed). It reports ns/event, events/s, allocs/event and the client
// and server CPU per event over the timed part, and returns the number of ops.
func measureRedis(b *testing.B, st *redisStream, sink *chain.Sink, enqueue func([]runtime.Event) error, run func() error) int {
	b.Helper()
	ctx := context.Background()
	roots := make([]runtime.Event, redisRoots)
	var (
		ms                   goruntime.MemStats
		mallocs              uint64
		clientCPU, serverCPU time.Duration
		ops                  int
	)
	for b.Loop() {
		b.StopTimer()
		for i := range roots {
			roots[i] = chain.NewSummonRitualEvent(chain.SummonRitual{Ritual: i, Spirit: "Lenore"})
		}
		if err := enqueue(roots); err != nil {
			b.Fatal(err)
		}
		omens := sink.Omens
		server0 := st.serverCPU(b)
		goruntime.ReadMemStats(&ms)
		mallocs0 := ms.Mallocs
		client0 := processCPU()
		b.StartTimer()

		if err := run(); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		clientCPU += processCPU() - client0
		goruntime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - mallocs0
		serverCPU += st.serverCPU(b) - server0
		if sink.Omens-omens != redisRoots {
			b.Fatalf("%d omens for %d chains", sink.Omens-omens, redisRoots)
		}
		if err := st.check(ctx); err != nil {
			b.Fatal(err)
		}
		ops++
		b.StartTimer()
	}
	events := float64(ops) * redisEventsPerOp
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(mallocs)/events, "allocs/event")
	if processCPU() >= 0 {
		b.ReportMetric(float64(clientCPU.Nanoseconds())/events, "client-cpu-ns/event")
	}
	b.ReportMetric(float64(serverCPU.Nanoseconds())/events, "server-cpu-ns/event")
	return ops
}

// serverCPU returns the CPU time redis-server has used (INFO cpu: user + sys
// of the server and its threads). On a server shared with other clients
// (NECRO_REDIS_URL) their work counts too.
func (s *redisStream) serverCPU(b *testing.B) time.Duration {
	info, err := s.client.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for line := range strings.Lines(info) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (name == "used_cpu_user" || name == "used_cpu_sys") {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				b.Fatalf("INFO cpu: %s: %v", line, err)
			}
			total += v
		}
	}
	return time.Duration(total * float64(time.Second))
}

// handLoop is the hand-written baseline: what a careful programmer would
// write for this chain directly on go-redis, with the same stream layout and
// encoding as runtime/redisstream (one field "event" holding the JSON
// envelope of runtime.Event.AppendJSON) but none of its bookkeeping: no
// ownership check before acknowledging, no retries, no dead letters.
type handLoop struct {
	client               *redis.Client
	key, group, consumer string
	oracle               *chain.Oracle
	sink                 *chain.Sink
	pipe                 redis.Pipeliner
	read                 *redis.XReadGroupArgs
	out                  []runtime.Event
	enc                  []byte
	ids                  []string
}

// enqueue writes the roots as the backend's Enqueue does: one pipelined
// XADD per event.
func (h *handLoop) enqueue(ctx context.Context, roots []runtime.Event) error {
	_, err := h.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ev := range roots {
			data, err := ev.AppendJSON(nil)
			if err != nil {
				return err
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: h.key, Values: []any{"event", string(data)}})
		}
		return nil
	})
	return err
}

// run handles events until a read finds none: everything read was acknowledged
// in the same pipeline that wrote its children, so nothing is outstanding.
func (h *handLoop) run(ctx context.Context) error {
	if h.pipe == nil {
		h.pipe = h.client.Pipeline()
		h.read = &redis.XReadGroupArgs{
			Group:    h.group,
			Consumer: h.consumer,
			Streams:  []string{h.key, ">"},
			Count:    redisBatch,
			Block:    -1, // no BLOCK, as RunUntilIdle with one worker
		}
	}
	for {
		streams, err := h.client.XReadGroup(ctx, h.read).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		h.ids = h.ids[:0]
		for _, s := range streams {
			for _, m := range s.Messages {
				data, ok := m.Values["event"].(string)
				if !ok || len(m.Values) != 1 {
					return fmt.Errorf("entry %s: fields %v, want one \"event\"", m.ID, m.Values)
				}
				ev, err := runtime.DecodeEvent([]byte(data))
				if err != nil {
					return fmt.Errorf("entry %s: %w", m.ID, err)
				}
				h.out, err = h.handle(ctx, ev, h.out[:0])
				if err != nil {
					return fmt.Errorf("entry %s: %w", m.ID, err)
				}
				for _, child := range h.out {
					h.enc, err = child.AppendJSON(h.enc[:0])
					if err != nil {
						return err
					}
					h.pipe.XAdd(ctx, &redis.XAddArgs{Stream: h.key, Values: []any{"event", string(h.enc)}})
				}
				clear(h.out)
				h.ids = append(h.ids, m.ID)
			}
		}
		if len(h.ids) == 0 {
			return nil
		}
		ack := h.pipe.XAck(ctx, h.key, h.group, h.ids...)
		if _, err := h.pipe.Exec(ctx); err != nil {
			return err
		}
		if n := ack.Val(); n != int64(len(h.ids)) {
			return fmt.Errorf("XACK acknowledged %d of %d entries", n, len(h.ids))
		}
	}
}

// handle is the hand-written dispatch: a switch on the type, the payload
// decoded by runtime.Payload as in the Spine, a direct call to the organ.
func (h *handLoop) handle(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	switch in.Type {
	case chain.EventSummonRitual:
		p, err := runtime.Payload[chain.SummonRitual](in)
		if err != nil {
			return out, err
		}
		r, err := chain.SummonSpirit(ctx, p)
		if err != nil {
			return out, err
		}
		return runtime.AppendChild(out, in, chain.EventSpiritAppeared, r), nil
	case chain.EventSpiritAppeared:
		p, err := runtime.Payload[chain.SpiritAppeared](in)
		if err != nil {
			return out, err
		}
		r, err := h.oracle.AskQuestion(ctx, p)
		if err != nil {
			return out, err
		}
		return runtime.AppendChild(out, in, chain.EventAnswerGenerated, r), nil
	case chain.EventAnswerGenerated:
		p, err := runtime.Payload[chain.AnswerGenerated](in)
		if err != nil {
			return out, err
		}
		r, err := chain.InterpretResponse(ctx, p)
		if err != nil {
			return out, err
		}
		return runtime.AppendChild(out, in, chain.EventOmenRevealed, r), nil
	case chain.EventOmenRevealed:
		p, err := runtime.Payload[chain.OmenRevealed](in)
		if err != nil {
			return out, err
		}
		return out, h.sink.ManifestEffect(ctx, p)
	}
	return out, runtime.NoRoute(in)
}
