package redisstream_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

func TestDeadLetterFilter(t *testing.T) {
	letter := redisstream.DeadLetter{
		ID: "1700000000000-3", Topic: "{shop}:t:ORDER_PLACED", Reason: redisstream.ReasonMaxDeliveries,
		Fields: map[string]string{"event": `{"id":"0190f0e8-0000-7000-8000-000000000001","event_type":"ORDER_PLACED"}`},
	}
	inbox := letter
	inbox.Topic = "{shop}:in:payments"
	raw := redisstream.DeadLetter{ID: "1700000000000-4", Topic: "{shop}:t:ORDER_PLACED", Reason: redisstream.ReasonUndecodable, Fields: map[string]string{"body": "x"}}
	cases := []struct {
		f    redisstream.DeadLetterFilter
		d    redisstream.DeadLetter
		want bool
	}{
		{redisstream.DeadLetterFilter{}, letter, true},
		{redisstream.DeadLetterFilter{Reason: redisstream.ReasonMaxDeliveries}, letter, true},
		{redisstream.DeadLetterFilter{Reason: redisstream.ReasonBadPayload}, letter, false},
		{redisstream.DeadLetterFilter{Topic: "ORDER_PLACED"}, letter, true},
		{redisstream.DeadLetterFilter{Topic: "ORDER_PLACED"}, inbox, true}, // by its envelope's type
		{redisstream.DeadLetterFilter{Topic: "{shop}:in:payments"}, inbox, true},
		{redisstream.DeadLetterFilter{Topic: "ORDER_PLACED"}, raw, true}, // no envelope: by its topic
		{redisstream.DeadLetterFilter{Topic: "PAYMENT_TAKEN"}, letter, false},
		{redisstream.DeadLetterFilter{IDs: []string{"1700000000000-3"}}, letter, true},
		{redisstream.DeadLetterFilter{IDs: []string{"0190f0e8-0000-7000-8000-000000000001"}}, letter, true},
		{redisstream.DeadLetterFilter{IDs: []string{"1700000000000-4"}}, letter, false},
		{redisstream.DeadLetterFilter{IDs: []string{"1700000000000-4", "x"}}, raw, true},
		{redisstream.DeadLetterFilter{Through: "1700000000000-3"}, letter, true},
		{redisstream.DeadLetterFilter{Through: "1700000000000-3"}, raw, false},
		{redisstream.DeadLetterFilter{Reason: redisstream.ReasonMaxDeliveries, Topic: "ORDER_PLACED", IDs: []string{"1700000000000-4"}}, letter, false},
	}
	for i, c := range cases {
		if got := c.f.Match(c.d); got != c.want {
			t.Errorf("case %d: %+v matches letter %s: %v, want %v", i, c.f, c.d.ID, got, c.want)
		}
	}
	if got := raw.EventType(); got != "ORDER_PLACED" {
		t.Errorf("EventType of a letter without envelope = %q, want its topic's type", got)
	}
	if got := inbox.EventID(); got != "0190f0e8-0000-7000-8000-000000000001" {
		t.Errorf("EventID = %q", got)
	}
	if got := letter.Time(); !got.Equal(time.UnixMilli(1700000000000)) {
		t.Errorf("Time = %v", got)
	}
}

// counter is a service that counts what it handles and fails while failing is set.
type counter struct {
	mu      sync.Mutex
	handled map[string]int // event id → times handled successfully
	failing atomic.Bool
}

func (c *counter) Dispatch(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	if c.failing.Load() {
		return out, &runtime.HandlerError{Organ: "count", Err: errors.New("down")}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handled[in.ID.String()]++
	return out, nil
}

func (c *counter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handled[id]
}

func runService(t *testing.T, b runtime.Backend, name string, d runtime.Dispatcher, start ...runtime.Event) {
	t.Helper()
	r := runtime.NewRunner(b, d, runtime.WithService(name), runtime.WithTopics("ORDER_PLACED"),
		runtime.WithLogger(slog.New(slog.DiscardHandler)), runtime.WithPullTimeout(50*time.Millisecond))
	if err := r.RunUntilIdle(context.Background(), start...); err != nil {
		t.Fatal(err)
	}
}

// A requeued dead letter goes to its service's inbox: the service that
// failed handles it again, and the other services of its topic do not.
func TestRequeueReachesOnlyTheServiceThatFailed(t *testing.T) {
	srv := redistest.Start(t)
	b := dial(t, srv, redisstream.WithMaxDeliveries(1))
	ctx := context.Background()
	payments, shipping := &counter{handled: map[string]int{}}, &counter{handled: map[string]int{}}
	for _, s := range []string{"payments", "shipping"} {
		if _, err := b.Subscribe(ctx, runtime.Subscription{Service: s, Topics: []string{"ORDER_PLACED"}}); err != nil {
			t.Fatal(err)
		}
	}
	ev := runtime.MustNewEvent("ORDER_PLACED", map[string]int{"order": 1})
	payments.failing.Store(true)
	runService(t, b, "payments", payments, ev)
	runService(t, b, "shipping", shipping)
	dead, err := b.FindDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{}, 0)
	if err != nil || len(dead) != 1 || dead[0].EventID() != ev.ID.String() {
		t.Fatalf("payments' dead letters: %+v, %v; want the order", dead, err)
	}

	payments.failing.Store(false)
	res, err := b.RequeueDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{})
	if err != nil || len(res.Requeued) != 1 || len(res.Refused) != 0 || res.Inbox != b.InboxKey("payments") {
		t.Fatalf("requeue: %+v, %v", res, err)
	}
	runService(t, b, "payments", payments)
	runService(t, b, "shipping", shipping)
	if p, s := payments.count(ev.ID.String()), shipping.count(ev.ID.String()); p != 1 || s != 1 {
		t.Fatalf("after the requeue, payments handled the order %d times, shipping %d; want 1 and 1", p, s)
	}
	if left, _ := b.FindDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{}, 0); len(left) != 0 {
		t.Fatalf("dead letters left after the requeue: %+v", left)
	}
}

// deadLetters makes n dead letters of service "payments", oldest first.
func deadLetters(t *testing.T, b *redisstream.Backend, n int) []redisstream.DeadLetter {
	t.Helper()
	c := &counter{handled: map[string]int{}}
	c.failing.Store(true)
	evs := make([]runtime.Event, n)
	for i := range evs {
		evs[i] = runtime.MustNewEvent("ORDER_PLACED", map[string]int{"order": i})
	}
	runService(t, b, "payments", c, evs...)
	dead, err := b.FindDeadLetters(context.Background(), "payments", redisstream.DeadLetterFilter{}, 0)
	if err != nil || len(dead) != n {
		t.Fatalf("%d dead letters (%v), want %d", len(dead), err, n)
	}
	return dead
}

func ids(ds []redisstream.DeadLetter) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// FindDeadLetters pages through the letters WithBatchSize at a time;
// requeue and purge touch only what their filter selects, up to its bound.
func TestFindRequeueAndPurgeSelect(t *testing.T) {
	srv := redistest.Start(t)
	b := dial(t, srv, redisstream.WithMaxDeliveries(1), redisstream.WithBatchSize(3))
	ctx := context.Background()
	all := deadLetters(t, b, 10)

	got, err := b.FindDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{Through: all[6].ID}, 5)
	if err != nil || !slices.Equal(ids(got), ids(all[:5])) {
		t.Fatalf("find with limit 5: %v, %v", ids(got), err)
	}
	got, _ = b.FindDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{Through: all[6].ID}, 0)
	if !slices.Equal(ids(got), ids(all[:7])) {
		t.Fatalf("find through the 7th: %v", ids(got))
	}
	got, _ = b.FindDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{IDs: []string{all[9].EventID(), all[1].ID}}, 0)
	if !slices.Equal(ids(got), []string{all[1].ID, all[9].ID}) {
		t.Fatalf("find by ids: %v", ids(got))
	}

	res, err := b.RequeueDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{IDs: []string{all[1].ID, all[2].ID, "1-0"}})
	if err != nil || len(res.Requeued) != 2 || res.Requeued[0].ID != all[1].ID || res.Requeued[1].ID != all[2].ID {
		t.Fatalf("requeue two: %+v, %v", res, err)
	}
	inbox, err := srv.Client(t).XRange(ctx, b.InboxKey("payments"), "-", "+").Result()
	if err != nil || len(inbox) != 2 || inbox[0].ID != res.Requeued[0].InboxID || inbox[0].Values["event"] != all[1].Fields["event"] {
		t.Fatalf("the inbox holds %+v, %v; want the two envelopes", inbox, err)
	}

	n, err := b.PurgeDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{IDs: []string{all[0].ID, all[3].ID}})
	if err != nil || n != 2 {
		t.Fatalf("purge two: %d, %v", n, err)
	}
	n, err = b.PurgeDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{Through: all[7].ID})
	if err != nil || n != 4 { // 4, 5, 6, 7
		t.Fatalf("purge through the 8th: %d, %v", n, err)
	}
	got, _ = b.FindDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{}, 0)
	if !slices.Equal(ids(got), ids(all[8:])) {
		t.Fatalf("left after the purges: %v, want the last two", ids(got))
	}
	if n, err := b.PurgeDeadLetters(ctx, "nobody", redisstream.DeadLetterFilter{}); err != nil || n != 0 {
		t.Fatalf("purge a service with no letters: %d, %v", n, err)
	}
}

// A letter without an original event is refused and left where it is.
func TestRequeueRefusesLetterWithoutEvent(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	b := dial(t, srv, redisstream.WithMaxDeliveries(1))
	ctx := context.Background()
	if _, err := b.Subscribe(ctx, runtime.Subscription{Service: "payments", Topics: []string{"ORDER_PLACED"}}); err != nil {
		t.Fatal(err)
	}
	if err := client.XAdd(ctx, &redis.XAddArgs{Stream: b.TopicKey("ORDER_PLACED"), Values: []any{"body", "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	runService(t, b, "payments", &counter{handled: map[string]int{}})
	res, err := b.RequeueDeadLetters(ctx, "payments", redisstream.DeadLetterFilter{})
	if err != nil || len(res.Requeued) != 0 || len(res.Refused) != 1 || res.Refused[0].Reason != redisstream.ReasonUndecodable {
		t.Fatalf("requeue: %+v, %v; want the letter refused", res, err)
	}
	if n, _ := client.XLen(ctx, b.DeadLetterKey("payments")).Result(); n != 1 {
		t.Fatalf("%d dead letters after a refused requeue, want 1", n)
	}
}

// Inspect reports lengths, lag, pending entries and consumers as Redis has
// them, and counts a lag Redis does not keep.
func TestInspect(t *testing.T) {
	srv := redistest.Start(t)
	b := dial(t, srv, redisstream.WithConsumer("c1"), redisstream.WithBatchSize(2), redisstream.WithMaxDeliveries(1))
	ctx := context.Background()
	// A topic with entries before the group exists: Redis 7.0 cannot tell
	// the lag of a group created at its newest entry.
	if err := b.Enqueue(ctx, runtime.MustNewEvent("ORDER_PLACED", 0)); err != nil {
		t.Fatal(err)
	}
	cons, err := b.Subscribe(ctx, runtime.Subscription{Service: "shipping", Topics: []string{"ORDER_PLACED"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := b.Enqueue(ctx, runtime.MustNewEvent("ORDER_PLACED", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := cons.Pull(ctx, nil, 1, time.Second); err != nil || len(got) != 1 {
		t.Fatalf("pull: %d, %v", len(got), err)
	}
	st, err := b.Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Topics) != 1 || st.Topics[0].Topic != "ORDER_PLACED" || st.Topics[0].Length != 6 || len(st.Topics[0].Groups) != 1 {
		t.Fatalf("topics: %+v", st.Topics)
	}
	g := st.Topics[0].Groups[0]
	// The batch fetched two entries (one per stream: the topic and the inbox
	// share a batch of 2): one pending, four to go.
	if g.Service != "shipping" || g.Lag != 4 || g.LagCapped || g.Pending != 1 || g.OldestPendingID == "" ||
		len(g.Consumers) != 1 || g.Consumers[0].Name != "c1" || g.Consumers[0].Pending != 1 {
		t.Fatalf("shipping's group: %+v", g)
	}
	if len(st.Services) != 1 || st.Services[0].Service != "shipping" || !slices.Equal(st.Services[0].Topics, []string{"ORDER_PLACED"}) ||
		st.Services[0].Inbox.Stream != b.InboxKey("shipping") || len(st.Services[0].Consumers) != 1 {
		t.Fatalf("services: %+v", st.Services)
	}
	if st.Time.IsZero() || st.Bus != b.Bus() {
		t.Fatalf("bus %q at %v", st.Bus, st.Time)
	}
}

// Tail hands out entries from the start or only new ones, and returns when
// its callback says so or its context is done.
func TestTail(t *testing.T) {
	srv := redistest.Start(t)
	b := dial(t, srv, redisstream.WithBlock(50*time.Millisecond))
	ctx := context.Background()
	old := runtime.MustNewEvent("ORDER_PLACED", 1)
	if err := b.Enqueue(ctx, old); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	var got []redisstream.TailEntry
	err := b.Tail(ctx, "ORDER_PLACED", "0", func(e redisstream.TailEntry) error { got = append(got, e); return stop })
	if !errors.Is(err, stop) || len(got) != 1 || got[0].Err != nil || got[0].Event.ID != old.ID {
		t.Fatalf("tail from 0: %+v, %v", got, err)
	}

	fresh := runtime.MustNewEvent("ORDER_PLACED", 2)
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	entries := make(chan redisstream.TailEntry, 10)
	done := make(chan error, 1)
	go func() {
		done <- b.Tail(tctx, "ORDER_PLACED", "$", func(e redisstream.TailEntry) error { entries <- e; return nil })
	}()
	// Tail starts after the newest entry when it starts; publish until it
	// sees one, which must not be the old one.
	for e := (redisstream.TailEntry{}); e.ID == ""; {
		if err := b.Enqueue(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		select {
		case e = <-entries:
			if e.Event.ID != fresh.ID {
				t.Fatalf("tail from $ handed out %+v", e)
			}
		case <-time.After(20 * time.Millisecond): // it is starting
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("tail ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tail did not return after its context was cancelled")
	}
}
