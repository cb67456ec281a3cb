package redisstream_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// chaos runs replicas of each role as child processes while a producer
// publishes roots, SIGKILLing a random replica and starting a new one (under
// a new consumer name, as a crashed pod comes back) every so often, then lets
// the survivors finish and stops them gracefully.
type chaos struct {
	t        *testing.T
	srv      *redistest.Server
	bus      string
	replicas map[string][]*process
	started  int
}

const chaosClaimIdle = 500 * time.Millisecond

func (c *chaos) start(role string) *process {
	c.started++
	return startProcess(c.t, processEnv{
		url: c.srv.URL(), bus: c.bus, role: role, workers: 4,
		consumer:  fmt.Sprintf("%s-%d", role, c.started),
		claimIdle: chaosClaimIdle, expiry: 2 * chaosClaimIdle,
	})
}

// run publishes batches of roots of type root for d, killing and replacing
// a replica every killEvery, and returns how many roots it published.
func (c *chaos) run(producer *redisstream.Backend, root string, d, killEvery time.Duration) (kills, roots int) {
	t := c.t
	rnd := rand.New(rand.NewPCG(1, 2))
	roles := make([]string, 0, len(c.replicas))
	for role := range c.replicas {
		roles = append(roles, role)
	}
	publish := time.NewTicker(100 * time.Millisecond)
	defer publish.Stop()
	kill := time.NewTicker(killEvery)
	defer kill.Stop()
	end := time.After(d)
	for {
		select {
		case <-publish.C:
			batch := make([]runtime.Event, 50)
			for i := range batch {
				batch[i] = runtime.MustNewEvent(root, Step{Root: roots + i})
			}
			if err := producer.Enqueue(context.Background(), batch...); err != nil {
				t.Fatal(err)
			}
			roots += len(batch)
		case <-kill.C:
			role := roles[rnd.IntN(len(roles))]
			i := rnd.IntN(len(c.replicas[role]))
			c.replicas[role][i].kill(t)
			c.replicas[role][i] = c.start(role)
			kills++
		case <-end:
			return kills, roots
		}
	}
}

func (c *chaos) stopAll() {
	for _, ps := range c.replicas {
		for _, p := range ps {
			p.stop(c.t)
		}
	}
}

// waitSettled waits until every group of every service on its topics has
// delivered and settled everything.
func waitSettled(t *testing.T, client *redis.Client, b *redisstream.Backend, groups map[string][]string, lengths map[string]int64) {
	t.Helper()
	for service, topics := range groups {
		for _, topic := range topics {
			want := lengths[topic]
			waitFor(t, client, b.TopicKey(topic), service, 120*time.Second, fmt.Sprintf("service %s to finish %s (%d entries)", service, topic, want),
				func(st groupState) bool { return st.length == want && st.pending == 0 && st.lag == 0 })
		}
	}
}

// checkLedger fails t unless service handled each of want at least once.
func checkLedger(t *testing.T, client *redis.Client, bus, service string, want []string) {
	t.Helper()
	handled := ledger(t, client, bus, service)
	missing, twice := 0, 0
	for _, step := range want {
		switch n := handled[step]; {
		case n == 0:
			if missing < 10 {
				t.Errorf("service %s never handled %s", service, step)
			}
			missing++
		case n > 1:
			twice++
		}
	}
	t.Logf("service %s: %d steps, %d handled more than once (its consumer was killed before the ack)", service, len(want), twice)
}

// checkTopic reads a topic and fails t unless each of roots [0, n) is in it
// exactly once at hop, and no event has two children in it.
func checkTopic(t *testing.T, client *redis.Client, b *redisstream.Backend, topic string, n, hop int) {
	t.Helper()
	seen, children := readSteps(t, client, b.TopicKey(topic))
	bad := 0
	for root := range n {
		if k := seen[Step{root, hop}]; k != 1 && bad < 10 {
			t.Errorf("topic %s holds root %d %d times, want once", topic, root, k)
			bad++
		}
	}
	for parent, k := range children {
		if k != 1 && bad < 10 {
			t.Errorf("event %s has %d children in %s, want 1: an emitted event was written twice", parent, k, topic)
			bad++
		}
	}
	if len(seen) != n {
		t.Errorf("topic %s holds %d distinct steps, want %d", topic, len(seen), n)
	}
}

func steps(topic string, n, hop int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/%d/%d", topic, i, hop)
	}
	return out
}

// Three consumer processes of one service, four workers each, while
// replicas are SIGKILLed and restarted under new names for about ten
// seconds: every hop of every chain is in the topic exactly once, handled at
// least once, nothing is left pending, and the consumers of the killed
// processes do not pile up in the group.
func TestChaosKillAndRestartConsumers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about ten seconds")
	}
	srv := redistest.Start(t)
	c := &chaos{t: t, srv: srv, bus: redistest.App(t), replicas: map[string][]*process{}}
	producer := dial(t, srv, redisstream.WithBus(c.bus))
	subscribeOldest(t, producer, stepsSvc, eventStep)
	for range 3 {
		c.replicas[stepsSvc] = append(c.replicas[stepsSvc], c.start(stepsSvc))
	}
	kills, n := c.run(producer, eventStep, 10*time.Second, 700*time.Millisecond)
	client := srv.Client(t)
	waitSettled(t, client, producer, map[string][]string{stepsSvc: {eventStep}}, map[string]int64{eventStep: int64(n * (lastHop + 1))})
	// Consumers of killed processes hold nothing once their entries were
	// reclaimed, and expire.
	waitConsumers(t, client, producer.TopicKey(eventStep), stepsSvc, 3)
	c.stopAll()
	checkChains(t, client, producer.TopicKey(eventStep), n)
	var want []string
	for hop := 0; hop <= lastHop; hop++ {
		for root := range n {
			want = append(want, fmt.Sprintf("%s/%d/%d", eventStep, root, hop))
		}
	}
	checkLedger(t, client, c.bus, stepsSvc, want)
	consumers, err := client.XInfoConsumers(context.Background(), producer.TopicKey(eventStep), stepsSvc).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, cons := range consumers {
		if cons.Pending != 0 {
			t.Errorf("consumer %s holds %d entries after everything was handled", cons.Name, cons.Pending)
		}
	}
	if len(consumers) > 1 {
		t.Errorf("%d consumers left in the group after every process stopped: %+v", len(consumers), consumers)
	}
	t.Logf("%d roots, %d kills", n, kills)
}

// waitConsumers waits until the group has at most n consumers.
func waitConsumers(t *testing.T, client *redis.Client, stream, group string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		consumers, err := client.XInfoConsumers(context.Background(), stream, group).Result()
		if err == nil && len(consumers) <= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the group %s of %s still has %d consumers after 30s, want at most %d: %+v", group, stream, len(consumers), n, consumers)
		}
		time.Sleep(50 * time.Millisecond) // polling other processes' state
	}
}

// Three services, two replicas each, in their own processes, sharing a bus:
// "first" turns A into B, "second" B into C, "audit" listens to all three.
// Replicas are SIGKILLed and restarted for about eight seconds. Each service
// handles every event of its topics at least once (fan-out), each event is
// in its topic exactly once, no emitted event is written twice, and nothing
// is left pending.
func TestServicesAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about eight seconds")
	}
	srv := redistest.Start(t)
	c := &chaos{t: t, srv: srv, bus: redistest.App(t), replicas: map[string][]*process{}}
	producer := dial(t, srv, redisstream.WithBus(c.bus))
	groups := map[string][]string{"first": {"A"}, "second": {"B"}, "audit": {"A", "B", "C"}}
	for service, topics := range groups {
		subscribeOldest(t, producer, service, topics...)
		for range 2 {
			c.replicas[service] = append(c.replicas[service], c.start(service))
		}
	}
	kills, n := c.run(producer, "A", 8*time.Second, 600*time.Millisecond)
	client := srv.Client(t)
	waitSettled(t, client, producer, groups, map[string]int64{"A": int64(n), "B": int64(n), "C": int64(n)})
	c.stopAll()
	for hop, topic := range []string{"A", "B", "C"} {
		checkTopic(t, client, producer, topic, n, hop)
	}
	checkLedger(t, client, c.bus, "first", steps("A", n, 0))
	checkLedger(t, client, c.bus, "second", steps("B", n, 1))
	checkLedger(t, client, c.bus, "audit", append(append(steps("A", n, 0), steps("B", n, 1)...), steps("C", n, 2)...))
	t.Logf("%d roots, %d kills", n, kills)
}
