package main

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

// With -metrics-addr every service's handling is counted, per service.
func TestMetricsEndpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, []string{"-metrics-addr", "127.0.0.1:0"}, &stdout, &stderr) }()
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == ""; {
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
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The default run: 6 orders, each placed once, handled by payments and
	// notifications (fan-out).
	for _, svc := range []string{"payments", "notifications"} {
		line := regexp.MustCompile(`(?m)^necrostack_events_handled_total\{event_type="ORDER_PLACED",[^}]*outcome="ok",service="` + svc + `"\} 6$`)
		if !line.MatchString(string(body)) {
			var lines []string
			for _, l := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(l, "necrostack_events_handled_total") {
					lines = append(lines, l)
				}
			}
			t.Errorf("/metrics does not count 6 ORDER_PLACED handled by %s:\n%s", svc, strings.Join(lines, "\n"))
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
}
