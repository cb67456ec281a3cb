package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that the demo writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var metricsURL = regexp.MustCompile(`serving metrics at (http://\S+/metrics) until interrupted`)

// With -metrics-addr the demo tells the same story, then serves Prometheus
// metrics until interrupted: a scrape finds the events it handled.
func TestMetricsEndpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"-seed", "7", "-metrics-addr", "127.0.0.1:0"}, &stdout, &stderr) }()

	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		select {
		case code := <-exit:
			t.Fatalf("the demo exited (%d) without serving metrics; stderr:\n%s", code, stderr.String())
		case <-time.After(5 * time.Millisecond): // polling the demo's output, which has no other signal
		}
		if m := metricsURL.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the demo did not say where its metrics are; stderr:\n%s", stderr.String())
		}
	}
	want, err := os.ReadFile(filepath.Join("testdata", "seed7.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != string(want) {
		t.Fatalf("with -metrics-addr the story differs:\n%s\nwant:\n%s", stdout.String(), want)
	}

	body := scrape(t, url)
	for _, eventType := range []string{EventSummonRitual, EventSpiritAppeared, EventAnswerGenerated, EventOmenRevealed} {
		line := regexp.MustCompile(`(?m)^necrostack_events_handled_total\{event_type="` + eventType + `",[^}]*outcome="ok",service="seance"\} 1$`)
		if !line.MatchString(body) {
			t.Errorf("/metrics does not count one %s handled by seance:\n%s", eventType, grepLines(body, "necrostack_"))
		}
	}

	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("exit %d after the interrupt; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not end after the interrupt")
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("the metrics are still served after the demo ended")
	}
}

func TestMetricsAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, _, stderr := runDemo(t, "-metrics-addr", l.Addr().String())
	if code != 2 || !strings.Contains(stderr, "-metrics-addr") {
		t.Fatalf("exit %d, stderr %q; want 2 and a message naming -metrics-addr", code, stderr)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(body)
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
