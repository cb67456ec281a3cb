package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/tools/txtar"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with what necro prints")

// invocation is one run of necro.
type invocation struct {
	args  []string
	env   map[string]string // its environment: nothing else is seen
	tty   bool
	stdin string
	in    io.Reader // instead of stdin
	ctx   context.Context
}

// necro runs the CLI and returns its exit code, stdout and stderr.
func necro(inv invocation) (int, string, string) {
	var stdout, stderr bytes.Buffer
	ctx := inv.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var in io.Reader = strings.NewReader(inv.stdin)
	if inv.in != nil {
		in = inv.in
	}
	code := run(inv.args, env{
		ctx: ctx, stdin: in, stdout: &stdout, stderr: &stderr, tty: inv.tty,
		getenv: func(k string) string { return inv.env[k] },
	})
	return code, stdout.String(), stderr.String()
}

// golden runs necro and compares what it printed, normalised, with
// testdata/NAME.golden: a txtar archive whose comment is the command line
// and exit code, with files stdout and stderr.
func golden(t *testing.T, name string, inv invocation, vars map[string]string) (stdout, stderr string) {
	t.Helper()
	shown := strings.Join(inv.args, " ")
	for k, v := range vars {
		for i, a := range inv.args {
			inv.args[i] = strings.ReplaceAll(a, k, v)
		}
	}
	code, stdout, stderr := necro(inv)
	// One normalisation for both, so that an id reads the same in each.
	got := []byte(normalise(string(txtar.Format(&txtar.Archive{
		Comment: []byte(fmt.Sprintf("%s\nexit %d\n", strings.TrimSpace("necro "+shown), code)),
		Files:   []txtar.File{{Name: "stdout", Data: []byte(stdout)}, {Name: "stderr", Data: []byte(stderr)}},
	}))))
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return stdout, stderr
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/necro -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: necro %s printed, normalised:\n%s\nwant (%s):\n%s\n(raw stdout:\n%s\nraw stderr:\n%s)", name, shown, got, path, want, stdout, stderr)
	}
	return stdout, stderr
}

var (
	reStreamID = regexp.MustCompile(`\b\d{13}-\d+\b`)
	reUUID     = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	reTime     = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b`)
	reAge      = regexp.MustCompile(`\b(\d+h)?(\d+m)?\d+(\.\d+)?(ms|s)\b`)
	reMillis   = regexp.MustCompile(`("\w+_ms": )\d+`)
	rePort     = regexp.MustCompile(`127\.0\.0\.1:\d{4,5}\b`)
	reGap      = regexp.MustCompile(`\S {2,}\S`)
	reCells    = regexp.MustCompile(` {2,}`)
)

// normalise replaces what changes from run to run: stream ids and event ids
// (numbered in order of appearance, so that the same id reads the same),
// times, ages and ports; then it aligns table columns again, as they would
// be with the placeholders.
func normalise(s string) string {
	s = numbered(s, reStreamID, "<id%d>")
	s = numbered(s, reUUID, "<uuid%d>")
	s = reTime.ReplaceAllString(s, "<time>")
	s = reMillis.ReplaceAllString(s, "${1}<ms>")
	s = reAge.ReplaceAllString(s, "<age>")
	s = rePort.ReplaceAllString(s, "127.0.0.1:<port>")
	return realign(s)
}

func numbered(s string, re *regexp.Regexp, format string) string {
	seen := map[string]string{}
	return re.ReplaceAllStringFunc(s, func(m string) string {
		if _, ok := seen[m]; !ok {
			seen[m] = fmt.Sprintf(format, len(seen)+1)
		}
		return seen[m]
	})
}

// realign lays out again the runs of lines whose cells are separated by
// two spaces or more (tables), as text/tabwriter does; other lines stay as
// they are.
func realign(s string) string {
	var buf bytes.Buffer
	tw := table(&buf)
	for _, line := range strings.SplitAfter(s, "\n") {
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		body := line[len(indent):]
		if !reGap.MatchString(body) || strings.HasPrefix(body, "{") || strings.Contains(body, "\t") {
			tw.Flush()
			buf.WriteString(line)
			continue
		}
		tw.Write([]byte(indent + reCells.ReplaceAllString(body, "\t")))
	}
	tw.Flush()
	return buf.String()
}

// The seeded bus "shop": services payments (ORDER_PLACED → PAYMENT_TAKEN;
// it fails order 3, and with one delivery allowed, dead-letters it) and
// shipping (ORDER_PLACED and PAYMENT_TAKEN; it holds one event, unsettled).
const bus = "shop"

type order struct {
	Order int `json:"order"`
}

var quiet = slog.New(slog.DiscardHandler)

func dial(t testing.TB, url string, opts ...redisstream.Option) *redisstream.Backend {
	t.Helper()
	opts = append([]redisstream.Option{redisstream.WithBus(bus), redisstream.WithLogger(quiet), redisstream.WithTrimEvery(0)}, opts...)
	b, err := redisstream.Dial(context.Background(), url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// payments charges orders and emits PAYMENT_TAKEN; it fails order 3. A
// payload that is not an order is a bad payload.
var payments = runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	o, err := runtime.Payload[order](in)
	if err != nil {
		return out, err
	}
	if o.Order == 3 {
		return out, &runtime.HandlerError{Organ: "Charge", Err: errors.New("card declined")}
	}
	return runtime.AppendChild(out, in, "PAYMENT_TAKEN", o), nil
})

func paymentsRunner(b runtime.Backend) *runtime.Runner {
	return runtime.NewRunner(b, payments, runtime.WithService("payments"), runtime.WithTopics("ORDER_PLACED"),
		runtime.WithLogger(quiet), runtime.WithPullTimeout(50*time.Millisecond))
}

// seedShop fills srv's bus "shop" through real consumers and returns the
// names the golden command lines use: $ORDER3 (the event id of order 3),
// $DEAD_RAW, $DEAD_ORDER3, $DEAD_BAD (dead-letter ids).
func seedShop(t *testing.T, srv *redistest.Server) map[string]string {
	t.Helper()
	ctx := context.Background()
	pay := dial(t, srv.URL(), redisstream.WithConsumer("payments-1"), redisstream.WithMaxDeliveries(1))
	r := paymentsRunner(pay)
	if err := r.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	// An entry NecroStack did not write: payments dead-letters it as undecodable.
	if err := srv.Client(t).XAdd(ctx, &redis.XAddArgs{Stream: pay.TopicKey("ORDER_PLACED"), Values: []any{"body", "order 9"}}).Err(); err != nil {
		t.Fatal(err)
	}
	ship := dial(t, srv.URL(), redisstream.WithConsumer("shipping-1"), redisstream.WithBatchSize(1))
	shipping, err := ship.Subscribe(ctx, runtime.Subscription{Service: "shipping", Topics: []string{"ORDER_PLACED", "PAYMENT_TAKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	var orders []runtime.Event
	for i := 1; i <= 4; i++ {
		orders = append(orders, runtime.MustNewEvent("ORDER_PLACED", order{i}))
	}
	bad := runtime.MustNewEvent("ORDER_PLACED", "order five")
	if err := pay.Enqueue(ctx, append(orders, bad)...); err != nil {
		t.Fatal(err)
	}
	if err := r.RunUntilIdle(ctx); err != nil {
		t.Fatal(err)
	}
	// shipping takes one event and holds it.
	if got, err := shipping.Pull(ctx, nil, 1, time.Second); err != nil || len(got) != 1 {
		t.Fatalf("shipping pulled %d events, %v; want 1", len(got), err)
	}
	dead, err := pay.DeadLetters(ctx, "payments", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 3 {
		t.Fatalf("payments has %d dead letters, want 3: %+v", len(dead), dead)
	}
	return map[string]string{
		"$ORDER3":      orders[2].ID.String(),
		"$DEAD_RAW":    dead[0].ID,
		"$DEAD_ORDER3": dead[1].ID,
		"$DEAD_BAD":    dead[2].ID,
	}
}

// Every subcommand on a bus that real consumers filled, in order: each step
// sees what the previous ones did.
func TestGolden(t *testing.T) {
	srv := redistest.Start(t, redistest.Own())
	vars := seedShop(t, srv)
	env := map[string]string{"NECRO_REDIS_URL": srv.URL()}
	step := func(name string, args ...string) {
		t.Helper()
		golden(t, name, invocation{args: args, env: env}, vars)
	}
	step("stats", "stats", "-bus", "shop")
	step("stats_json", "stats", "-bus", "shop", "-o", "json")
	step("stats_empty_bus", "stats")
	step("dead_ls", "dead", "ls", "-bus", "shop", "payments")
	step("dead_ls_json", "dead", "ls", "payments", "-bus", "shop", "-o", "json")
	step("dead_ls_reason", "dead", "ls", "-bus", "shop", "-reason", "bad_payload", "payments")
	step("dead_ls_no_match", "dead", "ls", "-bus", "shop", "-topic", "PAYMENT_TAKEN", "payments")
	step("dead_ls_unknown_service", "dead", "ls", "-bus", "shop", "billing")
	step("dead_show", "dead", "show", "-bus", "shop", "payments", "$ORDER3")
	step("dead_show_json", "dead", "show", "-bus", "shop", "-o", "json", "payments", "$DEAD_BAD")
	step("dead_show_no_event", "dead", "show", "-bus", "shop", "payments", "$DEAD_RAW")
	step("dead_show_no_match", "dead", "show", "-bus", "shop", "payments", "1-0")
	step("dead_requeue_refused", "dead", "requeue", "-bus", "shop", "-reason", "undecodable", "payments")
	step("dead_requeue", "dead", "requeue", "-bus", "shop", "payments", "$DEAD_ORDER3")
	step("stats_after_requeue", "stats", "-bus", "shop")
	step("dead_requeue_json", "dead", "requeue", "-bus", "shop", "-topic", "ORDER_PLACED", "-o", "json", "payments")
	step("dead_requeue_no_match", "dead", "requeue", "-bus", "shop", "-all", "shipping")
	step("dead_purge_no_terminal", "dead", "purge", "-bus", "shop", "-all", "payments")
	golden(t, "dead_purge_declined", invocation{args: []string{"dead", "purge", "-bus", "shop", "-all", "payments"}, env: env, tty: true, stdin: "n\n"}, vars)
	golden(t, "dead_purge_confirmed", invocation{args: []string{"dead", "purge", "-bus", "shop", "-all", "payments"}, env: env, tty: true, stdin: "y\n"}, vars)
	step("dead_ls_empty", "dead", "ls", "-bus", "shop", "payments")
	step("tail_from_start", "tail", "-bus", "shop", "-from", "0", "-n", "3", "ORDER_PLACED")
	step("tail_json", "tail", "-bus", "shop", "-from", "0", "-n", "2", "-o", "json", "PAYMENT_TAKEN")

	// The requeued order reached payments' inbox only: payments handles it
	// again (and fails it again), shipping does not see it.
	pay := dial(t, srv.URL(), redisstream.WithConsumer("payments-1"), redisstream.WithMaxDeliveries(1))
	if err := paymentsRunner(pay).RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	step("dead_ls_after_rerun", "dead", "ls", "-bus", "shop", "payments")
	step("stats_after_rerun", "stats", "-bus", "shop")
}

// An interrupt while purge waits for an answer is a no: nothing purged.
func TestPurgePromptInterrupted(t *testing.T) {
	srv := redistest.Start(t, redistest.Own())
	seedShop(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	terminal, _ := io.Pipe() // nobody answers
	asked := &promptWatcher{asked: make(chan struct{})}
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		done <- run([]string{"dead", "purge", "-bus", "shop", "-all", "payments"}, env{
			ctx: ctx, stdin: terminal, stdout: io.Discard, stderr: io.MultiWriter(&stderr, asked), tty: true,
			getenv: func(k string) string { return map[string]string{"NECRO_REDIS_URL": srv.URL()}[k] },
		})
	}()
	<-asked.asked
	cancel()
	if code := <-done; code != exitNoMatch || !strings.Contains(stderr.String(), "nothing purged") {
		t.Fatalf("purge interrupted at the prompt: exit %d, stderr %q", code, stderr.String())
	}
	if n, _ := srv.Client(t).XLen(context.Background(), "{shop}:dead:payments").Result(); n != 3 {
		t.Fatalf("%d dead letters after an interrupted purge, want all 3", n)
	}
}

// promptWatcher closes asked once something is written to it.
type promptWatcher struct {
	asked chan struct{}
	once  sync.Once
}

func (w *promptWatcher) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.asked) })
	return len(p), nil
}

// tail with no -from follows only what is published after it starts.
func TestTailFollowsNewEvents(t *testing.T) {
	srv := redistest.Start(t, redistest.Own())
	b := dial(t, srv.URL())
	ctx := context.Background()
	if err := b.Enqueue(ctx, runtime.MustNewEvent("ORDER_PLACED", order{1})); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := necro(invocation{args: []string{"tail", "-bus", "shop", "-n", "2", "-o", "json", "ORDER_PLACED"}, env: map[string]string{"NECRO_REDIS_URL": srv.URL()}})
		done <- result{code, stdout, stderr}
	}()
	// tail reads from the newest entry when it starts: publish until it has
	// two, then check that it printed neither order 1 nor anything twice.
	deadline := time.After(20 * time.Second)
	for n := 2; ; n++ {
		if err := b.Enqueue(ctx, runtime.MustNewEvent("ORDER_PLACED", order{n})); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("tail: exit %d, stderr %q", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if len(lines) != 2 || strings.Contains(r.stdout, `{"order":1}`) {
				t.Fatalf("tail printed %q; want two events published after it started", r.stdout)
			}
			a, b := strings.Index(r.stdout, `{"order":`), strings.LastIndex(r.stdout, `{"order":`)
			if r.stdout[a:a+11] == r.stdout[b:b+11] {
				t.Fatalf("tail printed one event twice: %q", r.stdout)
			}
			return
		case <-deadline:
			t.Fatal("tail -n 2 did not return within 20s")
		case <-time.After(20 * time.Millisecond): // it is starting: publish again
		}
	}
}

// An interrupt (a cancelled context) ends tail with exit 0.
func TestTailInterrupted(t *testing.T) {
	srv := redistest.Start(t, redistest.Own())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	code, stdout, stderr := necro(invocation{ctx: ctx, args: []string{"tail", "-bus", "shop", "NOTHING_YET"}, env: map[string]string{"NECRO_REDIS_URL": srv.URL()}})
	if code != 0 || stdout != "" || !strings.Contains(stderr, "NOTHING_YET is not a topic of bus shop yet") {
		t.Fatalf("tail interrupted: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("tail took %v to stop after the interrupt", d)
	}
}

// Usage errors, unreachable Redis and bad URLs: exit 2, a message saying
// why, and never the password.
func TestUsageAndConnectionErrors(t *testing.T) {
	cases := []struct {
		name string
		inv  invocation
	}{
		{"usage", invocation{}},
		{"help", invocation{args: []string{"-h"}}},
		{"unknown_command", invocation{args: []string{"list"}}},
		{"dead_no_command", invocation{args: []string{"dead"}}},
		{"dead_unknown_command", invocation{args: []string{"dead", "rm", "payments"}}},
		{"dead_ls_help", invocation{args: []string{"dead", "ls", "-h"}}},
		{"bad_output", invocation{args: []string{"stats", "-o", "xml"}}},
		{"bad_flag", invocation{args: []string{"dead", "ls", "-since", "1h", "payments"}}},
		{"no_service", invocation{args: []string{"dead", "ls"}}},
		{"show_no_id", invocation{args: []string{"dead", "show", "payments"}}},
		{"requeue_unnamed", invocation{args: []string{"dead", "requeue", "payments"}}},
		{"purge_all_and_reason", invocation{args: []string{"dead", "purge", "-all", "-reason", "bad_payload", "payments"}}},
		{"tail_no_topic", invocation{args: []string{"tail"}}},
		{"stats_argument", invocation{args: []string{"stats", "payments"}}},
		{"unreachable", invocation{args: []string{"stats", "-redis-url", "redis://admin:hunter2@127.0.0.1:1/0"}}},
		{"unreachable_env", invocation{args: []string{"dead", "ls", "payments"}, env: map[string]string{"NECRO_REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"}}},
		{"bad_url", invocation{args: []string{"stats", "-redis-url", "http://admin:hunter2@example.com"}}},
		{"bad_bus", invocation{args: []string{"stats", "-bus", "{shop}", "-redis-url", "redis://127.0.0.1:1/0"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if stdout, stderr := golden(t, "usage_"+c.name, c.inv, nil); strings.Contains(stdout+stderr, "hunter2") {
				t.Fatalf("the password was printed:\n%s%s", stdout, stderr)
			}
		})
	}
}

// Redis killed in the middle of a requeue of every dead letter, one per
// script call: after a restart, each letter is either requeued (in the
// inbox) or still a dead letter — none in both, none lost. A second
// requeue finishes the job.
func TestRequeueInterruptedByKilledRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly())
	client := srv.Client(t)
	ctx := context.Background()
	const n = 2000
	want := seedFailures(t, srv, n)
	pay := dial(t, srv.URL())
	dead, inbox := pay.DeadLetterKey("payments"), pay.InboxKey("payments")

	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	env := map[string]string{"NECRO_REDIS_URL": srv.URL()}
	go func() {
		code, stdout, stderr := necro(invocation{args: []string{"dead", "requeue", "-bus", "shop", "-all", "-batch", "1", "payments"}, env: env})
		done <- result{code, stdout, stderr}
	}()
	for {
		if k, _ := client.XLen(ctx, inbox).Result(); k >= n/10 {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("requeue ended before Redis was killed: exit %d, stderr %q", r.code, r.stderr)
		case <-time.After(time.Millisecond): // polling another goroutine's progress in Redis
		}
	}
	srv.Kill(t)
	r := <-done
	if r.code != exitUsage || !strings.Contains(r.stderr, "before it failed") {
		t.Fatalf("requeue with Redis killed: exit %d, stderr %q; want 2 saying how far it got", r.code, r.stderr)
	}
	srv.Restart(t)
	requeued := countEvents(t, client, inbox, "event")
	left := countEvents(t, client, dead, "original:event")
	if len(requeued) == n || len(requeued) == 0 {
		t.Fatalf("%d of %d letters requeued: Redis was not killed midway", len(requeued), n)
	}
	t.Logf("killed after %d of %d letters were requeued", len(requeued), n)
	checkEach(t, want, requeued, left)

	if code, _, stderr := necro(invocation{args: []string{"dead", "requeue", "-bus", "shop", "-all", "payments"}, env: env}); code != 0 {
		t.Fatalf("second requeue: exit %d, stderr %q", code, stderr)
	}
	checkEach(t, want, countEvents(t, client, inbox, "event"), countEvents(t, client, dead, "original:event"))
	if k, _ := client.XLen(ctx, dead).Result(); k != 0 {
		t.Fatalf("%d dead letters left after the second requeue", k)
	}
}

// seedFailures publishes n orders 3, which payments fails, so that each is
// a dead letter; it returns their event ids.
func seedFailures(t *testing.T, srv *redistest.Server, n int) map[string]bool {
	t.Helper()
	ctx := context.Background()
	pay := dial(t, srv.URL(), redisstream.WithMaxDeliveries(1))
	r := paymentsRunner(pay)
	want := map[string]bool{}
	evs := make([]runtime.Event, n)
	for i := range evs {
		evs[i] = runtime.MustNewEvent("ORDER_PLACED", order{3})
		want[evs[i].ID.String()] = true
	}
	if err := r.RunUntilIdle(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if k, err := srv.Client(t).XLen(ctx, pay.DeadLetterKey("payments")).Result(); err != nil || k != int64(n) {
		t.Fatalf("%d dead letters (%v), want %d", k, err, n)
	}
	return want
}

// countEvents counts the event ids in the envelopes of field of stream.
func countEvents(t *testing.T, c *redis.Client, stream, field string) map[string]int {
	t.Helper()
	out := map[string]int{}
	msgs, err := c.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		ev, err := runtime.DecodeEvent([]byte(m.Values[field].(string)))
		if err != nil {
			t.Fatalf("%s entry %s: %v", stream, m.ID, err)
		}
		out[ev.ID.String()]++
	}
	return out
}

// checkEach checks that every wanted event is in exactly one of a and b,
// once, and nothing else is.
func checkEach(t *testing.T, want map[string]bool, a, b map[string]int) {
	t.Helper()
	bad := 0
	for id := range want {
		if a[id]+b[id] != 1 && bad < 10 {
			t.Errorf("event %s: %d times in the inbox, %d in the dead letters; want once in all", id, a[id], b[id])
			bad++
		}
	}
	if got := len(a) + len(b); got != len(want) {
		t.Errorf("%d distinct events in the inbox and the dead letters, want %d", got, len(want))
	}
}
