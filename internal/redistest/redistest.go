// Package redistest starts a private redis-server for a test, on a free
// loopback port, so that tests can kill and restart it without touching any
// shared Redis. With NECRO_REDIS_URL set, tests that need no restart use that
// server instead. With neither a redis-server on PATH nor NECRO_REDIS_URL,
// tests skip with a message saying so, and fail when NECRO_REQUIRE_REDIS=1.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a Redis server for one test.
type Server struct {
	Addr     string // host:port
	url      string
	dir      string
	args     []string
	cmd      *exec.Cmd
	exited   chan struct{}
	external bool
}

// Option configures Start.
type Option func(*settings)

type settings struct {
	appendOnly bool
	own        bool
}

// AppendOnly starts the server with an append-only file fsynced on every
// write, so that a restart, even after SIGKILL, loses nothing acknowledged.
// It implies Own.
func AppendOnly() Option { return func(s *settings) { s.appendOnly, s.own = true, true } }

// Own insists on a private redis-server (the test kills or restarts it):
// NECRO_REDIS_URL is not used.
func Own() Option { return func(s *settings) { s.own = true } }

// Required reports whether NECRO_REQUIRE_REDIS=1: Redis tests must run.
func Required() bool { return os.Getenv("NECRO_REQUIRE_REDIS") == "1" }

func unavailable(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("Redis is required (NECRO_REQUIRE_REDIS=1) but %s", why)
	}
	t.Skipf("skipping: %s (install redis-server, or set NECRO_REDIS_URL=redis://host:port/db)", why)
}

// Start returns a Redis server for t, stopped when t ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var set settings
	for _, o := range opts {
		o(&set)
	}
	if u := os.Getenv("NECRO_REDIS_URL"); u != "" && !set.own {
		o, err := redis.ParseURL(u)
		if err != nil {
			t.Fatalf("NECRO_REDIS_URL: %v", err)
		}
		return &Server{Addr: o.Addr, url: u, external: true}
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "no redis-server on PATH")
	}
	s := &Server{dir: t.TempDir()}
	s.args = []string{"--bind", "127.0.0.1", "--save", "", "--dir", s.dir, "--protected-mode", "no", "--loglevel", "warning"}
	if set.appendOnly {
		s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		s.args = append(s.args, "--appendonly", "no")
	}
	var lastErr error
	for range 5 { // another process may take the free port first
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.url = "redis://" + s.Addr + "/0"
		if lastErr = s.start(bin); lastErr == nil {
			t.Cleanup(func() { s.stop() })
			return s
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin string) error {
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := exec.Command(bin, append([]string{"--port", port}, s.args...)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited: %s", s.Addr, strings.TrimSpace(out.String()))
		case <-time.After(20 * time.Millisecond): // polling a process that is starting up
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("redis-server on %s did not answer PING within 10s: %v", s.Addr, err)
		}
	}
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// URL returns the redis:// URL of the server.
func (s *Server) URL() string { return s.url }

// Client returns a client of the server, closed when t ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(s.url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

var appSeq atomic.Int64

// App returns an app name no other test uses, so that tests sharing a
// server (NECRO_REDIS_URL) never see each other's keys.
func App(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	return fmt.Sprintf("test-%s-%d-%d", name, os.Getpid(), appSeq.Add(1))
}

// Kill stops the server with SIGKILL and waits until it has exited.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.external {
		t.Fatal("redistest: cannot kill an external server; start it with Own()")
	}
	s.stop()
}

// Restart starts the server again on the same port and directory: with
// AppendOnly its data comes back; without, it starts empty.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.external {
		t.Fatal("redistest: cannot restart an external server; start it with Own()")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 50 { // the port may linger for a moment after the kill
		if lastErr = s.start(bin); lastErr == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("restart redis-server on %s: %v", s.Addr, lastErr)
}
