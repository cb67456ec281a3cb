package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/necrostack/necrostack/internal/demotest"
)

// With -metrics-addr the demo prints the same summary, then serves
// Prometheus metrics until interrupted: a scrape counts the events of each
// type it handled (24 sample rows in batches of 10: three batches).
func TestRunServesMetrics(t *testing.T) {
	demo := demotest.ServeMetrics(t, run, 10*time.Second, "-batch-size", "10", "-metrics-addr", "127.0.0.1:0")
	if !strings.Contains(demo.Stdout.String(), "24 rows read in 3 batches") {
		t.Fatalf("the summary:\n%s", demo.Stdout.String())
	}
	body := demo.Scrape(t)
	for eventType, n := range map[string]string{EventEtlStart: "1", EventRawDataLoaded: "3", EventDataCleaned: "3", EventDataTransformed: "3"} {
		line := `(?m)^necrostack_events_handled_total\{event_type="` + eventType + `",[^}]*outcome="ok",service="etl"\} ` + n + `$`
		if !regexp.MustCompile(line).MatchString(body) {
			t.Errorf("/metrics does not count %s %s events handled by etl:\n%s", n, eventType, demotest.Lines(body, "necrostack_"))
		}
	}
	if code := demo.Interrupt(t); code != exitOK {
		t.Fatalf("exit %d after the interrupt; stderr:\n%s", code, demo.Stderr.String())
	}
}

func TestRunBadMetricsAddr(t *testing.T) {
	code, _, stderr := runDemo(t, context.Background(), []string{"-metrics-addr", "127.0.0.1:-1"})
	if code != exitUsage || !strings.Contains(stderr, "-metrics-addr") {
		t.Fatalf("exit %d, stderr %q; want %d and a message naming -metrics-addr", code, stderr, exitUsage)
	}
}
