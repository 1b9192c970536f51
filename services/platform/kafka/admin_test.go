package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/kafka"
)

// The ingest topics' retention is part of the erasure guarantee: consent-ingest reads it
// with Retention, and the embedded stack corrects an old topic with SetTopicConfig.
func TestRetentionIsReadAndSet(t *testing.T) {
	env := testkit.Kafka(t)
	admin := kafka.NewAdmin(env.Brokers, nil)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if got, err := admin.Retention(ctx, env.Topics.Ingest); err != nil || got != time.Hour {
		t.Fatalf("ingest topic retention %v (%v), want 1h as Specs creates it", got, err)
	}
	if err := admin.SetTopicConfig(ctx, env.Topics.Ingest, map[string]string{"retention.ms": "604800000"}); err != nil {
		t.Fatal(err)
	}
	if got, err := admin.Retention(ctx, env.Topics.Ingest); err != nil || got != 7*24*time.Hour {
		t.Fatalf("retention after setting a week: %v (%v)", got, err)
	}
	if _, err := admin.Retention(ctx, "no.such.topic.v1"); err == nil {
		t.Error("a topic that does not exist has a retention")
	}
}
