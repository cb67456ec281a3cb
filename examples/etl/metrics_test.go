package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedWriter collects what the demo writes while the test reads it.
type lockedWriter struct {
	mu sync.Mutex
	sb strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sb.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sb.String()
}

// With -metrics-addr the demo prints the same summary, then serves
// Prometheus metrics until interrupted: a scrape counts the events of each
// type it handled (24 sample rows in batches of 10: three batches).
func TestRunServesMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedWriter
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"-batch-size", "10", "-metrics-addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	served := regexp.MustCompile(`etl: serving metrics at (http://\S+/metrics) until interrupted`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; m = served.FindStringSubmatch(stderr.String()) {
		select {
		case code := <-exit:
			t.Fatalf("etl exited %d without serving metrics; stderr:\n%s", code, stderr.String())
		case <-time.After(5 * time.Millisecond): // the demo's output is the only signal
		}
		if time.Now().After(deadline) {
			t.Fatalf("etl did not say where its metrics are; stderr:\n%s", stderr.String())
		}
	}
	if !strings.Contains(stdout.String(), "24 rows read in 3 batches") {
		t.Fatalf("the summary:\n%s", stdout.String())
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", m[1], resp.Status, err)
	}
	for eventType, n := range map[string]string{EventEtlStart: "1", EventRawDataLoaded: "3", EventDataCleaned: "3", EventDataTransformed: "3"} {
		line := `(?m)^necrostack_events_handled_total\{event_type="` + eventType + `",[^}]*outcome="ok",service="etl"\} ` + n + `$`
		if !regexp.MustCompile(line).Match(body) {
			t.Errorf("/metrics does not count %s %s events handled by etl:\n%s", n, eventType, body)
		}
	}

	cancel()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Fatalf("exit %d after the interrupt; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("etl did not end after the interrupt")
	}
}

func TestRunBadMetricsAddr(t *testing.T) {
	code, _, stderr := runDemo(t, context.Background(), []string{"-metrics-addr", "127.0.0.1:-1"})
	if code != exitUsage || !strings.Contains(stderr, "-metrics-addr") {
		t.Fatalf("exit %d, stderr %q; want %d and a message naming -metrics-addr", code, stderr, exitUsage)
	}
}
