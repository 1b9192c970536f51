// Package server gives every Consentry service the same HTTP front: its API (plus
// /healthz) on the public listener, and /healthz, /readyz and /metrics on an admin
// listener that the public ingress does not route; JSON access logs without personal
// data, request metrics, panic recovery and a Kubernetes-shaped shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/platform/jsonstrict"
	"github.com/consentry/consentry/platform/tracing"
)

// Check is one readiness dependency.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Server serves a service's API and its operational endpoints.
type Server struct {
	http   *http.Server
	admin  *http.Server
	log    *slog.Logger
	ready  atomic.Bool
	checks []Check

	mu          sync.Mutex
	lastCheck   time.Time
	lastFailing []string
}

// NewRegistry returns a metrics registry with the Go runtime and process collectors, the
// baseline every service exports.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewLogger returns the JSON logger of a service. Keys are snake_case; never log a
// personal identifier.
func NewLogger(w io.Writer, level, service string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})).With("service", service)
}

// New returns a server for api on addr, with its operational endpoints on adminAddr. It
// starts not ready; call SetReady once the service has its dependencies and is consuming.
//
// /readyz names the dependencies that fail and /metrics describes the traffic and the
// backlog: neither is for the internet, so neither is on the public listener (a 404
// there). /healthz is on both: it says only "ok", and a load balancer in front of the
// public port may need it.
func New(addr, adminAddr string, api http.Handler, reg *prometheus.Registry, log *slog.Logger, checks ...Check) *Server {
	s := &Server{log: log, checks: checks}
	m := newHTTPMetrics(reg)
	healthz := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	for _, p := range []string{"/readyz", "/metrics"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			apierror.Write(w, log, apierror.New(apierror.NotFound, "no such route"))
		})
	}
	mux.Handle("/", api)
	s.http = &http.Server{
		Addr:              addr,
		Handler:           instrument(mux, log, m),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	admin := http.NewServeMux()
	admin.HandleFunc("GET /healthz", healthz)
	admin.HandleFunc("GET /readyz", s.readyz)
	admin.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.admin = &http.Server{
		Addr:              adminAddr,
		Handler:           admin,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// SetReady marks the service ready (or not) for traffic.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Listen binds the address; separate from Serve so that a caller knows the port is taken
// before it reports being up.
func (s *Server) Listen() (net.Listener, error) {
	l, err := net.Listen("tcp", s.http.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen on %s: %w", s.http.Addr, err)
	}
	return l, nil
}

// ListenAdmin binds the admin address.
func (s *Server) ListenAdmin() (net.Listener, error) {
	l, err := net.Listen("tcp", s.admin.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: admin listener on %s: %w", s.admin.Addr, err)
	}
	return l, nil
}

// ServeAdmin serves the operational endpoints on l until ShutdownAdmin.
func (s *Server) ServeAdmin(l net.Listener) error {
	if err := s.admin.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ShutdownAdmin stops the admin listener; it goes last, so that probes and scrapes see
// the shutdown to its end.
func (s *Server) ShutdownAdmin(ctx context.Context) error { return s.admin.Shutdown(ctx) }

// Serve serves on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if err := s.http.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// readyz answers 200 only when the service declared itself ready and every dependency
// answers. Results are cached for a second so that probes cannot load the dependencies.
// A failure is answered with the dependency's name only: a driver's message can carry
// hosts, users and database names, so it goes to the log.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		apierror.JSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "starting or shutting down"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.lastCheck) > time.Second {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		var failing []string
		for _, c := range s.checks {
			if err := c.Fn(ctx); err != nil {
				failing = append(failing, c.Name)
				s.log.Warn("readiness check failed", "dependency", c.Name, "error", err)
			}
		}
		cancel()
		s.lastCheck, s.lastFailing = time.Now(), failing
	}
	if len(s.lastFailing) > 0 {
		apierror.JSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "failing": s.lastFailing})
		return
	}
	apierror.JSON(w, http.StatusOK, map[string]any{"ready": true})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "consentry_http_requests_total", Help: "HTTP requests by route pattern and status code."},
			[]string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "consentry_http_request_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument logs, measures and recovers every request. It labels by the mux's route
// pattern ("POST /u/{token}"), never by the path, which can carry tokens and subject ids.
func instrument(next http.Handler, log *slog.Logger, m *httpMetrics) http.Handler {
	tracer := tracing.Tracer("github.com/consentry/consentry/platform/server")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		span := trace.SpanFromContext(r.Context())
		if !operational(r.URL.Path) {
			// A server span per API request, the child of the caller's traceparent; its
			// name and attributes are the route pattern and status, never the path.
			var ctx context.Context
			ctx, span = tracer.Start(tracing.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header)),
				r.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", r.Method)))
			defer span.End()
			r = r.WithContext(ctx)
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("handler panicked", "route", r.Pattern, "panic", fmt.Sprint(p))
				if sw.status == 0 {
					apierror.Write(sw, log, errors.New("panic"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			if span.IsRecording() {
				span.SetName(route)
				span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", sw.status))
				if sw.status >= 500 {
					span.SetStatus(codes.Error, http.StatusText(sw.status))
				}
			}
			m.requests.WithLabelValues(route, fmt.Sprint(sw.status)).Inc()
			m.duration.WithLabelValues(route).Observe(d.Seconds())
			if route != "GET /metrics" && route != "GET /healthz" && route != "GET /readyz" {
				log.Info("http request", "route", route, "status", sw.status, "duration_ms", d.Milliseconds())
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// operational reports whether path is a probe or scrape: no span for those, they would
// bury the traces that matter.
func operational(path string) bool {
	return path == "/metrics" || path == "/healthz" || path == "/readyz"
}

// ReadBody reads a request body of at most limit bytes.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, apierror.New(apierror.TooLarge, fmt.Sprintf("the body exceeds %d bytes", limit))
		}
		return nil, apierror.New(apierror.Invalid, "the body could not be read")
	}
	return b, nil
}

// DecodeJSON reads a JSON body of at most limit bytes into v; see jsonstrict.Decode.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := ReadBody(w, r, limit)
	if err != nil {
		return err
	}
	return jsonstrict.Decode(b, "", v)
}
