package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/necrostack/necrostack/internal/demotest"
)

// With -metrics-addr the demo tells the same story, then serves Prometheus
// metrics until interrupted: a scrape finds the events it handled.
func TestMetricsEndpoint(t *testing.T) {
	demo := demotest.ServeMetrics(t, run, 10*time.Second, "-seed", "7", "-metrics-addr", "127.0.0.1:0")
	want, err := os.ReadFile(filepath.Join("testdata", "seed7.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if demo.Stdout.String() != string(want) {
		t.Fatalf("with -metrics-addr the story differs:\n%s\nwant:\n%s", demo.Stdout.String(), want)
	}

	body := demo.Scrape(t)
	for _, eventType := range []string{EventSummonRitual, EventSpiritAppeared, EventAnswerGenerated, EventOmenRevealed} {
		line := regexp.MustCompile(`(?m)^necrostack_events_handled_total\{event_type="` + eventType + `",[^}]*outcome="ok",service="seance"\} 1$`)
		if !line.MatchString(body) {
			t.Errorf("/metrics does not count one %s handled by seance:\n%s", eventType, demotest.Lines(body, "necrostack_"))
		}
	}

	if code := demo.Interrupt(t); code != 0 {
		t.Fatalf("exit %d after the interrupt; stderr:\n%s", code, demo.Stderr.String())
	}
	if _, err := http.Get(demo.URL); err == nil {
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
