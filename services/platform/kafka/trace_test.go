package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/tracing"
)

const (
	callerTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	otherTrace  = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
)

// TestPublishCarriesTheTraceOfItsContext: a record without a traceparent gets the one of
// the span it is published in; one that has its own (a relayed receipt) keeps it.
func TestPublishCarriesTheTraceOfItsContext(t *testing.T) {
	env := testkit.Kafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newProducer(t, env.Brokers)
	own := kafka.Message{Topic: env.Topics.Consents, Key: []byte("k"), Value: []byte("own")}
	kafka.SetTraceparent(&own, otherTrace)
	if err := p.Publish(tracing.WithTraceparent(ctx, callerTrace),
		kafka.Message{Topic: env.Topics.Consents, Key: []byte("k"), Value: []byte("plain")}, own); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, kafka.Message{Topic: env.Topics.Consents, Key: []byte("k"), Value: []byte("untraced")}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, ctx, env.Brokers, env.Topics.Consents, 3)
	want := map[string]string{"plain": callerTrace, "own": otherTrace, "untraced": ""}
	for _, m := range got {
		if tp := kafka.Traceparent(m); tp != want[string(m.Value)] {
			t.Errorf("record %q: traceparent %q, want %q", m.Value, tp, want[string(m.Value)])
		}
	}
}

func TestTraceparentHeaderIsReplacedNotDuplicated(t *testing.T) {
	m := kafka.Message{Headers: []kafka.Header{{Key: kafka.HeaderEventID, Value: []byte("e1")}, {Key: kafka.HeaderTraceparent, Value: []byte(otherTrace)}}}
	kafka.SetTraceparent(&m, callerTrace)
	kafka.SetTraceparent(&m, "")
	if len(m.Headers) != 2 || kafka.Traceparent(m) != callerTrace || kafka.HeaderValue(m, kafka.HeaderEventID) != "e1" {
		t.Fatalf("headers %v", m.Headers)
	}
	if tp := tracing.Traceparent(kafka.TraceContext(context.Background(), m)); tp != callerTrace {
		t.Fatalf("context from the record has traceparent %q", tp)
	}
}

// TestConsumerReportsItsGroupLag: with a lag source the consumer exports its group's lag,
// which falls to zero once it has committed what was published.
func TestConsumerReportsItsGroupLag(t *testing.T) {
	env := testkit.Kafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := newProducer(t, env.Brokers)
	publishN(t, ctx, p, env.Topics.Consents, 2, 5)
	reg := prometheus.NewRegistry()
	metrics := kafka.NewMetrics(reg)
	admin := kafka.NewAdmin(env.Brokers, nil)
	defer admin.Close()
	var s seen
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Brokers: env.Brokers, GroupID: "lagged", Topics: []string{env.Topics.Consents},
		SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second, JoinGroupBackoff: 200 * time.Millisecond,
		DeadLetters: kafka.NewDeadLetterer(p, nil), Metrics: metrics, Lag: admin, LagInterval: 50 * time.Millisecond,
	}, decodeString, func(_ context.Context, b []kafka.Record[string]) error { s.add(b); return nil })
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(runCtx) }()
	defer func() { stop(); <-done }()
	waitFor(t, "all records", 60*time.Second, func() bool { return s.count() == 10 })
	waitFor(t, "lag series at zero", 60*time.Second, func() bool {
		n, err := testutil.GatherAndCount(reg, "consentry_kafka_consumer_lag")
		return err == nil && n > 0 && lagTotal(t, reg) == 0
	})
}

func lagTotal(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "consentry_kafka_consumer_lag" {
			for _, m := range mf.GetMetric() {
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total
}
