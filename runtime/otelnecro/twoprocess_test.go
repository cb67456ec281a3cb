package otelnecro_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/necrostack/necrostack/internal/redistest"
	"github.com/necrostack/necrostack/runtime"
	"github.com/necrostack/necrostack/runtime/otelnecro"
	"github.com/necrostack/necrostack/runtime/redisstream"
)

// The environment of the child process of TestOneTraceAcrossProcesses.
const (
	envChild = "OTELNECRO_TEST_CHILD" // the Redis URL; set only in the child
	envBus   = "OTELNECRO_TEST_BUS"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(envChild); url != "" {
		os.Exit(serviceB(url, os.Getenv(envBus), os.Stdout))
	}
	os.Exit(m.Run())
}

// spanJSON is what the child reports of each of its spans.
type spanJSON struct {
	Name     string            `json:"name"`
	TraceID  string            `json:"trace_id"`
	SpanID   string            `json:"span_id"`
	ParentID string            `json:"parent_id"` // "0000000000000000" for a root
	Kind     string            `json:"kind"`
	Status   string            `json:"status"`
	Desc     string            `json:"status_description"`
	Attrs    map[string]string `json:"attributes"`
	Events   []string          `json:"events"`
}

func toJSON(sp sdktrace.ReadOnlySpan) spanJSON {
	s := spanJSON{
		Name:     sp.Name(),
		TraceID:  sp.SpanContext().TraceID().String(),
		SpanID:   sp.SpanContext().SpanID().String(),
		ParentID: sp.Parent().SpanID().String(),
		Kind:     sp.SpanKind().String(),
		Status:   sp.Status().Code.String(),
		Desc:     sp.Status().Description,
		Attrs:    map[string]string{},
	}
	for _, kv := range sp.Attributes() {
		s.Attrs[string(kv.Key)] = kv.Value.Emit()
	}
	for _, ev := range sp.Events() {
		s.Events = append(s.Events, ev.Name)
	}
	return s
}

// serviceB is the child process: service b on the Redis bus handles WORK
// events with organ Work, which fails on the payload "fail" (dead-lettered
// at once: one delivery at most). It prints "ready" once subscribed, stops
// after two events, then prints its spans as JSON, one a line.
func serviceB(url, bus string, stdout io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "service b: "+format+"\n", args...)
		return 1
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	quiet := slog.New(slog.DiscardHandler)
	b, err := redisstream.Dial(ctx, url, redisstream.WithBus(bus), redisstream.WithMaxDeliveries(1), redisstream.WithLogger(quiet))
	if err != nil {
		return fail("%v", err)
	}
	defer b.Close()
	var handled atomic.Int32
	var r *runtime.Runner
	stopAfterTwo := func(next runtime.Handler) runtime.Handler {
		return func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
			out, err := next(ctx, in, out)
			if handled.Add(1) == 2 {
				r.Stop()
			}
			return out, err
		}
	}
	opts := append([]runtime.Option{runtime.WithMiddleware(stopAfterTwo)}, otelnecro.Options(otelnecro.WithTracerProvider(tp))...)
	r, _ = newRunner(b, "b", map[string][]organ{"WORK": {{"Work", failWhen("fail")}}}, opts...)
	if err := r.Subscribe(ctx); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintln(stdout, "ready")
	if err := r.Run(ctx); err != nil {
		return fail("%v", err)
	}
	if ctx.Err() != nil {
		return fail("handled %d events in a minute, want 2", handled.Load())
	}
	enc := json.NewEncoder(stdout)
	for _, sp := range rec.Ended() {
		if err := enc.Encode(toJSON(sp)); err != nil {
			return fail("%v", err)
		}
	}
	return 0
}

// One trace follows a chain across two services in two processes over
// Redis: service a (this process) handles the root and emits two WORK
// events; service b (a child process) handles them, one failing. Every span
// of both processes is in the publisher's trace; b's event spans are
// children of a's organ span that emitted them; the failed one has an error
// status.
func TestOneTraceAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	bus := fmt.Sprintf("otel-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envChild+"="+srv.URL(), envBus+"="+bus)
	var childErr strings.Builder
	child.Stderr = &childErr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		child.Wait()
		t.Fatalf("the child did not get ready: %q; stderr:\n%s", lines.Text(), childErr.String())
	}

	tp, rec := tracing(t)
	tel := otelnecro.New(otelnecro.WithTracerProvider(tp))
	b, err := redisstream.Dial(ctx, srv.URL(), redisstream.WithBus(bus), redisstream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	split := func(ctx context.Context, in runtime.Event, out []runtime.Event) ([]runtime.Event, error) {
		out = runtime.AppendChild(out, in, "WORK", "ok")
		return runtime.AppendChild(out, in, "WORK", "fail"), nil
	}
	ra, _ := newRunner(b, "a", map[string][]organ{"START": {{"Split", split}}}, tel.Options()...)
	pctx, publish := tp.Tracer("test").Start(ctx, "publish")
	root := tel.Inject(pctx, runtime.MustNewEvent("START", 0))
	publish.End()
	if err := ra.RunUntilIdle(ctx, root); err != nil {
		t.Fatal(err)
	}

	var bSpans []spanJSON
	for lines.Scan() {
		var s spanJSON
		if err := json.Unmarshal(lines.Bytes(), &s); err != nil {
			t.Fatalf("child output %q: %v", lines.Text(), err)
		}
		bSpans = append(bSpans, s)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v; stderr:\n%s", err, childErr.String())
	}

	var aSpans []spanJSON
	for _, sp := range rec.Ended() {
		aSpans = append(aSpans, toJSON(sp))
	}
	find := func(spans []spanJSON, name string) []spanJSON {
		var out []spanJSON
		for _, s := range spans {
			if s.Name == name {
				out = append(out, s)
			}
		}
		return out
	}
	trace := publish.SpanContext().TraceID().String()
	for _, s := range append(aSpans, bSpans...) {
		if s.TraceID != trace {
			t.Fatalf("span %s is in trace %s, want %s\na: %+v\nb: %+v", s.Name, s.TraceID, trace, aSpans, bSpans)
		}
	}
	splits := find(aSpans, "Split")
	if len(splits) != 1 || len(aSpans) != 3 {
		t.Fatalf("process a has spans %+v; want publish, process START, Split", aSpans)
	}
	works, organs := find(bSpans, "process WORK"), find(bSpans, "Work")
	if len(works) != 2 || len(organs) != 2 || len(bSpans) != 4 {
		t.Fatalf("process b has spans %+v; want two process WORK, two Work", bSpans)
	}
	failed := 0
	for _, w := range works {
		if w.ParentID != splits[0].SpanID {
			t.Fatalf("b's event span has parent %s, want a's Split span %s", w.ParentID, splits[0].SpanID)
		}
		if w.Kind != "consumer" || w.Attrs["messaging.consumer.group.name"] != "b" || w.Attrs["messaging.destination.name"] != "WORK" ||
			w.Attrs["necrostack.correlation_id"] != root.ID.String() {
			t.Fatalf("b's event span: %+v", w)
		}
		var organ spanJSON
		for _, o := range organs {
			if o.ParentID == w.SpanID {
				organ = o
			}
		}
		if organ.Name == "" {
			t.Fatalf("no Work span under b's event span %s: %+v", w.SpanID, bSpans)
		}
		if w.Status == "Error" {
			failed++
			if organ.Status != "Error" || w.Desc != "organ Work: the spirits refuse" || len(w.Events) != 1 || w.Events[0] != "exception" {
				t.Fatalf("the failed event's spans: %+v and %+v", w, organ)
			}
		} else if w.Status != "Unset" || organ.Status != "Unset" {
			t.Fatalf("the handled event's spans: %+v and %+v", w, organ)
		}
	}
	if failed != 1 {
		t.Fatalf("%d of b's event spans failed, want 1: %+v", failed, bSpans)
	}
}
