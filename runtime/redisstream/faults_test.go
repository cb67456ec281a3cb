package redisstream_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// A consumer process killed with SIGKILL mid-run leaves entries pending; a
// second consumer reclaims them and finishes. Every step is in the stream
// exactly once: no input lost, no emitted event written twice.
func TestKilledConsumerProcessIsReclaimed(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs 10,000 events through two processes")
	}
	srv := redistest.Start(t)
	app := redistest.App(t)
	const roots = 2500 // × 4 hops = 10,000 events
	producer := dial(t, srv, redisstream.WithApp(app))
	enqueueRoots(t, producer, 0, roots)
	client := srv.Client(t)

	a := startConsumer(t, srv.URL(), app, "consumer-a", 500*time.Millisecond)
	waitFor(t, client, producer.StreamKey(), producer.Group(), 60*time.Second, "consumer a to be well into the run",
		func(st groupState) bool { return st.length >= roots+3000 })
	a.kill(t)
	before, err := stateOf(context.Background(), client, producer.StreamKey(), producer.Group())
	if err != nil {
		t.Fatal(err)
	}
	if before.length == roots*(lastHop+1) && before.lag == 0 && before.pending == 0 {
		t.Fatal("consumer a finished before it was killed; the test proves nothing")
	}

	b := dial(t, srv, redisstream.WithApp(app), redisstream.WithConsumer("consumer-b"), redisstream.WithClaimIdle(500*time.Millisecond))
	serve(t, b, newChain())
	waitDone(t, client, b, roots*(lastHop+1), 60*time.Second)
	checkChains(t, client, b.StreamKey(), roots)
	if before.pending > 0 && b.Stats().Reclaimed == 0 {
		t.Errorf("consumer a died with %d entries pending, but b reclaimed none", before.pending)
	}
	t.Logf("killed a at %d entries (%d pending); b reclaimed %d, discarded %d", before.length, before.pending, b.Stats().Reclaimed, b.Stats().Discarded)
	if dead, _ := b.DeadLetters(context.Background(), "", 10); len(dead) > 0 {
		t.Errorf("dead letters: %+v", dead)
	}
}

// Two consumer processes on one group share the work: together they handle
// every event, each exactly once when nothing fails.
func TestTwoConsumerProcessesShareTheWork(t *testing.T) {
	srv := redistest.Start(t)
	app := redistest.App(t)
	const roots = 1000
	producer := dial(t, srv, redisstream.WithApp(app))
	client := srv.Client(t)
	a := startConsumer(t, srv.URL(), app, "consumer-a", 30*time.Second)
	b := startConsumer(t, srv.URL(), app, "consumer-b", 30*time.Second)
	enqueueRoots(t, producer, 0, roots)
	waitDone(t, client, producer, roots*(lastHop+1), 60*time.Second)
	handledA, handledB := a.stop(t), b.stop(t)
	if len(handledA) == 0 || len(handledB) == 0 {
		t.Errorf("a handled %d events and b %d: both should have had work", len(handledA), len(handledB))
	}
	counts := map[Step]int{}
	for _, s := range append(handledA, handledB...) {
		counts[s]++
	}
	for root := range roots {
		for hop := 0; hop <= lastHop; hop++ {
			if n := counts[Step{root, hop}]; n != 1 {
				t.Fatalf("root %d hop %d was handled %d times, want exactly once", root, hop, n)
			}
		}
	}
	checkChains(t, client, producer.StreamKey(), roots)
	consumers, err := client.XInfoConsumers(context.Background(), producer.StreamKey(), producer.Group()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		if c.Name == "consumer-a" || c.Name == "consumer-b" {
			t.Errorf("consumer %s left the group with nothing pending, but is still in it", c.Name)
		}
	}
}

// redis-server killed and restarted with its append-only file: consumers
// reconnect by themselves and finish; nothing is lost or duplicated.
func TestRedisRestartWithPersistence(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	client := srv.Client(t)
	const roots = 1000
	opts := []redisstream.Option{redisstream.WithClaimIdle(time.Second)}
	b1 := dial(t, srv, opts...)
	app := strings.TrimSuffix(strings.TrimPrefix(b1.StreamKey(), "{"), "}:events")
	b2 := dial(t, srv, append(opts, redisstream.WithApp(app))...)
	slow := func(Step) error { time.Sleep(100 * time.Microsecond); return nil } // a little work, so the restart lands mid-run
	c1, c2 := newChain(), newChain()
	c1.work, c2.work = slow, slow
	serve(t, b1, c1)
	serve(t, b2, c2)
	enqueueRoots(t, b1, 0, roots)
	waitFor(t, client, b1.StreamKey(), b1.Group(), 60*time.Second, "the run to be under way",
		func(st groupState) bool { return st.length >= roots+500 })
	srv.Kill(t)
	srv.Restart(t)
	waitDone(t, client, b1, roots*(lastHop+1), 60*time.Second)
	checkChains(t, client, b1.StreamKey(), roots)
	total := map[Step]int{}
	for _, c := range []*chain{c1, c2} {
		c.mu.Lock()
		for s, n := range c.handled {
			total[s] += n
		}
		c.mu.Unlock()
	}
	for root := range roots {
		for hop := 0; hop <= lastHop; hop++ {
			if total[Step{root, hop}] < 1 {
				t.Fatalf("root %d hop %d was never handled", root, hop)
			}
		}
	}
}

// redis-server restarted without persistence loses the stream and the group:
// the consumer recreates the group, loudly, and new events flow.
func TestRedisRestartWithoutPersistence(t *testing.T) {
	srv := redistest.Start(t, redistest.Own())
	client := srv.Client(t)
	b := dial(t, srv)
	serve(t, b, newChain())
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
	seen := map[Step]bool{}
	msgs, err := client.XRange(context.Background(), b.StreamKey(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		ev, _ := runtime.DecodeEvent([]byte(m.Values["event"].(string)))
		p, _ := runtime.Payload[Step](ev)
		seen[p] = true
	}
	for root := 100; root < 200; root++ {
		if !seen[Step{root, lastHop}] {
			t.Fatalf("root %d did not reach its last hop after the restart", root)
		}
	}
}

// Malformed entries written with a raw client each land in the dead-letter
// stream with their reason and the original entry; the loop keeps going.
func TestMalformedEntriesAreDeadLettered(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	b := dial(t, srv, redisstream.WithMaxEventSize(1024))
	ctx := context.Background()
	good := func(root int) string {
		data, err := runtime.MustNewEvent(eventStep, Step{Root: root}).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	valid := good(0)
	malformed := []struct {
		fields []any
		reason string
		detail string
	}{
		{[]any{"event", "{not json"}, redisstream.ReasonUndecodable, "is not valid JSON"},
		{[]any{"event", strings.Replace(valid, `"payload"`, `"extra":1,"payload"`, 1)}, redisstream.ReasonUndecodable, "extra"},
		{[]any{"event", strings.Replace(valid, `"event_type":"STEP"`, `"event_type":"  "`, 1)}, redisstream.ReasonUndecodable, "event_type"},
		{[]any{"event", strings.Replace(valid, `"event_type":"STEP"`, `"event_type":"NO_SUCH_EVENT"`, 1)}, redisstream.ReasonUnknownEventType, "NO_SUCH_EVENT"},
		{[]any{"event", strings.Replace(valid, `"payload":{"root":0,"hop":0}`, `"payload":"a string"`, 1)}, redisstream.ReasonBadPayload, "payload"},
		{[]any{"event", strings.Replace(valid, `"payload":{"root":0,"hop":0}`, `"payload":"`+strings.Repeat("x", 2000)+`"`, 1)}, redisstream.ReasonTooLarge, "over the limit of 1024"},
		{[]any{"body", valid}, redisstream.ReasonUndecodable, `want exactly one field "event"`},
		{[]any{"event", valid, "extra", "1"}, redisstream.ReasonUndecodable, `want exactly one field "event"`},
	}
	ids := map[string]int{}
	for i, m := range malformed {
		// A good root before each bad entry, and one after the last.
		if err := b.Enqueue(ctx, runtime.MustNewEvent(eventStep, Step{Root: i})); err != nil {
			t.Fatal(err)
		}
		id, err := client.XAdd(ctx, &redis.XAddArgs{Stream: b.StreamKey(), Values: m.fields}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = i
	}
	enqueueRoots(t, b, len(malformed), len(malformed)+1)
	c := newChain()
	serve(t, b, c)
	roots := len(malformed) + 1
	waitDone(t, client, b, int64(roots*(lastHop+1)+len(malformed)), 30*time.Second)
	dead, err := b.DeadLetters(ctx, "", 100)
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
		if d.Deliveries != 1 || d.Group != b.Group() || d.Consumer != b.Consumer() {
			t.Errorf("malformed entry %d: dead letter has deliveries %d, group %q, consumer %q", i, d.Deliveries, d.Group, d.Consumer)
		}
		for k := 0; k < len(m.fields); k += 2 {
			if got := d.Fields[m.fields[k].(string)]; got != m.fields[k+1] {
				t.Errorf("malformed entry %d: dead letter field %q = %.40q, want the original %.40q", i, m.fields[k], got, m.fields[k+1])
			}
		}
	}
	for root := range roots {
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
// other events flow without waiting for them.
func TestFailingAndPanickingHandlersAreDeadLettered(t *testing.T) {
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
	const roots = 100
	enqueueRoots(t, b, 0, roots) // the failing ones first, in front of everything
	serve(t, b, c)
	waitFor(t, client, b.StreamKey(), b.Group(), 30*time.Second, "every good chain done and the two bad roots dead-lettered",
		func(st groupState) bool {
			return st.length == (roots-2)*(lastHop+1)+2 && st.pending == 0 && st.lag == 0
		})
	for i := range attempts {
		if n := attempts[i].Load(); n != maxDeliveries {
			t.Errorf("root %d was attempted %d times, want %d (the max deliveries)", i, n, maxDeliveries)
		}
	}
	dead, err := b.DeadLetters(context.Background(), "", 10)
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
	defer mu.Unlock()
	for _, at := range secondAttemptsAt {
		if !lastGood.Before(at) {
			t.Errorf("the good events finished at %v, after a failing event's first retry at %v: failures held up the others", lastGood, at)
		}
	}
	for root := 2; root < roots; root++ {
		if c.count(Step{root, lastHop}) != 1 {
			t.Fatalf("root %d did not finish exactly once", root)
		}
	}
}

// A handler slower than the claim idle timeout keeps its entry: the other
// consumer, claiming idle entries all along, never takes it from under it.
func TestSlowHandlerIsNotReclaimed(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	const claimIdle = 300 * time.Millisecond
	b1 := dial(t, srv, redisstream.WithClaimIdle(claimIdle), redisstream.WithConsumer("one"))
	app := strings.TrimSuffix(strings.TrimPrefix(b1.StreamKey(), "{"), "}:events")
	b2 := dial(t, srv, redisstream.WithApp(app), redisstream.WithClaimIdle(claimIdle), redisstream.WithConsumer("two"))
	slow := func(s Step) error {
		if s.Hop == 0 {
			time.Sleep(4 * claimIdle) // the work itself: slower than the claim idle timeout
		}
		return nil
	}
	c1, c2 := newChain(), newChain()
	c1.work, c2.work = slow, slow
	serve(t, b1, c1)
	serve(t, b2, c2)
	enqueueRoots(t, b1, 0, 2)
	waitDone(t, client, b1, 2*(lastHop+1), 30*time.Second)
	for root := range 2 {
		if n := c1.count(Step{root, 0}) + c2.count(Step{root, 0}); n != 1 {
			t.Errorf("root %d was handled %d times; the slow handler's entry was reclaimed from under it", root, n)
		}
	}
	for _, b := range []*redisstream.Backend{b1, b2} {
		if st := b.Stats(); st.Reclaimed != 0 || st.Discarded != 0 {
			t.Errorf("%s: %+v; want nothing reclaimed or discarded", b.Consumer(), st)
		}
	}
	checkChains(t, client, b1.StreamKey(), 2)
}
