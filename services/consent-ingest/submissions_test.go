package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
	ingestclient "github.com/consentry/consentry/schemas/ingest"
)

func submissionProducer(t *testing.T, stack *testkit.Stack, topic string) *ingestclient.Producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(stack.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	reg, err := sr.NewClient(sr.URLs(stack.RegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ingestclient.New(context.Background(), ingestclient.Config{Topic: topic, Kafka: cl, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// designSubmission is designExample as a Kafka submission.
func designSubmission(id string) *schemas.ConsentSubmission {
	return &schemas.ConsentSubmission{SubmissionID: id, Tenant: "consumer", SubjectID: "u_8d41",
		Identifiers: &schemas.SubmittedIdentifiers{Email: "ada@example.com", AnonymousID: "a_77f", VendorIDs: map[string]string{"amplitude": "u_8d41"}},
		OccurredAt:  time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC), Source: "cmp", PolicyVersion: "2025-04-09",
		Purposes: map[string]string{"analytics": "denied", "advertising": "denied", "marketing_email": "denied"}}
}

// TestKafkaSubmissionBecomesTheEventHTTPWouldPublish: a submission on the ingest topic is
// validated, sealed and published as POST /v1/consents would; a record sent twice is one
// event id; a record for a tenant the topic may not speak for, and an invalid one, go to
// the dead-letter topic with a reason naming the field and no personal data.
func TestKafkaSubmissionBecomesTheEventHTTPWouldPublish(t *testing.T) {
	stack := testkit.NewStack(t)
	ingestTopic := stack.Kafka.Topics.Ingest
	svc := testkit.StartService(t, run, stack.Env, map[string]string{"CONSENTRY_INGEST_TOPICS": ingestTopic + "=consumer"})
	p := submissionProducer(t, stack, ingestTopic)
	ctx := context.Background()

	foreign := designSubmission("s-foreign")
	foreign.Tenant = "acme"
	invalid := designSubmission("s-invalid")
	invalid.Purposes = map[string]string{"lunch": "granted"}
	for _, s := range []*schemas.ConsentSubmission{designSubmission("s-1"), foreign, invalid, designSubmission("s-1")} {
		if err := p.Send(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var viaHTTP accepted
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &viaHTTP); status != http.StatusAccepted {
		t.Fatalf("HTTP status %d", status)
	}

	recs := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 3, 60*time.Second)
	byID := map[string][]*schemas.ConsentChanged{}
	for _, r := range recs {
		e := r.Event.(*schemas.ConsentChanged)
		byID[e.EventID] = append(byID[e.EventID], e)
		if bytes.Contains(r.Msg.Value, []byte("ada@example.com")) || bytes.Contains(r.Msg.Value, []byte("u_8d41")) {
			t.Error("an event carries an identifier in clear")
		}
	}
	want := eventid.FromSubmission("consumer", "s-1")
	if len(byID) != 2 || len(byID[want]) != 2 || len(byID[viaHTTP.EventIDs[0]]) != 1 {
		t.Fatalf("events by id: %v; want the submission sent twice under %s once and the HTTP one", keys(byID), want)
	}
	fromKafka, fromHTTP := byID[want][0], byID[viaHTTP.EventIDs[0]][0]
	if fromKafka.SubjectKey != fromHTTP.SubjectKey || fromKafka.Source != fromHTTP.Source || fromKafka.PolicyVersion != fromHTTP.PolicyVersion ||
		!fromKafka.OccurredAt.Equal(fromHTTP.OccurredAt) || len(fromKafka.Purposes) != 3 || fromKafka.Purposes["analytics"] != "denied" {
		t.Errorf("Kafka event %+v differs from the HTTP one %+v", fromKafka, fromHTTP)
	}
	if ids := openIdentifiers(t, stack, fromKafka); ids.Email != "ada@example.com" || ids.AnonymousID != "a_77f" || ids.VendorIDs["amplitude"] != "u_8d41" {
		t.Errorf("sealed identifiers open to %+v", ids)
	}

	dead := testkit.ReadRaw(t, stack.Kafka.Brokers, kafka.DeadLetterTopic(ingestTopic), 2, 60*time.Second)
	var reasons []string
	for _, m := range dead {
		reason := kafka.HeaderValue(m, kafka.HeaderDLQError)
		reasons = append(reasons, reason)
		if strings.Contains(reason, "ada@example.com") || strings.Contains(reason, "u_8d41") {
			t.Errorf("dead-letter reason %q carries an identifier", reason)
		}
	}
	joined := strings.Join(reasons, "\n")
	if !strings.Contains(joined, "field tenant:") || !strings.Contains(joined, "field purposes.lunch:") {
		t.Errorf("dead-letter reasons %q do not name tenant and purposes.lunch", reasons)
	}
	if strings.Contains(svc.Logs.String(), "ada@example.com") {
		t.Error("a log line holds the email")
	}
}

// TestIngestTopicKeptTooLongRefusesToStart: the ingest topic's retention is how long a
// submission's clear identifiers outlive an erasure, so a topic that keeps them for a
// week stops the service instead of being consumed.
func TestIngestTopicKeptTooLongRefusesToStart(t *testing.T) {
	stack := testkit.NewStack(t)
	admin := kafka.NewAdmin(stack.Kafka.Brokers, nil)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := "customer.acme.ingest.v1"
	if err := admin.EnsureTopics(ctx, []kafka.TopicSpec{
		{Name: topic, Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "604800000"}},
		{Name: kafka.DeadLetterTopic(topic), Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "86400000"}},
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CONSENTRY_INGEST_TOPICS": topic + "=acme", "CONSENTRY_HTTP_ADDR": "127.0.0.1:1", "CONSENTRY_ADMIN_ADDR": "127.0.0.1:2"}
	for k, v := range stack.Env {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	var stderr testkit.SyncBuffer
	err := run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), topic) || !strings.Contains(err.Error(), "retention.ms") {
		t.Fatalf("run returned %v, want a refusal naming %s and retention.ms", err, topic)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRedeliveredSubmissionHasOneEffect: a record consent-ingest reads again — its
// offsets rewound, as after a crash between publishing and committing — is published
// under the event id it had, so every downstream dedupe drops the repeat.
func TestRedeliveredSubmissionHasOneEffect(t *testing.T) {
	stack := testkit.NewStack(t)
	ingestTopic := stack.Kafka.Topics.Ingest
	overrides := map[string]string{"CONSENTRY_INGEST_TOPICS": ingestTopic + "=consumer"}
	first := testkit.StartService(t, run, stack.Env, overrides)
	if err := submissionProducer(t, stack, ingestTopic).Send(context.Background(), designSubmission("s-redelivered")); err != nil {
		t.Fatal(err)
	}
	before := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 1, 60*time.Second)
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	rewind(t, stack.Kafka.Brokers, submissionGroup, ingestTopic)
	testkit.StartService(t, run, stack.Env, overrides)

	after := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 2, 60*time.Second)
	want := before[0].Event.EventHeader().EventID
	for _, r := range after {
		if id := r.Event.EventHeader().EventID; id != want {
			t.Errorf("the redelivered submission became event %s, the first delivery %s", id, want)
		}
	}
}

// rewind sets group's committed offsets on topic back to the start, as a group that had
// not committed its last batch finds them.
func rewind(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	transport := &kafkago.Transport{}
	defer transport.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
	commits := make([]kafkago.OffsetCommit, testkit.Partitions)
	for p := range commits {
		commits[p] = kafkago.OffsetCommit{Partition: p, Offset: 0}
	}
	// Generation -1: a commit from outside the group, which Kafka takes once it is empty.
	resp, err := client.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: map[string][]kafkago.OffsetCommit{topic: commits}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("rewinding %s/%d: %v", topic, p.Partition, p.Error)
		}
	}
}
