package redisstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// The tests run chains of STEP events: each root (hop 0) is handled and
// emits hop 1, and so on up to lastHop, which emits nothing. So N roots make
// exactly N × (lastHop+1) entries when nothing is lost or duplicated.
const (
	eventStep = "STEP"
	lastHop   = 3
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

// enqueueRoots enqueues roots [from, to) in batches.
func enqueueRoots(t testing.TB, b runtime.Backend, from, to int) {
	t.Helper()
	var batch []runtime.Event
	for i := from; i < to; i++ {
		batch = append(batch, runtime.MustNewEvent(eventStep, Step{Root: i}))
		if len(batch) == 500 || i == to-1 {
			if err := b.Enqueue(context.Background(), batch...); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// groupState is what Redis says about the stream and its group.
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

// waitFor polls Redis until cond holds for the stream, failing t after timeout.
// Polling is the only way to observe another process's progress.
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

// waitDone waits until the stream holds want entries, all delivered and acknowledged.
func waitDone(t testing.TB, c redis.Cmdable, b *redisstream.Backend, want int64, timeout time.Duration) {
	t.Helper()
	waitFor(t, c, b.StreamKey(), b.Group(), timeout, fmt.Sprintf("%d entries, all acknowledged", want), func(st groupState) bool {
		return st.length == want && st.pending == 0 && st.lag == 0
	})
}

// checkChains reads the whole stream and checks that roots [0, n) each have
// exactly one entry per hop: nothing missing, no emitted event written twice.
func checkChains(t testing.TB, c redis.Cmdable, stream string, n int) {
	t.Helper()
	seen := map[Step]int{}
	parents := map[string]int{} // causation id → children
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
				parents[ev.CausationID.String()]++
			}
		}
		if len(msgs) < 1000 {
			break
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
	bad := 0
	for root := range n {
		for hop := 0; hop <= lastHop; hop++ {
			if k := seen[Step{root, hop}]; k != 1 && bad < 10 {
				t.Errorf("root %d hop %d is in the stream %d times, want exactly once", root, hop, k)
				bad++
			}
		}
	}
	for parent, k := range parents {
		if k != 1 && bad < 10 {
			t.Errorf("event %s has %d children in the stream, want exactly 1", parent, k)
			bad++
		}
	}
	if len(seen) != n*(lastHop+1) {
		t.Errorf("the stream holds %d distinct steps, want %d", len(seen), n*(lastHop+1))
	}
}

// runner serves b with d in the background until the test ends.
type runner struct {
	r    *runtime.Runner
	done chan error
}

func serve(t testing.TB, b runtime.Backend, d runtime.Dispatcher, opts ...runtime.Option) *runner {
	t.Helper()
	opts = append([]runtime.Option{
		runtime.WithPullTimeout(100 * time.Millisecond),
		runtime.WithBackoff(10*time.Millisecond, 200*time.Millisecond),
		runtime.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	r := &runner{r: runtime.NewRunner(b, d, opts...), done: make(chan error, 1)}
	go func() { r.done <- r.r.Run(context.Background()) }()
	t.Cleanup(r.stop)
	return r
}

func (r *runner) stop() {
	r.r.Stop()
	<-r.done
	r.done <- nil // let a second stop return
}

// The consumer process: the test binary run again with NECRO_TEST_CONSUMER
// set, serving the chain until SIGTERM, then printing the steps it handled
// as JSON on stdout.
func TestMain(m *testing.M) {
	if os.Getenv("NECRO_TEST_CONSUMER") == "1" {
		os.Exit(consumerMain())
	}
	os.Exit(m.Run())
}

func consumerMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	claimIdle, _ := time.ParseDuration(os.Getenv("NECRO_CLAIM_IDLE"))
	b, err := redisstream.Dial(ctx, os.Getenv("NECRO_URL"),
		redisstream.WithApp(os.Getenv("NECRO_APP")),
		redisstream.WithConsumer(os.Getenv("NECRO_CONSUMER")),
		redisstream.WithClaimIdle(claimIdle),
		redisstream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := newChain()
	r := runtime.NewRunner(b, c, runtime.WithPullTimeout(100*time.Millisecond),
		runtime.WithLogger(slog.New(slog.DiscardHandler)))
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var handled []Step
	for s, n := range c.handled {
		for range n {
			handled = append(handled, s)
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(handled); err != nil {
		return 1
	}
	return 0
}

// consumerProcess is a consumer running in a child process.
type consumerProcess struct {
	cmd    *exec.Cmd
	stdout *os.File
	exited chan error
}

func startConsumer(t testing.TB, url, app, name string, claimIdle time.Duration) *consumerProcess {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "consumer-*.json")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NECRO_TEST_CONSUMER=1", "NECRO_URL="+url, "NECRO_APP="+app,
		"NECRO_CONSUMER="+name, "NECRO_CLAIM_IDLE="+claimIdle.String())
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &consumerProcess{cmd: cmd, stdout: out, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		p.exited <- nil
	})
	return p
}

// kill ends the process with SIGKILL.
func (p *consumerProcess) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-p.exited
	p.exited <- err
}

// stop ends the process with SIGTERM and returns the steps it handled.
func (p *consumerProcess) stop(t testing.TB) []Step {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("consumer process: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("consumer process did not stop within 30s of SIGTERM")
	}
	data, err := os.ReadFile(p.stdout.Name())
	if err != nil {
		t.Fatal(err)
	}
	var handled []Step
	if err := json.Unmarshal(data, &handled); err != nil {
		t.Fatalf("consumer output %q: %v", data, err)
	}
	return handled
}
