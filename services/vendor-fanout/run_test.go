package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/platform/serde"
	"github.com/consentry/consentry/schemas"
)

func TestMain(m *testing.M) { testkit.MainWithOpenAPI(m, "vendor-fanout", openAPI) }

type fixture struct {
	t      *testing.T
	stack  *testkit.Stack
	sim    *vendorsim.Simulator
	simURL string
	svc    *testkit.Service
	serde  *serde.Serde
	prod   *kafka.Producer
	sealer *seal.Sealer
}

// start runs vendor-fanout against the simulator with a fast retry policy.
func start(t *testing.T, extra map[string]string) *fixture {
	t.Helper()
	f := newFixture(t, testkit.NewStack(t))
	f.run(extra)
	return f
}

// newFixture prepares a simulator, a producer and a sealer on stack, without starting
// the service (tests that restart it call run themselves).
func newFixture(t *testing.T, stack *testkit.Stack) *fixture {
	t.Helper()
	sim := vendorsim.New(vendorsim.Options{JobDelay: 300 * time.Millisecond})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{t: t, stack: stack, sim: sim, simURL: srv.URL}

	ctx := context.Background()
	client, _ := serde.NewClient(stack.RegistryURL, "", "", "", nil)
	var err error
	if f.serde, err = serde.New(ctx, serde.Config{Client: client, Writes: serde.RecordsByTopic(stack.Kafka.Topics)}); err != nil {
		t.Fatal(err)
	}
	if f.prod, err = kafka.NewProducer(kafka.ProducerConfig{Brokers: stack.Kafka.Brokers}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.prod.Close() })
	f.sealer = stack.Sealer(t)
	return f
}

// simEnv points every seed vendor instance at the simulator at url, with a fast policy.
func simEnv(url string) map[string]string {
	return map[string]string{
		"CONSENTRY_VENDOR_HUBSPOT_BASE_URL":        url + "/hubspot",
		"CONSENTRY_VENDOR_HUBSPOT_TOKEN":           "hs-token",
		"CONSENTRY_VENDOR_AMPLITUDE_BASE_URL":      url + "/amplitude",
		"CONSENTRY_VENDOR_AMPLITUDE_API_KEY":       "amp-key",
		"CONSENTRY_VENDOR_AMPLITUDE_SECRET_KEY":    "amp-secret",
		"CONSENTRY_VENDOR_POSTHOG_BASE_URL":        url + "/posthog",
		"CONSENTRY_VENDOR_POSTHOG_API_KEY":         "phx_key",
		"CONSENTRY_VENDOR_POSTHOG_PROJECT_ID":      "1",
		"CONSENTRY_VENDOR_FULLSTORY_BASE_URL":      url + "/fullstory",
		"CONSENTRY_VENDOR_FULLSTORY_API_KEY":       "fs-key",
		"CONSENTRY_VENDOR_LINKEDIN_BASE_URL":       url + "/linkedin",
		"CONSENTRY_VENDOR_LINKEDIN_ACCESS_TOKEN":   "li-token",
		"CONSENTRY_VENDOR_LINKEDIN_SEGMENT_ID":     "4242",
		"CONSENTRY_VENDOR_SALESFORCE_BASE_URL":     url + "/salesforce",
		"CONSENTRY_VENDOR_SALESFORCE_ACCESS_TOKEN": "sf-token",
		"CONSENTRY_VENDOR_SENDGRID_BASE_URL":       url + "/sendgrid",
		"CONSENTRY_VENDOR_SENDGRID_API_KEY":        "sg-key",
		"CONSENTRY_FANOUT_RETRY_BASE":              "50ms",
		"CONSENTRY_FANOUT_RETRY_MAX":               "300ms",
		"CONSENTRY_FANOUT_POLL_INTERVAL":           "200ms",
		"CONSENTRY_FANOUT_POLL_MAX":                "400ms",
		"CONSENTRY_FANOUT_BREAKER_TIMEOUT":         "1s",
		"CONSENTRY_VENDOR_TIMEOUT":                 "2s",
	}
}

// run starts vendor-fanout on the fixture's stack, pointed at its simulator.
func (f *fixture) run(extra map[string]string) {
	f.t.Helper()
	env := simEnv(f.simURL)
	for k, v := range extra {
		env[k] = v
	}
	f.svc = testkit.StartService(f.t, run, f.stack.Env, env)
}

// publish sends an event for a consumer-tenant subject as consent-ingest would, and
// returns its id.
func (f *fixture) publish(subject, email string, build func(schemas.Header) (string, schemas.Event)) string {
	f.t.Helper()
	return f.publishAs("consumer", subject, email, build)
}

func (f *fixture) publishAs(tenant, subject, email string, build func(schemas.Header) (string, schemas.Event)) string {
	f.t.Helper()
	ctx := context.Background()
	key := f.stack.Pepper.SubjectKey(tenant, subject)
	sealed, err := f.sealer.Seal(ctx, tenant, key, seal.Identifiers{SubjectID: subject, Email: email,
		VendorIDs: map[string]string{"amplitude": "amp-" + subject}})
	if err != nil {
		f.t.Fatal(err)
	}
	id, _ := eventid.New()
	now := time.Now().UTC()
	topic, e := build(schemas.Header{EventID: id, Tenant: tenant, SubjectKey: key, OccurredAt: now, RecordedAt: now,
		Source: "cmp", PolicyVersion: "2025-04-09", Identifiers: sealed})
	m, err := f.serde.EncodeMessage(topic, key, e)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.prod.Publish(ctx, m); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) deny(purposes ...string) func(schemas.Header) (string, schemas.Event) {
	return func(h schemas.Header) (string, schemas.Event) {
		p := map[string]string{}
		for _, x := range purposes {
			p[x] = "denied"
		}
		return f.stack.Kafka.Topics.Consents, &schemas.ConsentChanged{Header: h, Purposes: p}
	}
}

// erase is an erasure request reaching in_progress, the status vendor-fanout acts on;
// its request id is the event's id, which publish returns.
func (f *fixture) erase(h schemas.Header) (string, schemas.Event) {
	return f.stack.Kafka.Topics.Requests, &schemas.PrivacyRequest{Header: h, RequestID: h.EventID, Type: "erasure", Reason: "user_request", Status: "in_progress"}
}

// successes counts the simulator's 2xx answers per vendor whose path contains substr.
func (f *fixture) successes(vendor, substr string) int {
	n := 0
	for _, c := range f.sim.Calls() {
		if c.Vendor == vendor && c.Status >= 200 && c.Status < 300 && strings.Contains(c.Path+"?"+c.Query, substr) {
			n++
		}
	}
	return n
}

// summary lists the simulator's calls one per line, the last 40 at most.
func (f *fixture) summary() string {
	calls := f.sim.Calls()
	if len(calls) > 40 {
		calls = calls[len(calls)-40:]
	}
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "  %s %s %s %s?%s -> %d\n", c.At.Format("15:04:05.000"), c.Vendor, c.Method, c.Path, c.Query, c.Status)
	}
	return b.String()
}

// deletes counts DELETE calls a vendor answered, whatever the answer: a repeat deletion
// may well be told "already gone" (404).
func (f *fixture) deletes(vendor string) int {
	n := 0
	for _, c := range f.sim.Calls() {
		if c.Vendor == vendor && c.Method == http.MethodDelete && c.Status != 0 {
			n++
		}
	}
	return n
}

func (f *fixture) waitFor(what string, timeout time.Duration, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s; simulator calls:\n%s", what, f.summary())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// idle waits until vendor's lane has nothing left to call: no delivery pending (a
// delivery stays pending until its call has been answered and recorded) nor awaiting a
// vendor job. A check afterwards that no further call came is then exact, where a sleep
// would only make it likely.
func (f *fixture) idle(vendor string) {
	f.t.Helper()
	f.waitFor(vendor+"'s lane to have nothing left to call", 60*time.Second, func() bool {
		var vs vendorsResponse
		testkit.Call(f.t, "GET", f.svc.URL+"/v1/vendors", testkit.OperatorKey, nil, &vs)
		for _, v := range vs.Vendors {
			if v.Name == vendor {
				return v.QueueDepth == 0 && v.AwaitingJobs == 0
			}
		}
		return false
	})
}

// receipts reads at least want receipts, by vendor.
func (f *fixture) receipts(want int) map[string][]*schemas.VendorReceipt {
	f.t.Helper()
	got := map[string][]*schemas.VendorReceipt{}
	for _, d := range testkit.ReadTopic(f.t, f.stack.Kafka.Brokers, f.stack.RegistryURL, f.stack.Kafka.Topics.Receipts, want, 60*time.Second) {
		r := d.Event.(*schemas.VendorReceipt)
		got[r.Vendor] = append(got[r.Vendor], r)
	}
	return got
}

func TestDesignRoutingReachesEveryVendorWithReceipts(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	consentID := f.publish("u_8d41", "ada@example.com", f.deny("analytics", "advertising", "marketing_email"))
	erasureID := f.publish("u_8d41", "ada@example.com", f.erase)

	f.waitFor("every vendor call", 60*time.Second, func() bool {
		return f.successes("hubspot", "/unsubscribe-all") == 1 && f.successes("hubspot", "/gdpr-delete") == 1 &&
			f.successes("amplitude", "/deletions/users") >= 2 && f.successes("posthog", "/bulk_delete") == 1 &&
			f.deletes("fullstory") == 2
	})
	for _, c := range f.sim.Calls() {
		if c.Vendor == "hubspot" && strings.Contains(c.Path, "unsubscribe-all") && !strings.Contains(c.Path, "ada@example.com") {
			t.Errorf("hubspot unsubscribe path %q does not name the address", c.Path)
		}
		if c.IdempotencyKey == "" && c.Method != "GET" {
			t.Errorf("%s %s carries no Idempotency-Key", c.Vendor, c.Path)
		}
	}

	// hubspot: opt_out and delete_user, delivered. Each analytics vendor deletes twice
	// (denial, then erasure): the first is accepted as an async job, the second is
	// accepted too or answered "already done" — never lost. Accepted jobs are then
	// verified: "completed".
	var got map[string][]*schemas.VendorReceipt
	f.waitFor("receipts for every delivery and verification", 60*time.Second, func() bool {
		got = map[string][]*schemas.VendorReceipt{}
		for _, d := range testkit.ReadAll(t, f.stack.Kafka.Brokers, f.stack.RegistryURL, f.stack.Kafka.Topics.Receipts) {
			r := d.Event.(*schemas.VendorReceipt)
			got[r.Vendor] = append(got[r.Vendor], r)
		}
		done := len(got["hubspot"]) == 2
		for _, v := range []string{"amplitude", "posthog", "fullstory"} {
			accepted, completed := 0, 0
			for _, r := range got[v] {
				switch r.Outcome {
				case "accepted":
					accepted++
				case "completed":
					completed++
				}
			}
			done = done && accepted > 0 && completed == accepted
		}
		return done
	})
	for v, rs := range got {
		for _, r := range rs {
			if r.SourceEventID != consentID && r.SourceEventID != erasureID {
				t.Errorf("%s receipt answers %s, which is neither event", v, r.SourceEventID)
			}
			if r.SourceEventID == erasureID && r.RequestID != erasureID {
				t.Errorf("%s erasure receipt has request id %q", v, r.RequestID)
			}
		}
	}
	hub := map[string]string{}
	for _, r := range got["hubspot"] {
		hub[r.Action] = r.Outcome
	}
	if hub["opt_out"] != "delivered" || hub["delete_user"] != "delivered" {
		t.Errorf("hubspot receipts %v", hub)
	}
	for _, v := range []string{"amplitude", "posthog", "fullstory"} {
		initial := 0
		for _, r := range got[v] {
			if r.Action != "delete_user" {
				t.Errorf("%s receipt for %s", v, r.Action)
			}
			if r.Outcome == "accepted" || r.Outcome == "already_done" {
				initial++
			}
		}
		if initial != 2 {
			t.Errorf("%s: %d delivery receipts, want 2 (one per event)", v, initial)
		}
	}
}

type vendorsResponse struct {
	Vendors []struct {
		Name           string     `json:"name"`
		Breaker        string     `json:"breaker"`
		QueueDepth     int        `json:"queue_depth"`
		AwaitingJobs   int        `json:"awaiting_vendor_jobs"`
		ThrottledUntil *time.Time `json:"throttled_until"`
		LastError      string     `json:"last_error"`
		Done           int        `json:"deliveries_done"`
	} `json:"vendors"`
}

// TestOneVendorDownDelaysNoOther: with Amplitude down, every other vendor's deliveries
// complete while Amplitude's lane holds its backlog (and its breaker opens); once it
// recovers, the backlog drains.
func TestOneVendorDownDelaysNoOther(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "amplitude", Mode: "down"}); err != nil {
		t.Fatal(err)
	}
	const subjects = 5
	for i := range subjects {
		f.publish("s"+string(rune('a'+i)), "p"+string(rune('a'+i))+"@example.com", f.deny("analytics", "marketing_email"))
	}
	f.waitFor("the healthy vendors", 60*time.Second, func() bool {
		return f.successes("hubspot", "unsubscribe-all") == subjects && f.successes("posthog", "bulk_delete") == subjects &&
			f.successes("fullstory", "/v2/users") >= subjects
	})
	var vs vendorsResponse
	f.waitFor("amplitude's breaker to open", 60*time.Second, func() bool {
		testkit.Call(t, "GET", f.svc.URL+"/v1/vendors", testkit.OperatorKey, nil, &vs)
		for _, v := range vs.Vendors {
			if v.Name == "amplitude" {
				return v.Breaker == "open" && v.QueueDepth == subjects && v.LastError != ""
			}
		}
		return false
	})
	if f.successes("amplitude", "") != 0 {
		t.Fatal("amplitude answered while down")
	}
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "amplitude", Mode: "ok"}); err != nil {
		t.Fatal(err)
	}
	// The backlog may go as one batch (routing's max_batch): count the user ids the
	// simulator accepted, not the requests.
	f.waitFor("amplitude's backlog to drain", 60*time.Second, func() bool { return f.amplitudeDeleted(t) == subjects })
}

// amplitudeDeleted counts the distinct user ids of the deletion requests Amplitude accepted.
func (f *fixture) amplitudeDeleted(t *testing.T) int {
	ids := map[string]bool{}
	for _, c := range f.sim.Calls() {
		if c.Vendor != "amplitude" || c.Method != http.MethodPost || c.Status < 200 || c.Status >= 300 {
			continue
		}
		var body struct {
			UserIDs []string `json:"user_ids"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatalf("an accepted deletion request's body: %v", err)
		}
		for _, id := range body.UserIDs {
			ids[id] = true
		}
	}
	return len(ids)
}

// TestRetryAfterIsHonoured: after a 429 with Retry-After: 2, the simulator sees no call
// to that vendor for two seconds.
func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "429", RetryAfterS: 2}); err != nil {
		t.Fatal(err)
	}
	f.publish("u1", "u1@example.com", f.deny("marketing_email"))
	f.waitFor("the throttled call", 60*time.Second, func() bool { return len(f.hubspotCalls()) >= 1 })
	throttledAt := f.hubspotCalls()[0].At
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "ok"}); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the retry", 60*time.Second, func() bool { return f.successes("hubspot", "unsubscribe-all") == 1 })
	calls := f.hubspotCalls()
	if calls[0].Status != http.StatusTooManyRequests {
		t.Fatalf("first call answered %d", calls[0].Status)
	}
	if gap := calls[1].At.Sub(throttledAt); gap < 2*time.Second {
		t.Errorf("called again %v after a Retry-After of 2s", gap)
	}
}

func (f *fixture) hubspotCalls() []vendorsim.Call {
	var out []vendorsim.Call
	for _, c := range f.sim.Calls() {
		if c.Vendor == "hubspot" {
			out = append(out, c)
		}
	}
	return out
}

// TestPermanentRejectionIsDeadLetteredAndReplayable: a 4xx is not retried; it is parked
// with its reason and a dead_lettered receipt, and a replay (twice) delivers it once.
func TestPermanentRejectionIsDeadLetteredAndReplayable(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "4xx"}); err != nil {
		t.Fatal(err)
	}
	f.publish("u1", "u1@example.com", f.deny("marketing_email"))
	var dl struct {
		DeadLetters []struct {
			ID        int64  `json:"id"`
			Vendor    string `json:"vendor"`
			LastError string `json:"last_error"`
		} `json:"dead_letters"`
	}
	f.waitFor("the dead letter", 60*time.Second, func() bool {
		testkit.Call(t, "GET", f.svc.URL+"/v1/dead-letters", testkit.OperatorKey, nil, &dl)
		return len(dl.DeadLetters) == 1
	})
	if n := len(f.hubspotCalls()); n != 1 {
		t.Errorf("a permanent rejection was tried %d times, want 1", n)
	}
	if strings.Contains(dl.DeadLetters[0].LastError, "u1@example.com") {
		t.Error("the dead letter's error names the address")
	}
	receipts := f.receipts(1)
	if r := receipts["hubspot"][0]; r.Outcome != "dead_lettered" || r.HTTPStatus != 400 {
		t.Errorf("receipt %+v", r)
	}

	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "ok"}); err != nil {
		t.Fatal(err)
	}
	id := dl.DeadLetters[0].ID
	replay := f.svc.URL + "/v1/dead-letters/" + strconv.FormatInt(id, 10) + "/replay"
	if s := testkit.Call(t, "POST", replay, testkit.OperatorKey, nil, nil); s != http.StatusAccepted {
		t.Fatalf("replay: %d", s)
	}
	f.waitFor("the replayed delivery", 60*time.Second, func() bool { return f.successes("hubspot", "unsubscribe-all") == 1 })
	if s := testkit.Call(t, "POST", replay, testkit.OperatorKey, nil, nil); s != http.StatusNotFound {
		t.Errorf("second replay: %d, want 404 (nothing left to replay)", s)
	}
	f.idle("hubspot")
	if n := f.successes("hubspot", "unsubscribe-all"); n != 1 {
		t.Errorf("delivered %d times after two replays, want 1", n)
	}
	// The replay is on the record, naming who made it: dead_lettered, replayed, delivered.
	var outcomes []string
	replayed := false
	for _, r := range f.receipts(3)["hubspot"] {
		outcomes = append(outcomes, r.Outcome)
		if r.Outcome == OutcomeReplayed && strings.Contains(r.Detail, "replayed by ") && !strings.HasSuffix(r.Detail, "by ") {
			replayed = true
		}
	}
	if !replayed {
		t.Errorf("hubspot receipts %v: want one recording the replay and who made it", outcomes)
	}
	if s := testkit.Call(t, "POST", replay, testkit.TenantKey, nil, nil); s != http.StatusForbidden {
		t.Errorf("a tenant key replayed: %d, want 403", s)
	}
}
