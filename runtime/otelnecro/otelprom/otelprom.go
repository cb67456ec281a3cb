// Package otelprom serves OpenTelemetry metrics, NecroStack's among them, to
// Prometheus: a MeterProvider whose reader is the OpenTelemetry Prometheus
// exporter, on a registry of its own with the Go runtime and process
// collectors, served at /metrics.
//
//	srv, err := otelprom.Serve(":9090")
//	...
//	defer srv.Close(context.Background())
//	spine := NewSpine(backend, organs, otelnecro.Options(otelnecro.WithMeterProvider(srv.MeterProvider()))...)
package otelprom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprometheus "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// NewMeterProvider returns a MeterProvider whose metrics the handler serves
// in the Prometheus exposition formats, with those of the Go runtime and the
// process. opts are passed to sdkmetric.NewMeterProvider (a resource, views).
func NewMeterProvider(opts ...sdkmetric.Option) (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, err
	}
	exp, err := otelprometheus.New(otelprometheus.WithRegisterer(reg))
	if err != nil {
		return nil, nil, fmt.Errorf("otelprom: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(append([]sdkmetric.Option{sdkmetric.WithReader(exp)}, opts...)...)
	return mp, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}), nil
}

// Server serves the metrics of its MeterProvider at /metrics.
type Server struct {
	mp   *sdkmetric.MeterProvider
	ln   net.Listener
	srv  *http.Server
	done chan error

	closeOnce sync.Once
	closeErr  error
}

// Serve listens on addr ("host:port"; port 0 picks a free port, see Addr)
// and serves the metrics of a new MeterProvider (NewMeterProvider) at
// /metrics until Close.
func Serve(addr string, opts ...sdkmetric.Option) (*Server, error) {
	mp, h, err := NewMeterProvider(opts...)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = mp.Shutdown(context.Background())
		return nil, fmt.Errorf("otelprom: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	s := &Server{mp: mp, ln: ln, done: make(chan error, 1),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// MeterProvider returns the provider whose metrics the server serves: pass
// it to otelnecro.WithMeterProvider.
func (s *Server) MeterProvider() *sdkmetric.MeterProvider { return s.mp }

// Addr returns the address the server listens on, such as "127.0.0.1:9090".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the address of the metrics: "http://ADDR/metrics".
func (s *Server) URL() string { return "http://" + s.Addr() + "/metrics" }

// Close stops the server, waiting for the scrapes in progress until ctx
// ends, then shuts the MeterProvider down. Later calls return the first
// one's error.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		err := s.srv.Shutdown(ctx)
		if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		s.closeErr = errors.Join(err, s.mp.Shutdown(ctx))
	})
	return s.closeErr
}
