package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/consentry/consentry/platform/server"
	"github.com/consentry/consentry/platform/tracing"
)

// TestServerSpanContinuesTheCallersTrace: an API request gets a server span named by its
// route, a child of the caller's traceparent, and the handler sees it in its context;
// probes and scrapes get none.
func TestServerSpanContinuesTheCallersTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	before := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	defer otel.SetTracerProvider(before)

	var inHandler string
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		inHandler = tracing.Traceparent(r.Context())
		w.WriteHeader(http.StatusAccepted)
	})
	srv := server.New("127.0.0.1:0", "127.0.0.1:0", api, server.NewRegistry(), slog.New(slog.DiscardHandler))
	l, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	base := "http://" + l.Addr().String()

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req := httptest.NewRequest(http.MethodPost, base+"/v1/things/u_8d41", nil)
	req.RequestURI = ""
	req.Header.Set("traceparent", caller)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1 (none for probes)", len(spans))
	}
	s := spans[0]
	if s.Name() != "POST /v1/things/{id}" || s.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("span %q trace %s parent %s", s.Name(), s.SpanContext().TraceID(), s.Parent().SpanID())
	}
	if want := tracing.Traceparent(trace.ContextWithSpanContext(context.Background(), s.SpanContext())); inHandler != want {
		t.Fatalf("handler saw %q, want the server span %q", inHandler, want)
	}
	for _, a := range s.Attributes() {
		if a.Value.Emit() == "u_8d41" || a.Value.Emit() == "/v1/things/u_8d41" {
			t.Fatalf("attribute %s holds the path", a.Key)
		}
	}
}
