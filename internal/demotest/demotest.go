// Package demotest runs a demo's run function in a test while the test
// reads what it prints: the demos' -metrics-addr tests start a demo, wait
// for it to say where its metrics are, scrape them and interrupt it.
package demotest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Run is a demo's entry point: main calls it with os.Args[1:] and exits
// with the code it returns.
type Run func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// Buffer is a bytes.Buffer that a demo writes while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Demo is a demo running in the background of a test.
type Demo struct {
	Stdout, Stderr Buffer
	URL            string // where it serves its metrics
	cancel         context.CancelFunc
	exit           chan int
}

var servingMetrics = regexp.MustCompile(`serving metrics at (http://\S+/metrics) until interrupted`)

// ServeMetrics starts run with args (which ask for -metrics-addr) and waits
// until the demo says where it serves its metrics. It fails the test when
// the demo exits first or stays silent for timeout. The demo is interrupted
// when the test ends, unless Interrupt was called.
func ServeMetrics(t *testing.T, run Run, timeout time.Duration, args ...string) *Demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &Demo{cancel: cancel, exit: make(chan int, 1)}
	t.Cleanup(cancel)
	go func() { d.exit <- run(ctx, args, &d.Stdout, &d.Stderr) }()
	for deadline := time.Now().Add(timeout); ; {
		select {
		case code := <-d.exit:
			t.Fatalf("the demo exited (%d) without serving metrics; stderr:\n%s", code, d.Stderr.String())
		case <-time.After(5 * time.Millisecond): // polling the demo's output, which has no other signal
		}
		if m := servingMetrics.FindStringSubmatch(d.Stderr.String()); m != nil {
			d.URL = m[1]
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not say where its metrics are; stderr:\n%s", d.Stderr.String())
		}
	}
}

// Scrape returns the body of GET d.URL, failing the test unless it is 200 OK.
func (d *Demo) Scrape(t *testing.T) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", d.URL, resp.Status, err)
	}
	return string(body)
}

// Interrupt cancels the demo's context, as Ctrl-C does, and returns its exit
// code, failing the test if it does not end within 10 seconds.
func (d *Demo) Interrupt(t *testing.T) int {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.exit:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not end after the interrupt")
		return -1
	}
}

// Lines returns the lines of s that start with prefix, for failure messages.
func Lines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
