package redisstream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// go-redis starts a clock goroutine at init that lives as long as the process.
var goRedisClock = goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.startGlobalTimeCache.func1")

var workerCounts = []int{1, 4}

// A consumer process killed with SIGKILL mid-run leaves entries pending; a
// second consumer reclaims them and finishes. Every step is in the stream
// exactly once: no input lost, no emitted event written twice.
func TestKilledConsumerProcessIsReclaimed(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs 10,000 events through two processes")
	}
	for _, workers := range workerCounts {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			srv := redistest.Start(t)
			bus := redistest.App(t)
			const roots = 2500 // × 4 hops = 10,000 events
			producer := dial(t, srv, redisstream.WithBus(bus))
			subscribeOldest(t, producer, stepsSvc, eventStep)
			enqueueRoots(t, producer, 0, roots)
			client := srv.Client(t)
			topic := producer.TopicKey(eventStep)

			a := startProcess(t, processEnv{url: srv.URL(), bus: bus, consumer: "consumer-a", role: stepsSvc, claimIdle: 500 * time.Millisecond, workers: workers})
			waitFor(t, client, topic, stepsSvc, 60*time.Second, "consumer a to be well into the run",
				func(st groupState) bool { return st.length >= roots+3000 })
			a.kill(t)
			before, err := stateOf(context.Background(), client, topic, stepsSvc)
			if err != nil {
				t.Fatal(err)
			}
			if before.length == roots*(lastHop+1) && before.lag == 0 && before.pending == 0 {
				t.Fatal("consumer a finished before it was killed; the test proves nothing")
			}

			b := dial(t, srv, redisstream.WithBus(bus), redisstream.WithConsumer("consumer-b"), redisstream.WithClaimIdle(500*time.Millisecond))
			r := serve(t, b, newChain(), runtime.WithWorkers(workers))
			waitDone(t, client, b, roots*(lastHop+1), 60*time.Second)
			r.stop()
			checkChains(t, client, topic, roots)
			if before.pending > 0 && b.Stats().Reclaimed == 0 {
				t.Errorf("consumer a died with %d entries pending, but b reclaimed none", before.pending)
			}
			t.Logf("killed a at %d entries (%d pending); b reclaimed %d, discarded %d", before.length, before.pending, b.Stats().Reclaimed, b.Stats().Discarded)
			if dead, _ := b.DeadLetters(context.Background(), stepsSvc, "", 10); len(dead) > 0 {
				t.Errorf("dead letters: %+v", dead)
			}
		})
	}
}

// Two consumer processes of one service share the work: together they
// handle every event, each exactly once when nothing fails, and both leave
// the group at SIGTERM.
func TestTwoConsumerProcessesShareTheWork(t *testing.T) {
	srv := redistest.Start(t)
	bus := redistest.App(t)
	const roots = 1000
	producer := dial(t, srv, redisstream.WithBus(bus))
	subscribeOldest(t, producer, stepsSvc, eventStep)
	client := srv.Client(t)
	env := processEnv{url: srv.URL(), bus: bus, role: stepsSvc, claimIdle: 30 * time.Second, workers: 4}
	env.consumer = "consumer-a"
	a := startProcess(t, env)
	env.consumer = "consumer-b"
	b := startProcess(t, env)
	enqueueRoots(t, producer, 0, roots)
	waitDone(t, client, producer, roots*(lastHop+1), 60*time.Second)
	a.stop(t)
	b.stop(t)
	for step, n := range ledger(t, client, bus, stepsSvc) {
		if n != 1 {
			t.Errorf("%s was handled %d times, want exactly once", step, n)
		}
	}
	if got := len(ledger(t, client, bus, stepsSvc)); got != roots*(lastHop+1) {
		t.Errorf("%d steps handled, want %d", got, roots*(lastHop+1))
	}
	checkChains(t, client, producer.TopicKey(eventStep), roots)
	consumers, err := client.XInfoConsumers(context.Background(), producer.TopicKey(eventStep), stepsSvc).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		if c.Name == "consumer-a" || c.Name == "consumer-b" {
			t.Errorf("consumer %s stopped, but is still in the group", c.Name)
		}
	}
}

// redis-server killed and restarted with its append-only file, mid-run:
// RunUntilIdle with one or four workers keeps going through the outage —
// failed pulls and settles retried, no worker lost — and returns once every
// chain is done, with nothing lost, written twice or left pending.
func TestRedisRestartWithPersistence(t *testing.T) {
	for _, workers := range workerCounts {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			srv := redistest.Start(t, redistest.AppendOnly())
			client := srv.Client(t)
			const n = 1000
			b := dial(t, srv, redisstream.WithClaimIdle(time.Second), redisstream.WithBlock(100*time.Millisecond))
			c := newChain()
			var handled atomic.Int64
			restarted := make(chan struct{})
			c.work = func(Step) error {
				if handled.Add(1) == n { // mid-run: restart, and wait for it, inside a handler
					srv.Kill(t)
					srv.Restart(t)
					close(restarted)
				}
				return nil
			}
			r := runtime.NewRunner(b, c, stepOptions(runtime.WithWorkers(workers))...)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if err := r.RunUntilIdle(ctx, roots(0, n)...); err != nil {
				t.Fatalf("RunUntilIdle: %v", err)
			}
			select {
			case <-restarted:
			default:
				t.Fatal("the run ended before Redis was restarted; the test proves nothing")
			}
			st, err := stateOf(ctx, client, b.TopicKey(eventStep), stepsSvc)
			if err != nil || st.pending != 0 || st.lag != 0 {
				t.Fatalf("after RunUntilIdle: %+v, %v; want nothing pending or undelivered", st, err)
			}
			checkChains(t, client, b.TopicKey(eventStep), n)
			for root := range n {
				for hop := 0; hop <= lastHop; hop++ {
					if c.count(Step{root, hop}) < 1 {
						t.Fatalf("root %d hop %d was never handled", root, hop)
					}
				}
			}
			t.Logf("%d handlings for %d steps; stats %+v", handled.Load(), n*(lastHop+1), b.Stats())
		})
	}
}

// redis-server restarted without persistence loses the topics and the
// groups: the consumer recreates its groups, loudly, and new events flow.
func TestRedisRestartWithoutPersistence(t *testing.T) {
	srv := redistest.Start(t, redistest.Own())
	client := srv.Client(t)
	var logs syncBuffer
	b := dial(t, srv, redisstream.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	serve(t, b, newChain(), runtime.WithWorkers(4))
	enqueueRoots(t, b, 0, 100)
	waitDone(t, client, b, 100*(lastHop+1), 30*time.Second)

	srv.Kill(t)
	srv.Restart(t)
	// The producer reconnects too; the retry covers the first command on a
	// connection that died with the old server.
	var err error
	for range 5 {
		if err = b.Enqueue(context.Background(), runtime.MustNewEvent(eventStep, Step{Root: 100})); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("enqueue after the restart: %v", err)
	}
	enqueueRoots(t, b, 101, 200)
	waitDone(t, client, b, 100*(lastHop+1), 30*time.Second)
	if b.Stats().GroupRecreated == 0 {
		t.Error("the group was lost with the restart, but the backend says it never recreated it")
	}
	if !strings.Contains(logs.String(), "consumer group of a service was gone") {
		t.Errorf("the group was recreated quietly; logs:\n%s", logs.String())
	}
	seen, _ := readSteps(t, client, b.TopicKey(eventStep))
	for root := 100; root < 200; root++ {
		if seen[Step{root, lastHop}] != 1 {
			t.Fatalf("root %d did not reach its last hop exactly once after the restart", root)
		}
	}
}

// Malformed entries written with a raw client each land in the service's
// dead letters with their reason and the original entry; the loop keeps
// going.
func TestMalformedEntriesAreDeadLettered(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	b := dial(t, srv, redisstream.WithMaxEventSize(1024))
	subscribeOldest(t, b, stepsSvc, eventStep)
	ctx := context.Background()
	data, err := runtime.MustNewEvent(eventStep, Step{Root: 0}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	valid := string(data)
	withPayload := func(p string) string {
		return strings.Replace(valid, `"payload":{"root":0,"hop":0}`, `"payload":`+p, 1)
	}
	malformed := []struct {
		fields []any
		reason string
		detail string
	}{
		{[]any{"event", "{not json"}, redisstream.ReasonUndecodable, "is not valid JSON"},
		{[]any{"event", strings.Replace(valid, `"payload"`, `"extra":1,"payload"`, 1)}, redisstream.ReasonUndecodable, "extra"},
		{[]any{"event", strings.Replace(valid, `"event_type":"STEP"`, `"event_type":"  "`, 1)}, redisstream.ReasonUndecodable, "event_type"},
		{[]any{"event", strings.Replace(valid, `"event_type":"STEP"`, `"event_type":"NO_SUCH_EVENT"`, 1)}, redisstream.ReasonUndecodable, `type "NO_SUCH_EVENT" but is in the topic of "STEP"`},
		{[]any{"event", withPayload(`"a string"`)}, redisstream.ReasonBadPayload, "payload"},
		{[]any{"event", withPayload(`null`)}, redisstream.ReasonBadPayload, "payload is null"},
		{[]any{"event", withPayload(`[1,2]`)}, redisstream.ReasonBadPayload, "payload"},
		{[]any{"event", withPayload(`"` + strings.Repeat("x", 2000) + `"`)}, redisstream.ReasonTooLarge, "over the limit of 1024"},
		{[]any{"body", valid}, redisstream.ReasonUndecodable, `want exactly one field "event"`},
		{[]any{"event", valid, "extra", "1"}, redisstream.ReasonUndecodable, `want exactly one field "event"`},
	}
	ids := map[string]int{}
	for i, m := range malformed {
		// A good root before each bad entry, and one after the last.
		if err := b.Enqueue(ctx, runtime.MustNewEvent(eventStep, Step{Root: i})); err != nil {
			t.Fatal(err)
		}
		id, err := client.XAdd(ctx, &redis.XAddArgs{Stream: b.TopicKey(eventStep), Values: m.fields}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = i
	}
	enqueueRoots(t, b, len(malformed), len(malformed)+1)
	c := newChain()
	serve(t, b, c, runtime.WithWorkers(4))
	n := len(malformed) + 1
	waitDone(t, client, b, int64(n*(lastHop+1)+len(malformed)), 30*time.Second)
	dead, err := b.DeadLetters(ctx, stepsSvc, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != len(malformed) {
		t.Fatalf("%d dead letters, want %d: %+v", len(dead), len(malformed), dead)
	}
	for _, d := range dead {
		i, ok := ids[d.OriginalID]
		if !ok {
			t.Fatalf("dead letter of entry %s, which is not one of the malformed ones", d.OriginalID)
		}
		m := malformed[i]
		if d.Reason != m.reason || !strings.Contains(d.Detail, m.detail) {
			t.Errorf("malformed entry %d: dead letter says %q: %q; want %q containing %q", i, d.Reason, d.Detail, m.reason, m.detail)
		}
		if d.Deliveries != 1 || d.Service != stepsSvc || d.Consumer != b.ConsumerName() || d.Topic != b.TopicKey(eventStep) {
			t.Errorf("malformed entry %d: dead letter %+v", i, d)
		}
		for k := 0; k < len(m.fields); k += 2 {
			if got := d.Fields[m.fields[k].(string)]; got != m.fields[k+1] {
				t.Errorf("malformed entry %d: dead letter field %q = %.40q, want the original %.40q", i, m.fields[k], got, m.fields[k+1])
			}
		}
	}
	for root := range n {
		if c.count(Step{root, lastHop}) != 1 {
			t.Errorf("root %d did not finish its chain exactly once", root)
		}
	}
	if st := b.Stats(); st.DeadLettered != int64(len(malformed)) {
		t.Errorf("Stats().DeadLettered = %d, want %d", st.DeadLettered, len(malformed))
	}
}

// A handler that always fails and one that always panics: their events are
// retried with backoff and dead-lettered after max deliveries, while the
// other events flow without waiting for them. A retry is not a reclaim.
func TestFailingAndPanickingHandlersAreDeadLettered(t *testing.T) {
	for _, workers := range workerCounts {
		t.Run(fmt.Sprint("workers=", workers), func(t *testing.T) {
			srv := redistest.Start(t)
			client := srv.Client(t)
			const maxDeliveries = 3
			b := dial(t, srv, redisstream.WithMaxDeliveries(maxDeliveries), redisstream.WithRetryBackoff(2*time.Second, 2*time.Second)) // the first retry comes after 1s to 2s
			var (
				attempts         [2]atomic.Int64 // root 0 fails, root 1 panics
				mu               sync.Mutex
				lastGood         time.Time
				secondAttemptsAt []time.Time
			)
			c := newChain()
			c.work = func(s Step) error {
				if s.Root < 2 {
					if n := attempts[s.Root].Add(1); n == 2 {
						mu.Lock()
						secondAttemptsAt = append(secondAttemptsAt, time.Now())
						mu.Unlock()
					}
					if s.Root == 0 {
						return errors.New("the spirits refuse")
					}
					panic("the planchette splinters")
				}
				mu.Lock()
				lastGood = time.Now()
				mu.Unlock()
				return nil
			}
			const n = 100
			subscribeOldest(t, b, stepsSvc, eventStep)
			enqueueRoots(t, b, 0, n) // the failing ones first, in front of everything
			serve(t, b, c, runtime.WithWorkers(workers))
			waitFor(t, client, b.TopicKey(eventStep), stepsSvc, 30*time.Second, "every good chain done and the two bad roots dead-lettered",
				func(st groupState) bool {
					return st.length == (n-2)*(lastHop+1)+2 && st.pending == 0 && st.lag == 0
				})
			for i := range attempts {
				if got := attempts[i].Load(); got != maxDeliveries {
					t.Errorf("root %d was attempted %d times, want %d (the max deliveries)", i, got, maxDeliveries)
				}
			}
			dead, err := b.DeadLetters(context.Background(), stepsSvc, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) != 2 {
				t.Fatalf("%d dead letters, want 2: %+v", len(dead), dead)
			}
			for _, d := range dead {
				if d.Reason != redisstream.ReasonMaxDeliveries || d.Deliveries != maxDeliveries {
					t.Errorf("dead letter %+v: want reason %s after %d deliveries", d, redisstream.ReasonMaxDeliveries, maxDeliveries)
				}
				if !strings.Contains(d.Detail, "the spirits refuse") && !strings.Contains(d.Detail, "the planchette splinters") {
					t.Errorf("dead letter detail %q does not carry the handler's failure", d.Detail)
				}
			}
			mu.Lock()
			for _, at := range secondAttemptsAt {
				if !lastGood.Before(at) {
					t.Errorf("the good events finished at %v, after a failing event's first retry at %v: failures held up the others", lastGood, at)
				}
			}
			mu.Unlock()
			for root := 2; root < n; root++ {
				if c.count(Step{root, lastHop}) != 1 {
					t.Fatalf("root %d did not finish exactly once", root)
				}
			}
			if st := b.Stats(); st.Reclaimed != 0 || st.Retried != 2*(maxDeliveries-1) {
				t.Errorf("stats %+v: want %d retries and no reclaims", st, 2*(maxDeliveries-1))
			}
		})
	}
}

// A handler slower than the claim idle timeout keeps its entry: the other
// consumer, claiming idle entries all along, never takes it from under it.
func TestSlowHandlerIsNotReclaimed(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	const claimIdle = 300 * time.Millisecond
	b1 := dial(t, srv, redisstream.WithClaimIdle(claimIdle), redisstream.WithConsumer("one"))
	b2 := dial(t, srv, redisstream.WithBus(b1.Bus()), redisstream.WithClaimIdle(claimIdle), redisstream.WithConsumer("two"))
	slow := func(s Step) error {
		if s.Hop == 0 {
			time.Sleep(4 * claimIdle) // the work itself: slower than the claim idle timeout
		}
		return nil
	}
	c1, c2 := newChain(), newChain()
	c1.work, c2.work = slow, slow
	serve(t, b1, c1, runtime.WithWorkers(4))
	serve(t, b2, c2, runtime.WithWorkers(4))
	enqueueRoots(t, b1, 0, 8)
	waitDone(t, client, b1, 8*(lastHop+1), 30*time.Second)
	for step, n := range total(c1, c2) {
		if n != 1 {
			t.Errorf("%+v was handled %d times; a slow handler's entry was reclaimed from under it", step, n)
		}
	}
	for _, b := range []*redisstream.Backend{b1, b2} {
		if st := b.Stats(); st.Reclaimed != 0 || st.Discarded != 0 {
			t.Errorf("%s: %+v; want nothing reclaimed or discarded", b.ConsumerName(), st)
		}
	}
	checkChains(t, client, b1.TopicKey(eventStep), 8)
}

// A failed event waits for its retry longer than the claim idle time: it
// stays this consumer's (kept fresh), so the other consumer does not take it
// early, and the retry comes when the backoff says.
func TestRetryBackoffLongerThanClaimIdle(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	const claimIdle = 200 * time.Millisecond
	const backoff = 1500 * time.Millisecond // retries come after 750ms to 1.5s
	opts := []redisstream.Option{redisstream.WithClaimIdle(claimIdle), redisstream.WithRetryBackoff(backoff, backoff), redisstream.WithMaxDeliveries(2)}
	b1 := dial(t, srv, append(opts, redisstream.WithConsumer("one"))...)
	b2 := dial(t, srv, append(opts, redisstream.WithBus(b1.Bus()), redisstream.WithConsumer("two"))...)
	var mu sync.Mutex
	var attemptsAt []time.Time
	fail := func(s Step) error {
		if s.Root == 0 && s.Hop == 0 {
			mu.Lock()
			attemptsAt = append(attemptsAt, time.Now())
			first := len(attemptsAt) == 1
			mu.Unlock()
			if first {
				return errors.New("not yet")
			}
		}
		return nil
	}
	c1, c2 := newChain(), newChain()
	c1.work, c2.work = fail, fail
	serve(t, b1, c1)
	serve(t, b2, c2)
	enqueueRoots(t, b1, 0, 1)
	waitDone(t, client, b1, lastHop+1, 30*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(attemptsAt) != 2 {
		t.Fatalf("the failing event was attempted %d times, want 2", len(attemptsAt))
	}
	if gap := attemptsAt[1].Sub(attemptsAt[0]); gap < backoff/2-50*time.Millisecond {
		t.Errorf("the retry came %v after the failure; the backoff is at least %v: it was reclaimed early", gap, backoff/2)
	}
	for _, b := range []*redisstream.Backend{b1, b2} {
		if st := b.Stats(); st.Reclaimed != 0 {
			t.Errorf("%s reclaimed %d entries; the failed one was kept fresh while it waited", b.ConsumerName(), st.Reclaimed)
		}
	}
}

// Stop ends a Run blocked in XREADGROUP at once, not after the block.
func TestStopInterruptsBlockedRead(t *testing.T) {
	srv := redistest.Start(t)
	b := dial(t, srv, redisstream.WithBlock(time.Minute))
	r := runtime.NewRunner(b, newChain(), stepOptions(runtime.WithPullTimeout(time.Minute), runtime.WithWorkers(4))...)
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	// Wait until a worker is blocked on the server.
	client := srv.Client(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := client.Info(context.Background(), "clients").Result()
		if err == nil && strings.Contains(info, "blocked_clients:1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no client blocked on the server within 10s: %s", info)
		}
		time.Sleep(10 * time.Millisecond) // polling another process's state
	}
	start := time.Now()
	r.Stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("Run returned %v after Stop; a blocked read must end at once", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of Stop; the read blocks for a minute")
	}
	// Close of a consumer blocked in Pull ends it too.
	c, err := b.Subscribe(context.Background(), runtime.Subscription{Service: "other", Topics: []string{eventStep}})
	if err != nil {
		t.Fatal(err)
	}
	pulled := make(chan error, 1)
	go func() {
		_, err := c.Pull(context.Background(), nil, 1, time.Minute)
		pulled <- err
	}()
	for {
		info, _ := client.Info(context.Background(), "clients").Result()
		if strings.Contains(info, "blocked_clients:1") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	start = time.Now()
	c.Close()
	select {
	case err := <-pulled:
		if !errors.Is(err, runtime.ErrClosed) || time.Since(start) > time.Second {
			t.Fatalf("Pull ended by Close after %v with %v, want ErrClosed at once", time.Since(start), err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a blocked Pull within 10s")
	}
}

// Redis goes away for longer than the claim idle time while two consumers
// hold entries: when it is back, each refreshes what it holds before it
// claims anyone else's, so nothing is handled twice.
func TestOutageLongerThanClaimIdle(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	client := srv.Client(t)
	const claimIdle = time.Second
	opts := []redisstream.Option{redisstream.WithClaimIdle(claimIdle), redisstream.WithBlock(100 * time.Millisecond)}
	b1 := dial(t, srv, append(opts, redisstream.WithConsumer("one"))...)
	b2 := dial(t, srv, append(opts, redisstream.WithBus(b1.Bus()), redisstream.WithConsumer("two"))...)
	c1, c2 := newChain(), newChain()
	var handled atomic.Int64
	outage := make(chan struct{})
	slow := func(Step) error {
		if handled.Add(1) == 200 {
			srv.Kill(t)
			close(outage)
			time.Sleep(3 * claimIdle) // Redis is gone for longer than the claim idle time
			srv.Restart(t)
		}
		return nil
	}
	c1.work, c2.work = slow, slow
	subscribeOldest(t, b1, stepsSvc, eventStep)
	enqueueRoots(t, b1, 0, 1000)
	serve(t, b1, c1, runtime.WithWorkers(4))
	serve(t, b2, c2, runtime.WithWorkers(4))
	<-outage
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stats one %+v, two %+v", b1.Stats(), b2.Stats())
			seen, _ := readSteps(t, client, b1.TopicKey(eventStep))
			all := total(c1, c2)
			n := 0
			info, _ := client.Do(context.Background(), "XINFO", "STREAM", b1.TopicKey(eventStep)).Result()
			t.Logf("xinfo: %v", info)
			for root := range 1000 {
				for hop := 0; hop <= lastHop; hop++ {
					if seen[Step{root, hop}] == 0 && n < 5 {
						n++
						t.Logf("missing root %d hop %d; handled %d times; parent handled %d times (one %d, two %d)", root, hop, all[Step{root, hop}], all[Step{root, max(hop-1, 0)}], c1.count(Step{root, max(hop-1, 0)}), c2.count(Step{root, max(hop-1, 0)}))
					}
				}
			}
		}
	})
	waitDone(t, client, b1, 1000*(lastHop+1), 20*time.Second)
	checkChains(t, client, b1.TopicKey(eventStep), 1000)
	twice := 0
	for _, n := range total(c1, c2) {
		if n > 1 {
			twice++
		}
	}
	t.Logf("handled twice: %d; stats one %+v, two %+v", twice, b1.Stats(), b2.Stats())
	if twice > 0 || b1.Stats().Reclaimed+b2.Stats().Reclaimed > 0 {
		t.Errorf("%d steps handled twice, %d entries reclaimed after the outage; want none: live consumers refresh first",
			twice, b1.Stats().Reclaimed+b2.Stats().Reclaimed)
	}
}

// go-redis's own messages go through the backend's logger as JSON, not
// plain text on standard error.
func TestGoRedisLogsGoThroughTheLogger(t *testing.T) {
	srv := redistest.Start(t, redistest.Own())
	var logs syncBuffer
	b := dial(t, srv, redisstream.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	srv.Kill(t)
	for range 3 {
		b.Enqueue(context.Background(), runtime.MustNewEvent(eventStep, Step{})) // fails: nobody listens
	}
	srv.Restart(t)
	if !strings.Contains(logs.String(), `"msg":"go-redis: `) {
		t.Fatalf("no go-redis message in the logger's output:\n%s", logs.String())
	}
}

// A graceful stop with periodic trimming on logs no warning.
func TestGracefulStopIsQuiet(t *testing.T) {
	srv := redistest.Start(t)
	var logs syncBuffer
	b := dial(t, srv, redisstream.WithTrimEvery(time.Millisecond), redisstream.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	for _, workers := range workerCounts {
		r := runtime.NewRunner(b, newChain(), stepOptions(runtime.WithWorkers(workers))...)
		if err := r.RunUntilIdle(context.Background(), roots(0, 200)...); err != nil {
			t.Fatal(err)
		}
		r.Stop()
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if logs.Len() > 0 {
		t.Fatalf("a graceful stop logged:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// An organ that overruns WithHandlerTimeout fails like any failing organ:
// retried, then dead-lettered with reason "timeout"; the organ that ran
// beside it has its events published with the dead letter, once.
func TestHandlerTimeoutIsRetriedThenDeadLettered(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	b := dial(t, srv, redisstream.WithMaxDeliveries(2), redisstream.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
	var r *runtime.Runner
	var attempts atomic.Int64
	d := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		if in.Type != eventStep {
			return out, nil
		}
		quick := func(ctx context.Context, organ string, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			return runtime.AppendChild(out, in, "QUICK_DONE", Step{}), nil
		}
		slow := func(ctx context.Context, organ string, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			attempts.Add(1)
			<-ctx.Done()
			return runtime.AppendChild(out, in, "SLOW_DONE", Step{}), nil
		}
		out, err1 := r.CallOrgan(ctx, "Quick", in, out, quick)
		out, err2 := r.CallOrgan(ctx, "Slow", in, out, slow)
		return out, errors.Join(err1, err2)
	})
	r = runtime.NewRunner(b, d, stepOptions(runtime.WithTopics(eventStep, "QUICK_DONE", "SLOW_DONE"),
		runtime.WithHandlerTimeout(20*time.Millisecond), runtime.WithWorkers(4))...)
	if err := r.RunUntilIdle(context.Background(), roots(0, 1)...); err != nil {
		t.Fatal(err)
	}
	if n := attempts.Load(); n != 2 {
		t.Fatalf("the slow organ ran %d times, want 2 (the max deliveries)", n)
	}
	dead, err := b.DeadLetters(context.Background(), stepsSvc, "", 10)
	if err != nil || len(dead) != 1 || dead[0].Reason != runtime.ReasonTimeout || !strings.Contains(dead[0].Detail, "organ Slow: organ overran its timeout of 20ms") {
		t.Fatalf("dead letters %+v (%v); want one with reason timeout naming organ Slow", dead, err)
	}
	for typ, want := range map[string]int64{"QUICK_DONE": 1, "SLOW_DONE": 0} {
		if n, _ := client.XLen(context.Background(), b.TopicKey(typ)).Result(); n != want {
			t.Errorf("%s published %d times, want %d", typ, n, want)
		}
	}
}
