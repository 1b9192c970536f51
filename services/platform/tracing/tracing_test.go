package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/consentry/consentry/platform/tracing"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestTraceparentRoundTrip(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := tracing.WithTraceparent(context.Background(), tp)
	if got := tracing.Traceparent(ctx); got != tp {
		t.Fatalf("traceparent %q, want %q", got, tp)
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsRemote() || sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("span context %+v", sc)
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if got := tracing.Traceparent(tracing.WithTraceparent(context.Background(), bad)); got != "" {
			t.Errorf("%q gave traceparent %q", bad, got)
		}
	}
}

// TestSetupWithoutEndpointInstallsNoProvider: tracing costs nothing unless asked for.
func TestSetupWithoutEndpointInstallsNoProvider(t *testing.T) {
	before := otel.GetTracerProvider()
	shutdown, err := tracing.Setup(context.Background(), "test", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != before {
		t.Fatal("a tracer provider was installed without an endpoint")
	}
	for _, vars := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"},
	} {
		if tracing.Enabled(env(vars)) {
			t.Errorf("%v enables tracing", vars)
		}
	}
	if !tracing.Enabled(env(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})) {
		t.Error("the traces endpoint alone does not enable tracing")
	}
}

func TestSetupRefusesGRPC(t *testing.T) {
	_, err := tracing.Setup(context.Background(), "test", env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}))
	if err == nil || !strings.Contains(err.Error(), "http/protobuf") {
		t.Fatalf("err = %v", err)
	}
}

// TestSetupExportsOverOTLPHTTP: with an endpoint, spans reach it at /v1/traces by the
// time shutdown returns.
func TestSetupExportsOverOTLPHTTP(t *testing.T) {
	posts := make(chan string, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts <- r.Method + " " + r.URL.Path
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	before := otel.GetTracerProvider()
	defer otel.SetTracerProvider(before)
	shutdown, err := tracing.Setup(context.Background(), "test", env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tracing.Tracer("test").Start(context.Background(), "work")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-posts:
		if got != "POST /v1/traces" {
			t.Fatalf("collector got %s", got)
		}
	default:
		t.Fatal("no span was exported")
	}
}
