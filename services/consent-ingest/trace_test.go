package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/kafka"
)

// TestTraceparentReachesTheEvent: the caller's trace continues onto consent.events.v1,
// where vendor-fanout picks it up (its TestTraceReachesTheVendorAndTheReceipt covers the
// rest of the way). No exporter is configured, as by default: the trace is passed on all
// the same, and an untraced request adds no header.
func TestTraceparentReachesTheEvent(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, nil,
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01"); status != http.StatusAccepted {
		t.Fatalf("status %d, want 202", status)
	}
	untraced := strings.Replace(designExample, "u_8d41", "u_other", 1)
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, untraced, nil); status != http.StatusAccepted {
		t.Fatalf("status %d, want 202", status)
	}
	recs := testkit.ReadRaw(t, stack.Kafka.Brokers, stack.Kafka.Topics.Consents, 2, 60*time.Second)
	var traced, plain int
	for _, m := range recs {
		switch tp := kafka.Traceparent(m); {
		case tp == "":
			plain++
		case strings.Contains(tp, traceID):
			traced++
		default:
			t.Errorf("record carries traceparent %q, not the caller's trace", tp)
		}
	}
	if traced != 1 || plain != 1 {
		t.Fatalf("%d traced and %d untraced records, want one of each", traced, plain)
	}
}
