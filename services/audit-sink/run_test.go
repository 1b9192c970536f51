package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

func TestMain(m *testing.M) { testkit.MainWithOpenAPI(m, "audit-sink", openAPI) }

type history struct {
	SubjectKey string `json:"subject_key"`
	Next       string `json:"next"`
	Events     []struct {
		EventID string         `json:"event_id"`
		Type    string         `json:"type"`
		Details map[string]any `json:"details"`
	} `json:"events"`
}

func producerFor(t *testing.T, stack *testkit.Stack) (*kafka.Producer, *serde.Serde) {
	t.Helper()
	client, err := serde.NewClient(stack.RegistryURL, "", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := serde.New(context.Background(), serde.Config{Client: client, Writes: serde.RecordsByTopic(stack.Kafka.Topics)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(kafka.ProducerConfig{Brokers: stack.Kafka.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, sd
}

func header(id, subjectKey string, at time.Time) schemas.Header {
	return schemas.Header{EventID: id, Tenant: "consumer", SubjectKey: subjectKey, OccurredAt: at, RecordedAt: at.Add(time.Second),
		Source: "cmp", PolicyVersion: "2025-04-09"}
}

func TestEveryTopicIsAuditedOnceAndServed(t *testing.T) {
	stack := testkit.NewStack(t)
	ctx := context.Background()
	p, sd := producerFor(t, stack)
	top := stack.Kafka.Topics
	key := stack.Pepper.SubjectKey("consumer", "u_8d41")
	t0 := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

	denyID, _ := eventid.New()
	lateID, _ := eventid.New()
	requestID, _ := eventid.New()
	receiptID, _ := eventid.Derive(denyID, "receipt/hubspot/opt_out/delivered")
	suppressionID, _ := eventid.Derive(denyID, "suppression")
	liftID, _ := eventid.New()
	hash := pseudonym.EmailSHA256("ada@example.com")
	msg := func(topic, k string, e schemas.Event) kafka.Message {
		m, err := sd.EncodeMessage(topic, k, e)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	deny := msg(top.Consents, key, &schemas.ConsentChanged{Header: header(denyID, key, t0.Add(time.Hour)),
		Purposes: map[string]string{"marketing_email": "denied", "analytics": "denied"}})
	msgs := []kafka.Message{
		deny,
		deny, // a redelivery: must not be audited twice
		// Arrives later but happened earlier: audited, yet it does not change the current state.
		msg(top.Consents, key, &schemas.ConsentChanged{Header: header(lateID, key, t0), Purposes: map[string]string{"analytics": "granted"}}),
		msg(top.Requests, key, &schemas.PrivacyRequest{Header: header(requestID, key, t0.Add(2*time.Hour)), RequestID: requestID,
			Type: "erasure", Reason: "user_request", Status: "received"}),
		msg(top.Receipts, key, &schemas.VendorReceipt{Header: header(receiptID, key, t0.Add(3*time.Hour)), SourceEventID: denyID,
			Vendor: "hubspot", Action: "opt_out", Outcome: "delivered", Attempts: 1, HTTPStatus: 200}),
		msg(top.Suppressions, hash, &schemas.SuppressionChanged{Header: header(suppressionID, key, t0.Add(4*time.Hour)),
			EmailSHA256: hash, Scope: "all", Reason: "opt_out", SourceEventID: denyID}),
		{Topic: top.Suppressions, Key: []byte(hash), Value: nil, Headers: []kafka.Header{
			{Key: kafka.HeaderEventID, Value: []byte(liftID)}, {Key: kafka.HeaderTenant, Value: []byte("consumer")}}},
		{Topic: top.Consents, Key: []byte(key), Value: []byte("not avro at all")},            // poison
		{Topic: top.Consents, Key: []byte(key), Value: []byte{0, 0, 0, 0x30, 0x39, 1, 2, 3}}, // unknown schema id 12345
		// Well-framed Avro, but no event a consumer could process (its id is not a UUID).
		{Topic: top.Consents, Key: []byte(key), Value: framed(t, 101, &schemas.ConsentChanged{Header: header("42", key, t0),
			Purposes: map[string]string{"analytics": "denied"}})},
	}
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	svc := testkit.StartService(t, run, stack.Env, nil)

	var h history
	deadline := time.Now().Add(60 * time.Second)
	for {
		if s := testkit.Call(t, "GET", svc.URL+"/v1/subjects/consumer/u_8d41/history", testkit.OperatorKey, nil, &h); s != http.StatusOK {
			t.Fatalf("history: %d", s)
		}
		if len(h.Events) >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var ids []string
	for _, e := range h.Events {
		ids = append(ids, e.Type)
	}
	want := []string{"ConsentChanged", "ConsentChanged", "PrivacyRequest", "VendorReceipt", "SuppressionChanged"}
	if len(h.Events) != len(want) {
		t.Fatalf("history holds %v, want %v", ids, want)
	}
	for i, w := range want {
		if h.Events[i].Type != w {
			t.Errorf("event %d is %s, want %s (order by recorded_at: %v)", i, h.Events[i].Type, w, ids)
		}
	}

	// The tombstone is audited too, under the id its header carries.
	conn, err := pgx.Connect(ctx, stack.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var lifted, total int
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE event_id = $1 AND event_type = 'SuppressionLifted'), count(*) FROM audit.events`,
		liftID).Scan(&lifted, &total); err != nil {
		t.Fatal(err)
	}
	if lifted != 1 || total != 6 {
		t.Errorf("tombstone rows %d (want 1), total rows %d (want 6: each event once, poison none)", lifted, total)
	}

	// Every kind of row — tombstone, request with a deadline, receipt with its numbers —
	// reads back from PostgreSQL as it was hashed.
	var report struct {
		OK   bool `json:"ok"`
		Rows int  `json:"rows"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/audit/verify", testkit.OperatorKey, nil, &report); s != http.StatusOK || !report.OK || report.Rows != 6 {
		t.Errorf("verify: %d %+v", s, report)
	}

	// The three poison records went to the dead-letter topic, and the partition moved on.
	dlq := testkit.ReadRaw(t, stack.Kafka.Brokers, kafka.DeadLetterTopic(top.Consents), 3, 60*time.Second)
	if len(dlq) != 3 {
		t.Errorf("%d dead letters, want 3", len(dlq))
	}
	for _, m := range dlq {
		if reason := kafka.HeaderValue(m, kafka.HeaderDLQError); reason == "" {
			t.Errorf("dead letter at offset %d carries no reason", m.Offset)
		}
	}

	var consent struct {
		Purposes map[string]struct {
			Decision string `json:"decision"`
			EventID  string `json:"event_id"`
		} `json:"purposes"`
	}
	testkit.Call(t, "GET", svc.URL+"/v1/subjects/consumer/u_8d41/consent", testkit.OperatorKey, nil, &consent)
	if a := consent.Purposes["analytics"]; a.Decision != "denied" || a.EventID != denyID {
		t.Errorf("analytics is %+v; the later, older grant must not override the denial", a)
	}

	var req struct {
		Status string `json:"status"`
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/privacy-requests/"+requestID, testkit.APIKey, nil, &req); s != 200 || req.Status != "received" {
		t.Errorf("request: %d %+v", s, req)
	}
	// Tenant scope: acme's key sees neither consumer's history nor its request.
	if s := testkit.Call(t, "GET", svc.URL+"/v1/subjects/consumer/u_8d41/history", testkit.TenantKey, nil, nil); s != http.StatusForbidden {
		t.Errorf("acme key on consumer history: %d, want 403", s)
	}
	if s := testkit.Call(t, "GET", svc.URL+"/v1/privacy-requests/"+requestID, testkit.TenantKey, nil, nil); s != http.StatusNotFound {
		t.Errorf("acme key on consumer request: %d, want 404", s)
	}
}

// framed encodes e under schema id without validation, as a buggy producer might.
func framed(t *testing.T, id byte, e schemas.Event) []byte {
	t.Helper()
	body, err := schemas.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{0, 0, 0, 0, id}, body...)
}
