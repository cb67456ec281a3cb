package otelprom_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/memory"
	"github.com/necrostack/necrostack/runtime/otelnecro"
	"github.com/necrostack/necrostack/runtime/otelnecro/otelprom"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scrape GETs url and returns the body.
func scrape(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
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

// The server serves NecroStack's metrics under their Prometheus names, with
// the Go runtime's, until Close; Close twice is fine.
func TestServe(t *testing.T) {
	srv, err := otelprom.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := memory.New()
	defer b.Close()
	d := runtime.DispatchFunc(func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		return out, nil
	})
	r := runtime.NewRunner(b, d, append([]runtime.Option{runtime.WithService("seance"), runtime.WithTopics("SUMMON"),
		runtime.WithLogger(slog.New(slog.DiscardHandler))}, otelnecro.Options(otelnecro.WithMeterProvider(srv.MeterProvider()))...)...)
	if err := r.RunUntilIdle(context.Background(), runtime.MustNewEvent("SUMMON", 1), runtime.MustNewEvent("SUMMON", 2)); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, srv.URL())
	for _, want := range []string{
		`necrostack_events_handled_total{event_type="SUMMON",otel_scope_name="` + otelnecro.ScopeName + `",otel_scope_schema_url="",otel_scope_version="",outcome="ok",service="seance"} 2`,
		`# TYPE necrostack_event_duration_seconds histogram`,
		`# TYPE go_goroutines gauge`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(srv.URL()); err == nil {
		t.Fatal("the server still answers after Close")
	}
}

func TestServeBadAddress(t *testing.T) {
	if _, err := otelprom.Serve("127.0.0.1:-1"); err == nil {
		t.Fatal("Serve accepted port -1")
	}
}
