package redisstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// The tests run chains of STEP events: each root (hop 0) is handled and
// emits hop 1, and so on up to lastHop, which emits nothing. So N roots make
// exactly N × (lastHop+1) entries when nothing is lost or duplicated.
const (
	eventStep = "STEP"
	lastHop   = 3
	stepsSvc  = "steps"
)

// Step is the payload of the tests' events.
type Step struct {
	Root int `json:"root"`
	Hop  int `json:"hop"`
}

// chain is a dispatcher for STEP events that counts what it handled.
type chain struct {
	mu      sync.Mutex
	handled map[Step]int
	work    func(Step) error // optional: runs for every step before it emits
}

func newChain() *chain { return &chain{handled: map[Step]int{}} }

func (c *chain) Dispatch(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
	if in.Type != eventStep {
		return out, runtime.NoRoute(in)
	}
	p, err := runtime.Payload[Step](in)
	if err != nil {
		return out, err
	}
	if c.work != nil {
		if err := c.work(p); err != nil {
			return out, &runtime.HandlerError{Organ: "chain", Err: err}
		}
	}
	c.mu.Lock()
	c.handled[p]++
	c.mu.Unlock()
	if p.Hop < lastHop {
		return runtime.AppendChild(out, in, eventStep, Step{Root: p.Root, Hop: p.Hop + 1}), nil
	}
	return out, nil
}

func (c *chain) count(s Step) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handled[s]
}

// total returns how often each step was handled by any of cs.
func total(cs ...*chain) map[Step]int {
	out := map[Step]int{}
	for _, c := range cs {
		c.mu.Lock()
		for s, n := range c.handled {
			out[s] += n
		}
		c.mu.Unlock()
	}
	return out
}

func roots(from, to int) []runtime.Event {
	evs := make([]runtime.Event, 0, to-from)
	for i := from; i < to; i++ {
		evs = append(evs, runtime.MustNewEvent(eventStep, Step{Root: i}))
	}
	return evs
}

// enqueueRoots publishes roots [from, to) in batches.
func enqueueRoots(t testing.TB, b runtime.Backend, from, to int) {
	t.Helper()
	evs := roots(from, to)
	for len(evs) > 0 {
		n := min(len(evs), 500)
		if err := b.Enqueue(context.Background(), evs[:n]...); err != nil {
			t.Fatal(err)
		}
		evs = evs[n:]
	}
}

// subscribeOldest makes sure service exists on topics from the oldest entry,
// so that roots published before its runners start are handled.
func subscribeOldest(t testing.TB, b *redisstream.Backend, service string, topics ...string) {
	t.Helper()
	c, err := b.Subscribe(context.Background(), runtime.Subscription{Service: service, Topics: topics, Start: runtime.StartOldest})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// groupState is what Redis says about a topic and a service's group on it.
type groupState struct {
	length, pending, lag int64
}

func stateOf(ctx context.Context, c redis.Cmdable, stream, group string) (groupState, error) {
	var st groupState
	n, err := c.XLen(ctx, stream).Result()
	if err != nil {
		return st, err
	}
	st.length = n
	groups, err := c.XInfoGroups(ctx, stream).Result()
	if err != nil {
		return st, err
	}
	for _, g := range groups {
		if g.Name == group {
			st.pending, st.lag = g.Pending, g.Lag
			return st, nil
		}
	}
	return st, fmt.Errorf("no group %s on %s", group, stream)
}

// waitFor polls Redis until cond holds for the topic, failing t after
// timeout. Polling is the only way to observe another process's progress.
func waitFor(t testing.TB, c redis.Cmdable, stream, group string, timeout time.Duration, what string, cond func(groupState) bool) groupState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last groupState
	var lastErr error
	for {
		st, err := stateOf(context.Background(), c, stream, group)
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: last state %+v, error %v", timeout, what, last, lastErr)
		}
		<-tick.C
	}
}

// waitDone waits until the STEP topic holds want entries, all delivered to
// the steps service and acknowledged.
func waitDone(t testing.TB, c redis.Cmdable, b *redisstream.Backend, want int64, timeout time.Duration) {
	t.Helper()
	waitFor(t, c, b.TopicKey(eventStep), stepsSvc, timeout, fmt.Sprintf("%d entries, all acknowledged", want), func(st groupState) bool {
		return st.length == want && st.pending == 0 && st.lag == 0
	})
}

// readSteps reads a whole topic: how often each step is in it, and how many
// children each event has.
func readSteps(t testing.TB, c redis.Cmdable, stream string) (seen map[Step]int, children map[string]int) {
	t.Helper()
	seen, children = map[Step]int{}, map[string]int{}
	start := "-"
	for {
		msgs, err := c.XRangeN(context.Background(), stream, start, "+", 1000).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			ev, err := runtime.DecodeEvent([]byte(m.Values["event"].(string)))
			if err != nil {
				t.Fatalf("entry %s: %v", m.ID, err)
			}
			p, err := runtime.Payload[Step](ev)
			if err != nil {
				t.Fatal(err)
			}
			seen[p]++
			if p.Hop > 0 {
				children[ev.CausationID.String()]++
			}
		}
		if len(msgs) < 1000 {
			return seen, children
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// checkChains reads the whole topic and checks that roots [0, n) each have
// exactly one entry per hop: nothing missing, no emitted event written twice.
func checkChains(t testing.TB, c redis.Cmdable, stream string, n int) {
	t.Helper()
	seen, children := readSteps(t, c, stream)
	bad := 0
	for root := range n {
		for hop := 0; hop <= lastHop; hop++ {
			if k := seen[Step{root, hop}]; k != 1 && bad < 10 {
				t.Errorf("root %d hop %d is in the stream %d times, want exactly once", root, hop, k)
				bad++
			}
		}
	}
	for parent, k := range children {
		if k != 1 && bad < 10 {
			t.Errorf("event %s has %d children in the stream, want exactly 1", parent, k)
			bad++
		}
	}
	if len(seen) != n*(lastHop+1) {
		t.Errorf("the stream holds %d distinct steps, want %d", len(seen), n*(lastHop+1))
	}
}

// runner serves b with d as service "steps" in the background until the
// test ends.
type runner struct {
	r    *runtime.Runner
	done chan error
}

func stepOptions(opts ...runtime.Option) []runtime.Option {
	return append([]runtime.Option{
		runtime.WithService(stepsSvc),
		runtime.WithTopics(eventStep),
		runtime.WithStartAt(runtime.StartOldest),
		runtime.WithPullTimeout(100 * time.Millisecond),
		runtime.WithBackoff(10*time.Millisecond, 200*time.Millisecond),
		runtime.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
}

func serve(t testing.TB, b runtime.Backend, d runtime.Dispatcher, opts ...runtime.Option) *runner {
	t.Helper()
	r := &runner{r: runtime.NewRunner(b, d, stepOptions(opts...)...), done: make(chan error, 1)}
	if err := r.r.Subscribe(context.Background()); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.r.Run(context.Background()) }()
	t.Cleanup(r.stop)
	return r
}

func (r *runner) stop() {
	r.r.Stop()
	<-r.done
	r.done <- nil // let a second stop return
}

// The child process: the test binary run again with NECRO_TEST_PROCESS set,
// serving one role until SIGTERM. It records what it handles in Redis (a
// hash per service counting each step), so that the count survives SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("NECRO_TEST_PROCESS") == "1" {
		os.Exit(processMain())
	}
	goleak.VerifyTestMain(m, goRedisClock)
}

// processEnv is how a test tells a child process what to be.
type processEnv struct {
	url, bus, consumer string
	role               string // a key of roles
	claimIdle, expiry  time.Duration
	workers            int
}

// roles are the services a child process can run: each handles some event
// types and emits the next, recording every handling in the ledger.
var roles = map[string]struct {
	topics []string
	next   map[string]string // type handled → type emitted ("" for none)
}{
	stepsSvc: {topics: []string{eventStep}},
	"first":  {topics: []string{"A"}, next: map[string]string{"A": "B"}},
	"second": {topics: []string{"B"}, next: map[string]string{"B": "C"}},
	"audit":  {topics: []string{"A", "B", "C"}, next: map[string]string{}},
}

// ledgerKey is where a service's handlings are counted.
func ledgerKey(bus, service string) string { return "{" + bus + "}:ledger:" + service }

func processMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	claimIdle, _ := time.ParseDuration(os.Getenv("NECRO_CLAIM_IDLE"))
	expiry, _ := time.ParseDuration(os.Getenv("NECRO_EXPIRY"))
	workers, _ := strconv.Atoi(os.Getenv("NECRO_WORKERS"))
	bus, role := os.Getenv("NECRO_BUS"), os.Getenv("NECRO_ROLE")
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	b, err := redisstream.Dial(ctx, os.Getenv("NECRO_URL"),
		redisstream.WithBus(bus),
		redisstream.WithConsumer(os.Getenv("NECRO_CONSUMER")),
		redisstream.WithClaimIdle(claimIdle),
		redisstream.WithConsumerExpiry(expiry),
		redisstream.WithTrimEvery(0), // the tests read whole topics
		redisstream.WithLogger(logger))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r, ok := roles[role]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 1
	}
	ledger := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(os.Getenv("NECRO_URL"), "redis://"), "/0")})
	defer ledger.Close()
	d := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		p, err := runtime.Payload[Step](in)
		if err != nil {
			return out, err
		}
		if err := ledger.HIncrBy(ctx, ledgerKey(bus, role), fmt.Sprintf("%s/%d/%d", in.Type, p.Root, p.Hop), 1).Err(); err != nil {
			return out, err
		}
		switch {
		case role == stepsSvc && p.Hop < lastHop:
			out = runtime.AppendChild(out, in, eventStep, Step{Root: p.Root, Hop: p.Hop + 1})
		case r.next[in.Type] != "":
			out = runtime.AppendChild(out, in, r.next[in.Type], Step{Root: p.Root, Hop: p.Hop + 1})
		}
		return out, nil
	})
	run := runtime.NewRunner(b, d, runtime.WithService(role), runtime.WithTopics(r.topics...),
		runtime.WithStartAt(runtime.StartOldest), runtime.WithWorkers(max(workers, 1)),
		runtime.WithPullTimeout(100*time.Millisecond), runtime.WithBackoff(10*time.Millisecond, 200*time.Millisecond),
		runtime.WithLogger(logger))
	if err := run.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// process is a child process serving one role.
type process struct {
	cmd    *exec.Cmd
	exited chan error
}

func startProcess(t testing.TB, env processEnv) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NECRO_TEST_PROCESS=1", "NECRO_URL="+env.url, "NECRO_BUS="+env.bus,
		"NECRO_CONSUMER="+env.consumer, "NECRO_ROLE="+env.role, "NECRO_CLAIM_IDLE="+env.claimIdle.String(),
		"NECRO_EXPIRY="+max(env.expiry, env.claimIdle).String(), "NECRO_WORKERS="+strconv.Itoa(env.workers))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		err := <-p.exited
		p.exited <- err
	})
	return p
}

// kill ends the process with SIGKILL.
func (p *process) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-p.exited
	p.exited <- err
}

// stop ends the process with SIGTERM and fails t unless it exits cleanly.
func (p *process) stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("process: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("process did not stop within 30s of SIGTERM")
	}
}

// ledger reads how often a service handled each step, by "TYPE/root/hop".
func ledger(t testing.TB, c redis.Cmdable, bus, service string) map[string]int {
	t.Helper()
	m, err := c.HGetAll(context.Background(), ledgerKey(bus, service)).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k], _ = strconv.Atoi(v)
	}
	return out
}
