package bench

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/bench/baseline"
	"github.com/necrostack/necrostack/bench/chain"
	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// The sweep of BenchmarkRedisChain: entries per read and settle batch, and
// workers.
var (
	redisBatches = []int{10, 100, 500}
	redisWorkers = []int{1, 2, 4}
)

// redisRoots is the number of chains one op runs: 4×redisRoots events.
const redisRoots = 1000

// baselineBlock is the BLOCK of the baseline workers' XREADGROUP: a worker
// that finds nothing waits for the next XADD (Redis wakes it at once), or
// this long.
const baselineBlock = 10 * time.Millisecond

// redisCommands are the commands whose INFO commandstats time is reported
// on its own (redis-CMD-ns/event); the others are summed as "other".
// EVAL counts as evalsha: go-redis sends EVAL when the script is not cached.
var redisCommands = []string{"evalsha", "xreadgroup", "xadd", "xack", "xpending"}

// BenchmarkRedisChain runs the chain on one private redis-server, started
// once for every sub-benchmark, for each batch size and number of workers:
//
//   - impl=necrostack: the generated Spine of bench/chain on
//     runtime/redisstream with its default options (ownership-checked
//     settle script, retries, dead letters, claiming, idle-time refresh,
//     trimming) but for WithBatchSize(batch), and runtime.WithWorkers(workers);
//     RunUntilIdle handles the op.
//   - impl=baseline: bench/baseline's go-redis loop: workers goroutines, each
//     its own consumer of the group running RedisWorker.Step (XREADGROUP
//     COUNT batch/4 per stream BLOCK 10ms, then one pipeline of XADDs and
//     XACKs) until the op's events are all acknowledged.
//
// Both use one stream per event type and one consumer group ("chain"). Each
// op publishes redisRoots roots with the timer stopped (each side its own
// way: NecroStack's Enqueue, the baseline's pipelined XADDs), then, timed,
// handles all 4×redisRoots events. Only the timed part counts in the
// metrics, including Redis's CPU and command times. After each op, untimed,
// it checks that 4×redisRoots entries were added, none is pending, every
// chain ended, nothing was dead-lettered, retried or discarded; then it
// empties the streams (XTRIM MAXLEN 0) so that they do not grow with b.N.
func BenchmarkRedisChain(b *testing.B) {
	srv := redistest.Start(b)
	for _, batch := range redisBatches {
		for _, workers := range redisWorkers {
			for _, impl := range []struct {
				name  string
				setup redisSetup
			}{{"baseline", baselineRedis}, {"necrostack", necroRedis}} {
				b.Run(fmt.Sprintf("batch=%d/workers=%d/impl=%s", batch, workers, impl.name), func(b *testing.B) {
					client := srv.Client(b)
					r, err := impl.setup(client, redistest.App(b), batch, workers)
					if err != nil {
						b.Fatal(err)
					}
					defer r.close()
					measureRedis(b, client, r, redisRoots)
				})
			}
		}
	}
}

// redisSetup prepares an implementation on a fresh namespace (bus).
type redisSetup func(client *redis.Client, bus string, batch, workers int) (*redisRun, error)

// redisRun is an implementation ready to run ops.
type redisRun struct {
	publish func(roots int) error // untimed: publish the roots of one op
	run     func() error          // timed: handle every event of the op
	after   func() error          // untimed, after run: wait for the workers to settle down
	check   func(events int64) error
	streams []string // one per event type
	group   string
	dead    string // dead-letter stream, or ""
	omens   func() int64
	close   func() error
}

func necroRedis(client *redis.Client, bus string, batch, workers int) (*redisRun, error) {
	backend, err := redisstream.New(bg, client,
		redisstream.WithBus(bus),
		redisstream.WithBatchSize(batch),
		redisstream.WithLogger(discard))
	if err != nil {
		return nil, err
	}
	sink := &chain.Sink{}
	s := chain.NewSpine(backend, &chain.Oracle{}, sink, runtime.WithLogger(discard), runtime.WithWorkers(workers))
	if err := s.Subscribe(bg); err != nil {
		backend.Close()
		return nil, err
	}
	r := &redisRun{
		run:   func() error { return s.RunUntilIdle(bg) },
		after: func() error { return nil },
		check: func(events int64) error {
			st := backend.Stats()
			if st.Acked != events || st.DeadLettered != 0 || st.Retried != 0 || st.Discarded != 0 || st.Reclaimed != 0 {
				return fmt.Errorf("backend stats %+v after %d events", st, events)
			}
			return nil
		},
		group: "chain",
		dead:  backend.DeadLetterKey("chain"),
		omens: sink.Omens.Load,
		close: backend.Close,
	}
	for _, route := range chain.Routes() {
		r.streams = append(r.streams, backend.TopicKey(route.EventType))
	}
	var roots []runtime.Event
	r.publish = func(n int) error {
		roots = roots[:0]
		for i := range n {
			roots = append(roots, chain.NewSummonRitualEvent(chain.SummonRitual{Ritual: i, Spirit: spirit}))
		}
		return backend.Enqueue(bg, roots...)
	}
	return r, nil
}

// redisOp is one op of the baseline's workers: they handle events until
// target are acknowledged, or one of them fails.
type redisOp struct {
	target  int64
	mu      sync.Mutex
	handled int64
	err     error
	done    chan struct{}
}

// add counts n handled events, or a failure; it reports whether the op is over.
func (op *redisOp) add(n int, err error) bool {
	op.mu.Lock()
	defer op.mu.Unlock()
	select {
	case <-op.done:
		return true
	default:
	}
	op.handled += int64(n)
	if err != nil || op.handled >= op.target {
		op.err = err
		close(op.done)
		return true
	}
	return false
}

func baselineRedis(client *redis.Client, bus string, batch, workers int) (*redisRun, error) {
	layout := baseline.NewRedisLayout(bus, "chain")
	if err := layout.Setup(bg, client); err != nil {
		return nil, err
	}
	c := &baseline.Chain{}
	gates := make([]chan *redisOp, workers)
	parked := make(chan error, workers)
	for i := range gates {
		w := baseline.NewRedisWorker(client, &layout, fmt.Sprintf("worker-%d", i+1), batch, baselineBlock, c)
		gates[i] = make(chan *redisOp)
		go func(gate <-chan *redisOp) {
			for op := range gate {
				var err error
				for over := op.add(0, nil); !over; {
					var n int
					n, err = w.Step(bg)
					over = op.add(n, err)
				}
				parked <- err
			}
		}(gates[i])
	}
	var (
		rituals []baseline.SummonRitual
		events  int64
	)
	r := &redisRun{
		publish: func(n int) error {
			rituals = rituals[:0]
			for i := range n {
				rituals = append(rituals, baseline.SummonRitual{Ritual: i, Spirit: spirit})
			}
			events = 4 * int64(n)
			return layout.Publish(bg, client, rituals)
		},
		run: func() error {
			op := &redisOp{target: events, done: make(chan struct{})}
			for _, g := range gates {
				g <- op
			}
			<-op.done
			return op.err
		},
		after: func() error {
			var errs []error
			for range gates {
				errs = append(errs, <-parked)
			}
			return errors.Join(errs...)
		},
		check:   func(int64) error { return nil },
		streams: layout.Streams[:],
		group:   layout.Group,
		omens:   c.Sink.Omens.Load,
		close: func() error {
			for _, g := range gates {
				close(g)
			}
			return nil
		},
	}
	return r, nil
}

// measureRedis runs ops of roots chains: publish (untimed), run (timed),
// check (untimed), and reports the per-event metrics of the timed parts.
func measureRedis(b *testing.B, client *redis.Client, r *redisRun, roots int) {
	b.Helper()
	var (
		ms                      goruntime.MemStats
		mallocs, bytes          uint64
		clientCPU               time.Duration
		server                  serverUsage
		ops                     int
		eventsPerOp             = int64(4 * roots)
		omensBefore, addedTotal int64
	)
	for b.Loop() {
		b.StopTimer()
		added0, err := entriesAdded(client, r.streams)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.publish(roots); err != nil {
			b.Fatal(err)
		}
		omensBefore = r.omens()
		s0, err := readServer(client)
		if err != nil {
			b.Fatal(err)
		}
		goruntime.ReadMemStats(&ms)
		mallocs0, bytes0 := ms.Mallocs, ms.TotalAlloc
		cpu0 := processCPU()
		b.StartTimer()

		err = r.run()

		b.StopTimer()
		clientCPU += processCPU() - cpu0
		goruntime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - mallocs0
		bytes += ms.TotalAlloc - bytes0
		s1, serr := readServer(client)
		if err != nil {
			b.Fatal(err)
		}
		if serr != nil {
			b.Fatal(serr)
		}
		server.add(s1.sub(s0))
		if err := r.after(); err != nil {
			b.Fatal(err)
		}
		ops++
		added1, err := entriesAdded(client, r.streams)
		if err != nil {
			b.Fatal(err)
		}
		addedTotal += added1 - added0
		if err := checkRedisOp(client, r, roots, omensBefore, added1-added0, int64(ops)*eventsPerOp); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	events := float64(ops) * float64(eventsPerOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(mallocs)/events, "allocs/event")
	b.ReportMetric(float64(bytes)/events, "B/event")
	if processCPU() >= 0 {
		b.ReportMetric(float64(clientCPU.Nanoseconds())/events, "client-cpu-ns/event")
	}
	b.ReportMetric(float64(server.cpu.Nanoseconds())/events, "redis-cpu-ns/event")
	other := int64(0)
	for cmd, usec := range server.usec {
		if cmd == "info" {
			continue
		}
		if !isReported(cmd) {
			other += usec
		}
	}
	for _, cmd := range redisCommands {
		b.ReportMetric(float64(server.usec[cmd])*1e3/events, "redis-"+cmd+"-ns/event")
	}
	b.ReportMetric(float64(other)*1e3/events, "redis-other-ns/event")
}

func isReported(cmd string) bool {
	for _, c := range redisCommands {
		if c == cmd {
			return true
		}
	}
	return false
}

// checkRedisOp checks one op, then empties the streams for the next.
func checkRedisOp(client *redis.Client, r *redisRun, roots int, omensBefore, added, eventsSoFar int64) error {
	ctx := context.Background()
	if got := r.omens() - omensBefore; got != int64(roots) {
		return fmt.Errorf("%d chains ended in an op of %d", got, roots)
	}
	if added != 4*int64(roots) {
		return fmt.Errorf("%d entries added to %v in an op of %d chains, want 4 per chain", added, r.streams, roots)
	}
	for _, key := range r.streams {
		p, err := client.XPending(ctx, key, r.group).Result()
		if err != nil {
			return err
		}
		if p.Count != 0 {
			return fmt.Errorf("%d entries still pending on %s after the op", p.Count, key)
		}
	}
	if r.dead != "" {
		if d, err := client.XLen(ctx, r.dead).Result(); err != nil || d != 0 {
			return fmt.Errorf("dead letters on %s: %d (%v)", r.dead, d, err)
		}
	}
	if err := r.check(eventsSoFar); err != nil {
		return err
	}
	for _, key := range r.streams {
		if err := client.XTrimMaxLen(ctx, key, 0).Err(); err != nil {
			return err
		}
	}
	return nil
}

// entriesAdded sums the entries ever added to streams (XINFO STREAM
// entries-added), which trimming does not lower.
func entriesAdded(client *redis.Client, streams []string) (int64, error) {
	var n int64
	for _, key := range streams {
		info, err := client.XInfoStream(context.Background(), key).Result()
		if err != nil {
			return 0, fmt.Errorf("XINFO STREAM %s: %w", key, err)
		}
		n += info.EntriesAdded
	}
	return n, nil
}

// serverUsage is what redis-server spent: CPU (INFO cpu used_cpu_user +
// used_cpu_sys, its main thread and the others) and, by command, the
// microseconds INFO commandstats counts. Commands run by a script count
// both on their own line and in the script's evalsha.
type serverUsage struct {
	cpu  time.Duration
	usec map[string]int64
}

func (u serverUsage) sub(v serverUsage) serverUsage {
	d := serverUsage{cpu: u.cpu - v.cpu, usec: map[string]int64{}}
	for cmd, us := range u.usec {
		d.usec[cmd] = us - v.usec[cmd]
	}
	return d
}

func (u *serverUsage) add(v serverUsage) {
	u.cpu += v.cpu
	if u.usec == nil {
		u.usec = map[string]int64{}
	}
	for cmd, us := range v.usec {
		u.usec[cmd] += us
	}
}

// readServer reads INFO cpu and commandstats. On a server shared with other
// clients (NECRO_REDIS_URL) their work counts too.
func readServer(client *redis.Client) (serverUsage, error) {
	info, err := client.Info(context.Background(), "cpu", "commandstats").Result()
	if err != nil {
		return serverUsage{}, err
	}
	return parseServerInfo(info)
}

func parseServerInfo(info string) (serverUsage, error) {
	u := serverUsage{usec: map[string]int64{}}
	for line := range strings.Lines(info) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case name == "used_cpu_user" || name == "used_cpu_sys":
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return u, fmt.Errorf("INFO cpu: %s: %v", line, err)
			}
			u.cpu += time.Duration(v * float64(time.Second))
		case strings.HasPrefix(name, "cmdstat_"):
			cmd := strings.TrimPrefix(name, "cmdstat_")
			if cmd == "eval" {
				cmd = "evalsha"
			}
			for field := range strings.SplitSeq(value, ",") {
				if us, ok := strings.CutPrefix(field, "usec="); ok {
					v, err := strconv.ParseInt(us, 10, 64)
					if err != nil {
						return u, fmt.Errorf("INFO commandstats: %s: %v", line, err)
					}
					u.usec[cmd] += v
				}
			}
		}
	}
	if u.cpu == 0 {
		return u, errors.New("INFO cpu has no used_cpu_user or used_cpu_sys")
	}
	return u, nil
}
