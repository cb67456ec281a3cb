package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/necrostack/necrostack/examples/shop/events"
	"github.com/necrostack/necrostack/examples/shop/notifications"
	"github.com/necrostack/necrostack/examples/shop/orders"
	"github.com/necrostack/necrostack/examples/shop/payments"
	"github.com/necrostack/necrostack/examples/shop/shipping"
	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/necrotest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// A service process: the test binary run again with SHOP_ARGS set, running
// run() with those arguments until SIGTERM.
func TestMain(m *testing.M) {
	if args := os.Getenv("SHOP_ARGS"); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		code := run(ctx, strings.Fields(args), os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.startGlobalTimeCache.func1"))
}

func runShop(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var goldenCases = []struct {
	name string
	args []string
}{
	{"default", nil},
	{"seed3_orders20", []string{"-seed", "3", "-orders", "20"}},
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./examples/shop -update)", err)
	}
	if got != string(want) {
		t.Fatalf("output differs from %s (run go test ./examples/shop -update):\n%s\nwant:\n%s", golden, got, want)
	}
}

// Every service in one process on the memory bus: a story per order.
func TestGoldenOutput(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runShop(t, c.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			checkGolden(t, c.name, stdout)
		})
	}
}

// Every service in one process on a Redis bus tells the same stories.
func TestGoldenOutputOnRedis(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			srv := redistest.Start(t, redistest.Own()) // a bus of its own per case
			code, stdout, stderr := runShop(t, append([]string{"-backend", "redis", "-redis-url", srv.URL()}, c.args...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			checkGolden(t, c.name, stdout)
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-orders", "0"}, {"-backend", "owl"}, {"-service", "kitchen", "-backend", "redis"}, {"-service", "payments"}, {"-place"}, {"extra"}, {"-nope"}} {
		if code, _, stderr := runShop(t, args...); code != 2 || stderr == "" {
			t.Errorf("shop %v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
}

// Each service in processes of its own on one Redis bus — orders, payments
// and shipping in two replicas each — and the orders placed by yet another
// process: notifications tells the same stories as the single process does.
func TestServicesAsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven processes")
	}
	srv := redistest.Start(t, redistest.Own())
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SHOP_ARGS="+strings.Join(append([]string{"-backend", "redis", "-redis-url", srv.URL(), "-seed", "3", "-orders", "20"}, args...), " "))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	var notifications *exec.Cmd
	var notified *bytes.Buffer
	for _, s := range []string{"orders", "orders", "payments", "payments", "shipping", "shipping", "notifications"} {
		cmd := start("-service", s)
		if s == "notifications" {
			notifications, notified = cmd, cmd.Stdout.(*bytes.Buffer)
		}
	}
	bus, err := redisstream.Dial(context.Background(), srv.URL(), redisstream.WithBus("shop"))
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	// Every service subscribes as it starts; place the orders once they all have.
	waitFor(t, "every service to subscribe", func() bool {
		services, err := bus.Services(context.Background())
		return err == nil && len(services) == 4
	})
	if code, _, stderr := runShop(t, "-backend", "redis", "-redis-url", srv.URL(), "-seed", "3", "-orders", "20", "-place"); code != 0 {
		t.Fatalf("-place: exit %d, %s", code, stderr)
	}
	waitFor(t, "every topic handled by every service", func() bool {
		st, err := bus.Inspect(context.Background())
		if err != nil {
			return false
		}
		completed := 0
		for _, topic := range st.Topics {
			for _, g := range topic.Groups {
				if g.Lag != 0 || g.Pending != 0 {
					return false
				}
			}
			if topic.Topic == "ORDER_COMPLETED" || topic.Topic == "ORDER_CANCELLED" {
				completed += int(topic.Length)
			}
		}
		return completed == 20
	})
	if err := notifications.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := notifications.Wait(); err != nil {
		t.Fatalf("notifications: %v", err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "seed3_orders20.golden"))
	if err != nil {
		t.Fatal(err)
	}
	// The single process adds a line before and after the stories.
	lines := strings.Split(strings.TrimSpace(string(want)), "\n")
	stories := strings.Join(lines[1:len(lines)-1], "\n") + "\n"
	if notified.String() != stories {
		t.Fatalf("the notifications process told:\n%s\nwant:\n%s", notified.String(), stories)
	}
}

// waitFor polls until cond holds, failing t after 60s: the only way to see
// other processes' progress.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Services on one recording bus: a blocked customer's order goes
// ORDER_PLACED → PAYMENT_PROCESSED → ORDER_CANCELLED, and nothing ships.
func TestBlockedCustomerIsCancelled(t *testing.T) {
	b := necrotest.NewBackend(t)
	notifier := &notifications.Notifier{}
	spines := []interface {
		Subscribe(context.Context) error
		RunUntilIdle(context.Context, ...runtime.Event) error
	}{
		payments.NewSpine(b, &payments.Gateway{LimitCents: 100_000, Blocked: map[string]bool{"Mallory": true}}),
		orders.NewSpine(b),
		shipping.NewSpine(b, &shipping.Warehouse{Carriers: []string{"Raven Post"}}),
		notifications.NewSpine(b, notifier),
	}
	for _, s := range spines {
		if err := s.Subscribe(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Enqueue(context.Background(), events.NewOrderPlacedEvent(events.OrderPlaced{Order: 7, Customer: "Mallory", TotalCents: 450})); err != nil {
		t.Fatal(err)
	}
	// One service at a time until none has anything left: each hands the
	// next its events.
	for range 3 {
		for _, s := range spines {
			necrotest.RunUntilIdle(t, s, b)
		}
	}
	chain := necrotest.Chain(t, b, events.EventOrderPlaced, events.EventPaymentProcessed, events.EventOrderCancelled)
	if got := necrotest.One[events.OrderCancelled](t, b, events.EventOrderCancelled); got.Reason != "card refused" {
		t.Fatalf("cancelled for %q, want card refused", got.Reason)
	}
	necrotest.Count(t, b, events.EventOrderShipped, 0)
	var story bytes.Buffer
	notifier.WriteStories(&story)
	if want := "order 7 for Mallory: 0 items, $4.50 — cancelled: card refused\n"; story.String() != want {
		t.Fatalf("story %q, want %q (chain %v)", story.String(), want, chain)
	}
}
