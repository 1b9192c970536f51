// Package tracing sets up OpenTelemetry tracing for a Consentry service and carries the
// W3C trace context (`traceparent`) across the hops that the SDK does not instrument:
// Kafka record headers and the delivery rows of vendor-fanout.
//
// Tracing is off unless the standard OTLP endpoint variable is set: then no tracer
// provider is installed, spans are the API's no-op spans, and an incoming traceparent is
// still passed on unchanged, so a caller's trace survives Consentry at the cost of a
// header copy.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// HeaderTraceparent is the W3C trace context header, on HTTP requests and Kafka records alike.
const HeaderTraceparent = "traceparent"

// Propagator is the one format Consentry speaks: W3C trace context. Fixed rather than
// taken from the global, so that a library that replaces the global cannot change what
// goes on the wire.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Tracer returns the tracer of an instrumentation scope (a package path).
func Tracer(scope string) trace.Tracer { return otel.Tracer(scope) }

// Setup installs the W3C propagator and, when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, a tracer provider that exports to it over
// OTLP/HTTP. The exporter reads the other standard variables itself
// (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _CERTIFICATE, …); the sampler follows
// OTEL_TRACES_SAMPLER (default: parent-based, always on). The returned function flushes
// and stops the exporter; it is never nil.
func Setup(ctx context.Context, service string, getenv func(string) string) (shutdown func(context.Context) error, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	otel.SetTextMapPropagator(Propagator)
	noop := func(context.Context) error { return nil }
	if !Enabled(getenv) {
		return noop, nil
	}
	switch p := protocol(getenv); p {
	case "", "http/protobuf":
	default:
		return noop, fmt.Errorf("tracing: OTEL_EXPORTER_OTLP_PROTOCOL %q is not supported: Consentry exports over http/protobuf", p)
	}
	// The endpoint is read here, through getenv like every other setting, so that what
	// enabled the exporter is also where it sends; the exporter reads the rest itself.
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = strings.TrimRight(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "/") + "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return noop, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	// Later options win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the
	// service's own name.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(attribute.String("service.name", service), attribute.String("service.namespace", "consentry")),
		resource.WithFromEnv())
	if err != nil && res == nil {
		return noop, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
	}, nil
}

// Enabled reports whether the environment asks for spans to be exported.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func protocol(getenv func(string) string) string {
	if p := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); p != "" {
		return p
	}
	return getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
}

// Traceparent returns the traceparent of the span in ctx, or "" when there is none.
func Traceparent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	Propagator.Inject(ctx, c)
	return c[HeaderTraceparent]
}

// WithTraceparent returns ctx with the remote span context that tp names as its parent;
// ctx itself when tp is empty or malformed (a bad header from a client costs its trace,
// nothing else).
func WithTraceparent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.MapCarrier{HeaderTraceparent: tp})
}
