package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/consentry/consentry/platform/seal"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/schemas"
)

// privacyRequest is one event of request rid's lifecycle, as consent-ingest writes it:
// the received event's id is the request id; later events have their own.
func (f *fixture) privacyRequest(rid, typ, scope, status string, deadline time.Time) func(schemas.Header) (string, schemas.Event) {
	return func(h schemas.Header) (string, schemas.Event) {
		if status == "received" {
			h.EventID = rid
		}
		return f.stack.Kafka.Topics.Requests, &schemas.PrivacyRequest{Header: h, RequestID: rid, Type: typ, Reason: "user_request",
			Status: status, DeadlineAt: &deadline, Jurisdiction: "gdpr", Scope: scope}
	}
}

func newRequestID(t *testing.T) string {
	t.Helper()
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// statuses returns the status events of request rid on the requests topic other than
// those the test published (which come from source "cmp").
func (f *fixture) statuses(rid string) []*schemas.PrivacyRequest {
	f.t.Helper()
	var out []*schemas.PrivacyRequest
	for _, d := range testkit.ReadAll(f.t, f.stack.Kafka.Brokers, f.stack.RegistryURL, f.stack.Kafka.Topics.Requests) {
		if pr := d.Event.(*schemas.PrivacyRequest); pr.RequestID == rid && pr.Source != "cmp" {
			out = append(out, pr)
		}
	}
	return out
}

// completion waits for request rid's completion and checks that it is the only one.
func (f *fixture) completion(rid string) *schemas.PrivacyRequest {
	f.t.Helper()
	var got []*schemas.PrivacyRequest
	// Longer than the default lease (2 min): a delivery a stopped run had claimed comes
	// back to the next only when its lease ends, as a killed dispatcher's would.
	f.waitFor("the request's completion", 3*time.Minute, func() bool {
		got = f.statuses(rid)
		return len(got) > 0
	})
	// A second completion could come only from a delivery still open or a record not yet
	// relayed: once neither is left, every completion there will be is on Kafka.
	db := f.db()
	f.waitFor("the request's deliveries closed and the outbox relayed", 60*time.Second, func() bool {
		var left int
		err := db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM fanout.outbox) +
			(SELECT count(*) FROM fanout.deliveries WHERE (request_id = $1 OR event_id = $1) AND state IN ('pending', 'polling'))`, rid).Scan(&left)
		return err == nil && left == 0
	})
	if got = f.statuses(rid); len(got) != 1 {
		f.t.Fatalf("%d status events from vendor-fanout, want exactly one: %+v", len(got), got)
	}
	return got[0]
}

func (f *fixture) db() *pgxpool.Pool {
	f.t.Helper()
	pool, err := postgres.Connect(context.Background(), f.stack.PostgresURL, 2, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(pool.Close)
	return pool
}

// TestRequestsAreActedOnOnceInProgress: a request only received reaches no vendor; once
// in progress its deliveries are planned under its request id, a deadline extension plans
// nothing new, and when every vendor is done one completed event follows, carrying the
// request's header and its latest deadline.
func TestRequestsAreActedOnOnceInProgress(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	db := f.db()
	ctx := context.Background()
	rid := newRequestID(t)
	deadline := time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Millisecond)
	f.publish("u_lc", "lc@example.com", f.privacyRequest(rid, "erasure", "", "received", deadline))
	// An access request of the same subject, on the same partition after it: once it is
	// completed, the received erasure has been consumed too.
	marker := newRequestID(t)
	f.publish("u_lc", "lc@example.com", f.privacyRequest(marker, "access", "", "in_progress", deadline))
	f.completion(marker)
	var planned int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM fanout.deliveries WHERE request_id = $1`, rid).Scan(&planned); err != nil || planned != 0 {
		t.Fatalf("%d deliveries planned for a request only received (%v)", planned, err)
	}
	if n := len(f.sim.Calls()); n != 0 {
		t.Fatalf("vendors were called %d times for a received request", n)
	}

	// HubSpot down keeps the request open while its extension arrives.
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "down"}); err != nil {
		t.Fatal(err)
	}
	f.publish("u_lc", "lc@example.com", f.privacyRequest(rid, "erasure", "", "in_progress", deadline))
	f.waitFor("four deliveries under the request id", 60*time.Second, func() bool {
		_ = db.QueryRow(ctx, `SELECT count(*) FROM fanout.deliveries WHERE event_id = $1 AND request_id = $1`, rid).Scan(&planned)
		return planned == 4
	})
	extended := deadline.Add(60 * 24 * time.Hour)
	f.publish("u_lc", "lc@example.com", func(h schemas.Header) (string, schemas.Event) {
		topic, e := f.privacyRequest(rid, "erasure", "", "in_progress", extended)(h)
		e.(*schemas.PrivacyRequest).Detail = "deadline_extended: complexity"
		return topic, e
	})
	f.waitFor("the extended deadline", 60*time.Second, func() bool {
		var at time.Time
		_ = db.QueryRow(ctx, `SELECT deadline_at FROM fanout.decisions WHERE event_id = $1`, rid).Scan(&at)
		return at.Equal(extended)
	})
	if err := db.QueryRow(ctx, `SELECT count(*) FROM fanout.deliveries WHERE request_id = $1`, rid).Scan(&planned); err != nil || planned != 4 {
		t.Fatalf("%d deliveries after the extension, want the same 4 (%v)", planned, err)
	}
	if got := f.statuses(rid); len(got) != 0 {
		t.Fatalf("completed while HubSpot is down: %+v", got)
	}
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "ok"}); err != nil {
		t.Fatal(err)
	}

	c := f.completion(rid)
	wantID, _ := eventid.Derive(rid, "status/completed")
	key := f.stack.Pepper.SubjectKey("consumer", "u_lc")
	if c.Status != "completed" || c.EventID != wantID || c.Type != "erasure" || c.Reason != "user_request" ||
		c.Jurisdiction != "gdpr" || c.Tenant != "consumer" || c.SubjectKey != key || c.PolicyVersion != "2025-04-09" ||
		c.Source != "consentry" || c.Identifiers == nil || c.DeadlineAt == nil || !c.DeadlineAt.Equal(extended) {
		t.Errorf("completion %+v (deadline %v), want completed with the request's header and the extended deadline", c, c.DeadlineAt)
	}
	if !strings.HasPrefix(c.Detail, "all 4 vendor actions carried out; the subject's data key is destroyed") {
		t.Errorf("detail %q", c.Detail)
	}
	// Every vendor carried the erasure out: the subject's key is shredded with the
	// announcement, and no copy of their identifiers — this event's included — opens.
	f.sealer.Forget(key)
	if ids, err := f.sealer.Open(ctx, "consumer", key, c.Identifiers); !errors.Is(err, seal.ErrShredded) {
		t.Errorf("after the erasure completed, identifiers open to %+v (%v), want ErrShredded", ids, err)
	}
	// Vendors' idempotency keys are the request's, whichever event planned them.
	wantKey, _ := eventid.Derive(rid, "delivery/hubspot/delete_user")
	for _, call := range f.hubspotCalls() {
		if call.Status != 0 && call.IdempotencyKey != wantKey {
			t.Errorf("hubspot call with idempotency key %q, want %q", call.IdempotencyKey, wantKey)
		}
	}
	for _, rs := range f.receipts(1) {
		for _, r := range rs {
			if r.SourceEventID != rid || r.RequestID != rid {
				t.Errorf("receipt answers %s (request %s), want the request %s", r.SourceEventID, r.RequestID, rid)
			}
		}
	}
}

// TestADeadLetteredVendorMakesTheRequestPartiallyCompleted: HubSpot rejects the erasure
// for good; the others carry it out; the request is partially completed, naming HubSpot.
func TestADeadLetteredVendorMakesTheRequestPartiallyCompleted(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "4xx"}); err != nil {
		t.Fatal(err)
	}
	other := f.otherProcess()
	f.primeOtherProcess(other, "u_dl", "dl@example.com")
	rid := newRequestID(t)
	f.publish("u_dl", "dl@example.com", f.privacyRequest(rid, "erasure", "", "in_progress", time.Now().Add(720*time.Hour)))
	c := f.completion(rid)
	wantID, _ := eventid.Derive(rid, "status/partially_completed")
	if c.Status != "partially_completed" || c.EventID != wantID {
		t.Errorf("status %s, id %s; want partially_completed, %s", c.Status, c.EventID, wantID)
	}
	if c.Detail != "1 of 4 vendor actions not carried out: hubspot delete_user: dead_lettered (HTTP 400); "+
		"the subject's data key is destroyed (crypto-shredding): no sealed copy of their identifiers opens any more" {
		t.Errorf("detail %q", c.Detail)
	}
	if strings.Contains(c.Detail, "dl@example.com") || strings.Contains(f.svc.Logs.String(), "dl@example.com") {
		t.Error("the detail or the logs name the address")
	}
	// Attack: the partial erasure kept the key, for a replay that may never come.
	f.refusedElsewhere(other, "u_dl", c.Identifiers)
}

// otherProcess is another process of the stack that opens identifiers (audit-sink,
// say): a sealer listening for destroyed keys, whose cache would keep a key an hour.
func (f *fixture) otherProcess() *seal.Sealer {
	f.t.Helper()
	return testkit.SealerWith(f.t, f.stack.PostgresURL, f.stack.Env["CONSENTRY_MASTER_KEYS"], seal.Options{CacheTTL: time.Hour})
}

// refusedElsewhere opens subject's identifiers in other, which must have opened them
// before the erasure closed (it has the key in cache), and waits until it refuses them:
// within seconds of the erasure closing, no process opens them.
func (f *fixture) refusedElsewhere(other *seal.Sealer, subject string, sealed *schemas.Sealed) {
	f.t.Helper()
	key := f.stack.Pepper.SubjectKey("consumer", subject)
	f.waitFor("the erased subject's key refused in another process", 10*time.Second, func() bool {
		_, err := other.Open(context.Background(), "consumer", key, sealed)
		return errors.Is(err, seal.ErrShredded)
	})
}

// primeOtherProcess has other open subject's identifiers (and so cache the key) before
// the erasure is published.
func (f *fixture) primeOtherProcess(other *seal.Sealer, subject, email string) *schemas.Sealed {
	f.t.Helper()
	key := f.stack.Pepper.SubjectKey("consumer", subject)
	sealed, err := f.sealer.Seal(context.Background(), "consumer", key, seal.Identifiers{SubjectID: subject, Email: email})
	if err != nil {
		f.t.Fatal(err)
	}
	if ids, err := other.Open(context.Background(), "consumer", key, sealed); err != nil || ids.Email != email {
		f.t.Fatalf("the other process opens %+v (%v) before the erasure", ids, err)
	}
	return sealed
}

// Attack: a vendor that keeps failing — retried, never dead-lettered — held an erasure
// open, and the subject's identifiers readable everywhere, past its legal deadline. The
// sweeper closes it at the deadline: partially completed, naming HubSpot, the key
// destroyed, and no other process opens the identifiers seconds later.
func TestAnErasurePastItsDeadlineIsClosedAndShredded(t *testing.T) {
	t.Parallel()
	f := start(t, map[string]string{"CONSENTRY_FANOUT_MAX_ATTEMPTS": "0", "CONSENTRY_FANOUT_DEADLINE_SWEEP": "200ms"})
	if err := f.sim.SetFault(vendorsim.Fault{Vendor: "hubspot", Mode: "down"}); err != nil {
		t.Fatal(err)
	}
	other := f.otherProcess()
	sealed := f.primeOtherProcess(other, "u_late", "late@example.com")
	rid := newRequestID(t)
	f.publish("u_late", "late@example.com", f.privacyRequest(rid, "erasure", "", "in_progress", time.Now().Add(3*time.Second)))
	c := f.completion(rid)
	if c.Status != "partially_completed" || !strings.HasPrefix(c.Detail, "closed at its legal deadline; ") ||
		!strings.Contains(c.Detail, "hubspot delete_user: dead_lettered") || !strings.Contains(c.Detail, "the subject's data key is destroyed") {
		t.Errorf("status %s, detail %q; want partially completed at the deadline, naming hubspot, key destroyed", c.Status, c.Detail)
	}
	f.refusedElsewhere(other, "u_late", sealed)
	if strings.Contains(c.Detail, "late@example.com") || strings.Contains(f.svc.Logs.String(), "late@example.com") {
		t.Error("the detail or the logs name the address")
	}
}

// TestRequestsNoVendorServesCompleteAtOnce: access (served by audit-sink's export),
// objection (carried out by the consent denials that follow it) and a restriction lift
// in a table without one reach no vendor and complete as soon as they are in progress.
func TestRequestsNoVendorServesCompleteAtOnce(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	for _, typ := range []string{"access", "portability", "objection"} {
		rid := newRequestID(t)
		f.publish("u_"+typ, typ+"@example.com", f.privacyRequest(rid, typ, "", "in_progress", time.Now().Add(720*time.Hour)))
		if c := f.completion(rid); c.Status != "completed" || c.Type != typ || c.Detail != "no vendor action required for this request type" {
			t.Errorf("%s: %+v", typ, c)
		}
	}
	if n := len(f.sim.Calls()); n != 0 {
		t.Errorf("%d vendor calls for requests no vendor serves", n)
	}
}

// TestARequestWithAManualTaskCompletesOnlyOnceTheTaskIs: ZoomInfo has no API; its task
// keeps the erasure open after HubSpot is done, until a person completes it.
func TestARequestWithAManualTaskCompletesOnlyOnceTheTaskIs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testkit.NewStack(t))
	routes := filepath.Join(t.TempDir(), "routing.json")
	if err := os.WriteFile(routes, []byte(`{
	  "instances": [
	    {"name": "hubspot", "type": "hubspot", "tenants": ["*"], "rate_per_second": 50, "burst": 50, "concurrency": 2},
	    {"name": "zoominfo", "type": "zoominfo", "tenants": ["*"],
	     "manual": {"owner": "sales-ops", "due": "360h", "instructions": "Ask ZoomInfo to erase the person."}}
	  ],
	  "denied": {},
	  "requests": {"erasure": {"hubspot": "delete_user", "zoominfo": "delete_user"},
	               "restriction": {"hubspot": "opt_out", "zoominfo": "restrict"}}
	}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.run(map[string]string{"CONSENTRY_ROUTING_FILE": routes})
	rid := newRequestID(t)
	f.publish("u_task", "task@example.com", f.privacyRequest(rid, "restriction", "apply", "in_progress", time.Now().Add(720*time.Hour)))
	var tasks tasksResponse
	f.waitFor("the open task and HubSpot's opt-out", 60*time.Second, func() bool {
		testkit.Call(t, "GET", f.svc.URL+"/v1/manual-tasks?status=open", testkit.OperatorKey, nil, &tasks)
		return len(tasks.Tasks) == 1 && f.successes("hubspot", "unsubscribe-all") == 1
	})
	if task := tasks.Tasks[0]; task.EventID != rid || task.Action != "restrict" {
		t.Errorf("task %+v, want restrict for the request", task)
	}
	// The task's delivery is checked again while the task is open: had an open task
	// counted as done, that check would complete the request.
	db := f.db()
	firstAttempts := -1
	f.waitFor("the task's delivery checked twice more", 60*time.Second, func() bool {
		var attempts int
		if err := db.QueryRow(context.Background(), `SELECT attempts FROM fanout.deliveries WHERE event_id = $1 AND instance = 'zoominfo'`, rid).Scan(&attempts); err != nil {
			return false
		}
		if firstAttempts < 0 {
			firstAttempts = attempts
		}
		return attempts >= firstAttempts+2
	})
	if got := f.statuses(rid); len(got) != 0 {
		t.Fatalf("completed with its task open: %+v", got)
	}
	url := f.svc.URL + "/v1/manual-tasks/" + strconv.FormatInt(tasks.Tasks[0].ID, 10) + "/complete"
	if s := testkit.Call(t, "POST", url, testkit.OperatorKey, `{"completed_by":"ops@company"}`, nil); s != http.StatusOK {
		t.Fatalf("completing the task: %d", s)
	}
	c := f.completion(rid)
	if c.Status != "completed" || c.Type != "restriction" || c.Scope != "apply" || c.Detail != "all 2 vendor actions carried out" {
		t.Errorf("completion %+v", c)
	}
	if bytes.Contains([]byte(f.svc.Logs.String()), []byte("task@example.com")) {
		t.Error("the logs name the address")
	}
}

// Attack: a database restored from a backup taken before an erasure brings the erased
// subject's wrapped key back. Replaying the erasure's completion from the requests topic
// (its consumer group reset to the backup's time, deploy/README.md) destroys it again.
func TestAReplayedErasureCompletionDestroysARestoredKey(t *testing.T) {
	t.Parallel()
	f := start(t, nil)
	other := f.otherProcess()
	// The restored key: live, as the backup had it.
	sealed := f.primeOtherProcess(other, "u_restored", "restored@example.com")
	rid := newRequestID(t)
	deadline := time.Now().Add(720 * time.Hour)
	f.publish("u_restored", "restored@example.com", func(h schemas.Header) (string, schemas.Event) {
		h.Source = schemas.SourceConsentry
		return f.stack.Kafka.Topics.Requests, &schemas.PrivacyRequest{Header: h, RequestID: rid, Type: "erasure", Reason: "user_request",
			Status: "partially_completed", DeadlineAt: &deadline, Jurisdiction: "gdpr",
			Detail: "1 of 4 vendor actions not carried out: hubspot delete_user: dead_lettered (HTTP 400)"}
	})
	f.refusedElsewhere(other, "u_restored", sealed)
}
