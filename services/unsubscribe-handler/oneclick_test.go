package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
)

// waitConsumed waits until the service's consumer group has committed every record the
// consent and request topics hold: whatever it was going to publish in reaction to them
// is on the suppression topic by then (it publishes before it commits).
func waitConsumed(t *testing.T, stack *testkit.Stack) {
	t.Helper()
	admin := kafka.NewAdmin(stack.Kafka.Brokers, nil)
	defer admin.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		lags, err := admin.Lag(ctx, "unsubscribe-handler", stack.Kafka.Topics.Consents, stack.Kafka.Topics.Requests)
		cancel()
		behind := err != nil || len(lags) == 0
		for _, l := range lags {
			if l.End > 0 && l.Committed < l.End {
				behind = true
			}
		}
		if !behind {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer did not catch up: %v %+v", err, lags)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// suppressionRecords returns the records on the suppression topic under key.
func suppressionRecords(t *testing.T, stack *testkit.Stack, key string) []testkit.Decoded {
	t.Helper()
	var out []testkit.Decoded
	for _, d := range testkit.ReadAll(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Suppressions) {
		if string(d.Msg.Key) == key {
			out = append(out, d)
		}
	}
	return out
}

// TestOneClickPublishesOneSuppression is the report of a third-party Kafka client: one
// click must put exactly one record on the suppression topic, not one from the handler
// and a second, with another recorded_at, from the consumer reading the click's own
// consent event back.
func TestOneClickPublishesOneSuppression(t *testing.T) {
	stack, svc := start(t)
	u := issueLink(t, svc, `{"tenant":"consumer","subject_id":"u_once","email":"once@example.com"}`)
	if s, body := postForm(t, u, "List-Unsubscribe=One-Click"); s != http.StatusOK {
		t.Fatalf("one-click: %d %s", s, body)
	}
	testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 1, 20*time.Second)
	waitConsumed(t, stack)
	recs := suppressionRecords(t, stack, pseudonym.EmailSHA256("once@example.com"))
	if len(recs) != 1 {
		for _, r := range recs {
			if e, ok := r.Event.(*schemas.SuppressionChanged); ok {
				t.Logf("record %d: event_id %s recorded_at %s", r.Msg.Offset, e.EventID, e.RecordedAt)
			}
		}
		t.Fatalf("%d suppression records for one click, want 1", len(recs))
	}
}
