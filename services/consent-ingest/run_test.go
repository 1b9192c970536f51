package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
)

func TestMain(m *testing.M) { testkit.MainWithOpenAPI(m, "consent-ingest", openAPI) }

const designExample = `{
  "tenant": "consumer",
  "subject_id": "u_8d41",
  "identifiers": {"email": "ada@example.com", "anonymous_id": "a_77f", "vendor_ids": {"amplitude": "u_8d41"}},
  "occurred_at": "2026-11-28T21:04:05Z",
  "source": "cmp",
  "policy_version": "2025-04-09",
  "purposes": {"analytics": "denied", "advertising": "denied", "marketing_email": "denied"}
}`

type accepted struct {
	EventIDs  []string `json:"event_ids"`
	RequestID string   `json:"request_id"`
}

type apiError struct {
	Error struct {
		Code   string `json:"code"`
		Fields []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

func TestConsentIsSealedKeyedAndAcknowledged(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)

	var got accepted
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &got); status != http.StatusAccepted {
		t.Fatalf("status %d, want 202", status)
	}
	if len(got.EventIDs) != 1 {
		t.Fatalf("event_ids %v", got.EventIDs)
	}
	// 202 means Kafka already holds it: read it back.
	recs := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 1, 60*time.Second)
	e, ok := recs[0].Event.(*schemas.ConsentChanged)
	if !ok {
		t.Fatalf("topic holds %T", recs[0].Event)
	}
	wantKey := stack.Pepper.SubjectKey("consumer", "u_8d41")
	if string(recs[0].Msg.Key) != wantKey || e.SubjectKey != wantKey {
		t.Errorf("record key %q / subject_key %q, want %q", recs[0].Msg.Key, e.SubjectKey, wantKey)
	}
	if e.EventID != got.EventIDs[0] || e.Source != "cmp" || e.PolicyVersion != "2025-04-09" ||
		!e.OccurredAt.Equal(time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC)) || e.RecordedAt.IsZero() {
		t.Errorf("event header %+v", e.Header)
	}
	if diff := cmp.Diff(map[string]string{"analytics": "denied", "advertising": "denied", "marketing_email": "denied"}, e.Purposes); diff != "" {
		t.Error(diff)
	}
	if strings.Contains(string(recs[0].Msg.Value), "ada@example.com") || strings.Contains(string(recs[0].Msg.Value), "u_8d41") {
		t.Error("the record carries an identifier in clear")
	}
	ids := openIdentifiers(t, stack, e)
	if ids.Email != "ada@example.com" || ids.SubjectID != "u_8d41" || ids.AnonymousID != "a_77f" || ids.VendorIDs["amplitude"] != "u_8d41" {
		t.Errorf("sealed identifiers open to %+v", ids)
	}
	if strings.Contains(svc.Logs.String(), "ada@example.com") {
		t.Error("a log line holds the email")
	}
}

func openIdentifiers(t *testing.T, stack *testkit.Stack, e schemas.Event) seal.Identifiers {
	t.Helper()
	h := e.EventHeader()
	ids, err := stack.Sealer(t).Open(context.Background(), h.Tenant, h.SubjectKey, h.Identifiers)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestBatchAndPrivacyRequest(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)

	batch := `{"consents": [` + designExample + `,` + strings.Replace(designExample, "u_8d41", "u_other", -1) + `]}`
	var got accepted
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, batch, &got); status != http.StatusAccepted || len(got.EventIDs) != 2 {
		t.Fatalf("batch: status %d ids %v", status, got.EventIDs)
	}
	var req accepted
	status := testkit.Call(t, "POST", svc.URL+"/v1/privacy-requests", testkit.APIKey,
		`{"tenant":"consumer","subject_id":"u_8d41","identifiers":{"email":"ada@example.com"},"type":"erasure","reason":"user_request","verified":true}`, &req)
	if status != http.StatusAccepted || req.RequestID == "" || req.EventIDs[0] != req.RequestID {
		t.Fatalf("privacy request: status %d %+v", status, req)
	}
	recs := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Requests, 1, 60*time.Second)
	pr := recs[0].Event.(*schemas.PrivacyRequest)
	if pr.RequestID != req.RequestID || pr.Type != "erasure" || pr.Reason != "user_request" || pr.Status != "received" ||
		pr.Source != "api" || pr.PolicyVersion != "2025-04-09" {
		t.Errorf("privacy request event %+v", pr)
	}
}

func TestBadInputNamesEachField(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)
	cases := []struct {
		name, body string
		status     int
		fields     []string
	}{
		{"two bad fields", strings.NewReplacer(`"cmp"`, `"fax"`, `"denied", "advertising"`, `"nope", "advertising"`).Replace(designExample),
			400, []string{"source", "purposes.analytics"}},
		{"unknown field", strings.Replace(designExample, `"tenant"`, `"tennant"`, 1), 400, []string{"tennant"}},
		{"wrong type in batch element", `{"consents": [` + designExample + `, {"tenant": 5}]}`, 400, []string{"consents[1].tenant"}},
		{"invalid element in batch", `{"consents": [` + designExample + `,` + strings.Replace(designExample, `"consumer"`, `""`, 1) + `]}`,
			400, []string{"consents[1].tenant"}},
		{"empty batch", `{"consents": []}`, 400, []string{"consents"}},
		{"not JSON", `{"tenant":`, 400, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var e apiError
			if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, c.body, &e); status != c.status {
				t.Fatalf("status %d, want %d (%+v)", status, c.status, e)
			}
			var fields []string
			for _, f := range e.Error.Fields {
				fields = append(fields, f.Field)
				if strings.Contains(f.Message, "ada@example.com") {
					t.Errorf("message %q repeats the email", f.Message)
				}
			}
			if diff := cmp.Diff(c.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthAndTenantScope(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", "", designExample, nil); s != http.StatusUnauthorized {
		t.Errorf("no key: %d, want 401", s)
	}
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", "wrong-key-0123456789", designExample, nil); s != http.StatusUnauthorized {
		t.Errorf("bad key: %d, want 401", s)
	}
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.TenantKey, designExample, nil); s != http.StatusForbidden {
		t.Errorf("acme's key for the consumer tenant: %d, want 403", s)
	}
	acme := strings.Replace(designExample, `"consumer"`, `"acme"`, 1)
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.TenantKey, acme, nil); s != http.StatusAccepted {
		t.Errorf("acme's key for acme: %d, want 202", s)
	}
}

func TestIdempotencyKey(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)
	var first, second accepted
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &first, "Idempotency-Key", "k-1"); s != 202 {
		t.Fatalf("first: %d", s)
	}
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &second, "Idempotency-Key", "k-1"); s != 202 {
		t.Fatalf("retry: %d", s)
	}
	if first.EventIDs[0] != second.EventIDs[0] {
		t.Errorf("a retry with the same key got a new event id: %s then %s", first.EventIDs[0], second.EventIDs[0])
	}
	other := strings.Replace(designExample, `"denied", "advertising"`, `"granted", "advertising"`, 1)
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, other, nil, "Idempotency-Key", "k-1"); s != http.StatusUnprocessableEntity {
		t.Errorf("same key, different body: %d, want 422", s)
	}
	var third accepted
	testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &third)
	if third.EventIDs[0] == first.EventIDs[0] {
		t.Error("a request without a key reused an id")
	}
}

// TestKafkaDownAnswers503: with the broker gone, nothing is acknowledged, so the answer
// must not be 202.
func TestKafkaDownAnswers503(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)
	stack.Kafka.Cluster.Close()
	var e apiError
	if s := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &e); s != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", s)
	}
	if e.Error.Code != "unavailable" {
		t.Errorf("code %q", e.Error.Code)
	}
}

// A browser's Global Privacy Control travels with the consent it came with and is
// recorded as its own consent, with the signal as the source, after that consent; a
// server-to-server call's headers are not the person's and imply nothing.
func TestGPCHeaderIsRecordedAsItsOwnDenial(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, nil)
	grant := strings.NewReplacer(`"advertising": "denied"`, `"advertising": "granted"`).Replace(designExample)

	var got struct {
		EventIDs       []string `json:"event_ids"`
		SignalEventIDs []string `json:"signal_event_ids"`
	}
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, grant, &got, "Sec-GPC", "1"); status != http.StatusAccepted {
		t.Fatalf("status %d", status)
	}
	if len(got.EventIDs) != 1 || len(got.SignalEventIDs) != 1 {
		t.Fatalf("event_ids %v, signal_event_ids %v; want one of each", got.EventIDs, got.SignalEventIDs)
	}
	fromAPI := strings.NewReplacer(`"source": "cmp"`, `"source": "api"`, "u_8d41", "u_server").Replace(grant)
	var server struct {
		EventIDs       []string `json:"event_ids"`
		SignalEventIDs []string `json:"signal_event_ids"`
	}
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, fromAPI, &server, "Sec-GPC", "1", "DNT", "1"); status != http.StatusAccepted ||
		len(server.SignalEventIDs) != 0 {
		t.Fatalf("a server-to-server consent with signal headers: status %d, signal events %v", status, server.SignalEventIDs)
	}

	recs := testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 3, 60*time.Second)
	var cmpConsent, gpc *schemas.ConsentChanged
	for _, r := range recs {
		e := r.Event.(*schemas.ConsentChanged)
		switch e.EventID {
		case got.EventIDs[0]:
			cmpConsent = e
		case got.SignalEventIDs[0]:
			gpc = e
			if cmpConsent == nil {
				t.Error("the signal's consent precedes the consent it came with")
			}
		}
	}
	if cmpConsent == nil || gpc == nil {
		t.Fatalf("records %d, consent %v, signal %v", len(recs), cmpConsent != nil, gpc != nil)
	}
	if cmpConsent.Purposes["advertising"] != "granted" || cmpConsent.Source != "cmp" {
		t.Errorf("the CMP's own consent was altered: %s %v", cmpConsent.Source, cmpConsent.Purposes)
	}
	if diff := cmp.Diff(map[string]string{"advertising": "denied", "sale_share": "denied"}, gpc.Purposes); diff != "" || gpc.Source != "gpc" {
		t.Errorf("signal consent from %q: %s", gpc.Source, diff)
	}
	if gpc.SubjectKey != cmpConsent.SubjectKey || gpc.OccurredAt.Before(cmpConsent.OccurredAt) {
		t.Errorf("signal consent for %s at %s; consent for %s at %s", gpc.SubjectKey, gpc.OccurredAt, cmpConsent.SubjectKey, cmpConsent.OccurredAt)
	}
	if ids := openIdentifiers(t, stack, gpc); ids.Email != "ada@example.com" {
		t.Errorf("the signal's consent carries identifiers %+v", ids)
	}
}

// An erased subject's key is destroyed and never replaced: their later events are still
// accepted, and recorded without identifiers.
func TestErasedSubjectsEventsCarryNoIdentifiers(t *testing.T) {
	stack := testkit.NewStack(t)
	svc := testkit.StartService(t, run, stack.Env, map[string]string{})
	var first accepted
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &first); status != http.StatusAccepted {
		t.Fatalf("first consent: %d", status)
	}
	ctx := context.Background()
	pool, err := postgres.Connect(ctx, stack.PostgresURL, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gone, err := keystore.Destroy(ctx, tx, []string{stack.Pepper.SubjectKey("consumer", "u_8d41")}); err != nil || len(gone) != 1 {
		t.Fatalf("destroy: %v %v", gone, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// The service may hold the key in its cache for up to a minute; a fresh one does not.
	svc.Stop()
	svc = testkit.StartService(t, run, stack.Env, nil)
	var later accepted
	if status := testkit.Call(t, "POST", svc.URL+"/v1/consents", testkit.APIKey, designExample, &later); status != http.StatusAccepted {
		t.Fatalf("consent after the erasure: %d", status)
	}
	for _, d := range testkit.ReadTopic(t, stack.Kafka.Brokers, stack.RegistryURL, stack.Kafka.Topics.Consents, 2, 60*time.Second) {
		e := d.Event.EventHeader()
		if e.EventID == later.EventIDs[0] && e.Identifiers != nil {
			t.Error("an erased subject's new event carries sealed identifiers")
		}
		if e.EventID == first.EventIDs[0] && e.Identifiers == nil {
			t.Error("the first event lost its identifiers")
		}
	}
}
