package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/tracing"
	"github.com/consentry/consentry/schemas"
)

// TestTraceReachesTheVendorAndTheReceipt: an event produced in a trace (as consent-ingest
// produces it, inside its server span) is delivered in a child span of that trace, whose
// traceparent the vendor receives and the receipt carries; the propagation histogram
// counts the delivery. consent-ingest's own test covers the hop before: the HTTP request's
// traceparent onto consent.events.v1.
func TestTraceReachesTheVendorAndTheReceipt(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	before := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	t.Cleanup(func() { otel.SetTracerProvider(before) })

	f := start(t, nil)
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		ingest  = "00-" + traceID + "-00f067aa0ba902b7-01"
	)
	ctx := tracing.WithTraceparent(context.Background(), ingest)
	key := f.stack.Pepper.SubjectKey("consumer", "u_trace")
	sealed, err := f.sealer.Seal(ctx, "consumer", key, seal.Identifiers{SubjectID: "u_trace", Email: "trace@example.com",
		VendorIDs: map[string]string{"amplitude": "amp-u_trace"}})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := eventid.New()
	now := time.Now().UTC()
	m, err := f.serde.EncodeMessage(f.stack.Kafka.Topics.Consents, key, &schemas.ConsentChanged{
		Header: schemas.Header{EventID: id, Tenant: "consumer", SubjectKey: key, OccurredAt: now, RecordedAt: now,
			Source: "cmp", PolicyVersion: "2025-04-09", Identifiers: sealed},
		Purposes: map[string]string{"analytics": "denied"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.prod.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}

	f.waitFor("a traced call to every analytics vendor", 60*time.Second, func() bool {
		traced := map[string]bool{}
		for _, c := range f.sim.Calls() {
			if strings.Contains(c.Traceparent, traceID) {
				traced[c.Vendor] = true
			}
		}
		return traced["amplitude"] && traced["posthog"] && traced["fullstory"]
	})
	for _, c := range f.sim.Calls() {
		if c.Traceparent == "" {
			continue
		}
		if c.Traceparent == ingest {
			t.Errorf("%s got the producer's traceparent, not the vendor call's span", c.Vendor)
		}
	}

	// The simulator records a call when it arrives; the lane ends its span only after the
	// answer, so wait for the spans themselves to have ended.
	var callSpans []sdktrace.ReadOnlySpan
	f.waitFor("an ended vendor call span per analytics vendor", 60*time.Second, func() bool {
		callSpans = callSpans[:0]
		for _, s := range rec.Ended() {
			if strings.HasPrefix(s.Name(), "vendor ") && s.SpanContext().TraceID().String() == traceID {
				callSpans = append(callSpans, s)
			}
		}
		return len(callSpans) >= 3
	})
	for _, s := range callSpans {
		if s.Parent().SpanID().String() != "00f067aa0ba902b7" {
			t.Errorf("span %s has parent %s, want the producer's span", s.Name(), s.Parent().SpanID())
		}
		for _, a := range s.Attributes() {
			if v := a.Value.Emit(); strings.Contains(v, key) || strings.Contains(v, "u_trace") || strings.Contains(v, "example.com") {
				t.Errorf("span attribute %s names the subject", a.Key)
			}
		}
	}

	f.waitFor("traced receipts", 60*time.Second, func() bool {
		n := 0
		for _, r := range testkit.ReadAll(t, f.stack.Kafka.Brokers, f.stack.RegistryURL, f.stack.Kafka.Topics.Receipts) {
			if strings.Contains(kafka.Traceparent(r.Msg), traceID) {
				n++
			}
		}
		return n >= 3
	})

	// The lane counts a propagation after recording the result, which the relay may
	// already have published as a receipt: wait for the count itself.
	var metrics string
	f.waitFor("amplitude's delivery in the propagation histogram", 60*time.Second, func() bool {
		metrics = scrape(t, f.svc.AdminURL+"/metrics")
		return strings.Contains(metrics, `consentry_fanout_propagation_seconds_count{vendor="amplitude"} 1`)
	})
	if !strings.Contains(metrics, `consentry_fanout_throttled_until_seconds{vendor="amplitude"} 0`) {
		t.Error("the throttled-until gauge has no series for amplitude")
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
