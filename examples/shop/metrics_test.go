package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/necrostack/necrostack/internal/demotest"
)

// With -metrics-addr every service's handling is counted, per service.
func TestMetricsEndpoint(t *testing.T) {
	demo := demotest.ServeMetrics(t, run, 20*time.Second, "-metrics-addr", "127.0.0.1:0")
	body := demo.Scrape(t)
	// The default run: 6 orders, each placed once, handled by payments and
	// notifications (fan-out).
	for _, svc := range []string{"payments", "notifications"} {
		line := regexp.MustCompile(`(?m)^necrostack_events_handled_total\{event_type="ORDER_PLACED",[^}]*outcome="ok",service="` + svc + `"\} 6$`)
		if !line.MatchString(body) {
			t.Errorf("/metrics does not count 6 ORDER_PLACED handled by %s:\n%s", svc, demotest.Lines(body, "necrostack_events_handled_total"))
		}
	}
	if code := demo.Interrupt(t); code != 0 {
		t.Fatalf("exit %d after the interrupt; stderr:\n%s", code, demo.Stderr.String())
	}
}
