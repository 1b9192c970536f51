package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// announcing opens a store whose announcements are the completions as JSON, on topic
// "requests".
func announcing(t *testing.T) (*Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := Open(ctx, pool, func(c fanout.Completion) (kafka.Message, error) {
		b, err := json.Marshal(c)
		return kafka.Message{Topic: "requests", Key: []byte(c.Request.SubjectKey), Value: b}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

// request plans a privacy request with one delivery per instance, as consume.go does:
// under event_id = request_id.
func request(t *testing.T, s *Store, typ string, instances ...string) (string, map[string]int64) {
	t.Helper()
	return requestDue(t, s, typ, time.Now().Add(30*24*time.Hour), instances...)
}

// requestDue is request with its legal deadline.
func requestDue(t *testing.T, s *Store, typ string, deadline time.Time, instances ...string) (string, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	d := fanout.Decision{EventID: id, RequestID: id, Tenant: "consumer", SubjectKey: "subject-" + id, Kind: "request", RequestType: typ,
		OccurredAt: at, RecordedAt: at, PolicyVersion: "2025-04-09", Reason: "user_request", Jurisdiction: "gdpr", DeadlineAt: &deadline}
	var ds []fanout.Delivery
	for _, in := range instances {
		ds = append(ds, fanout.Delivery{EventID: id, RequestID: id, Instance: in, Action: "delete_user", Tenant: d.Tenant,
			SubjectKey: d.SubjectKey, OccurredAt: at, PolicyVersion: d.PolicyVersion, Deadline: deadline})
	}
	if err := s.Plan(ctx, []fanout.Decision{d}, ds); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, in := range instances {
		claimed, err := s.Claim(ctx, in, 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range claimed {
			if c.EventID == id {
				ids[in] = c.ID
			}
		}
	}
	return id, ids
}

// announced returns the completions written for request id.
func announced(t *testing.T, pool *pgxpool.Pool, id string) []fanout.Completion {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT value FROM fanout.outbox WHERE topic = 'requests' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []fanout.Completion
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		var c fanout.Completion
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if c.Request.RequestID == id {
			out = append(out, c)
		}
	}
	return out
}

func done(outcome string) fanout.Result {
	return fanout.Result{State: fanout.Done, Outcome: outcome, HTTPStatus: 200, CountAttempt: true}
}

func TestARequestWithoutDeliveriesCompletesWhenPlanned(t *testing.T) {
	s, pool := announcing(t)
	id, _ := request(t, s, "access")
	got := announced(t, pool, id)
	if len(got) != 1 || got[0].Status() != schemas.StatusCompleted || got[0].Planned != 0 {
		t.Fatalf("completions %+v, want one completed with nothing planned", got)
	}
	r := got[0].Request
	if r.Reason != "user_request" || r.Jurisdiction != "gdpr" || r.RequestType != "access" || r.DeadlineAt == nil || r.SubjectKey != "subject-"+id {
		t.Errorf("the completion lost the request's header: %+v", r)
	}
	// A redelivered in_progress plans the same again: nothing new, no second completion.
	d := fanout.Decision{EventID: id, RequestID: id, Tenant: "consumer", SubjectKey: r.SubjectKey, Kind: "request", RequestType: "access",
		OccurredAt: r.OccurredAt, RecordedAt: r.RecordedAt, PolicyVersion: r.PolicyVersion}
	if err := s.Plan(context.Background(), []fanout.Decision{d}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(announced(t, pool, id)); n != 1 {
		t.Errorf("%d completions after a redelivery, want 1", n)
	}
}

func TestARequestCompletesWithItsLastDeliveryAndNamesWhatFailed(t *testing.T) {
	ctx := context.Background()
	s, pool := announcing(t)
	id, ids := request(t, s, "erasure", "amplitude", "hubspot", "salesforce", "posthog")
	results := map[string]fanout.Result{
		"hubspot":    done("delivered"),
		"amplitude":  {State: fanout.Polling, Outcome: "accepted", NextAttemptAt: time.Now().Add(time.Hour), CountAttempt: true},
		"salesforce": {State: fanout.Done, Outcome: "skipped", CountAttempt: true},
		"posthog":    {State: fanout.Dead, Outcome: "dead_lettered", HTTPStatus: 400, LastError: "permanent (HTTP 400): bad", CountAttempt: true},
	}
	for in, r := range results {
		if err := s.Record(ctx, ids[in], r); err != nil {
			t.Fatal(err)
		}
	}
	if got := announced(t, pool, id); len(got) != 0 {
		t.Fatalf("completed while amplitude's job is still polled: %+v", got)
	}
	if err := s.Record(ctx, ids["amplitude"], done("completed")); err != nil {
		t.Fatal(err)
	}
	got := announced(t, pool, id)
	if len(got) != 1 {
		t.Fatalf("%d completions, want 1", len(got))
	}
	// Salesforce knows the person by no identifier the request carries: done.
	want := []fanout.Unfinished{{Instance: "posthog", Action: "delete_user", Outcome: "dead_lettered", HTTPStatus: 400}}
	if diff := cmp.Diff(want, got[0].Unfinished); diff != "" || got[0].Status() != schemas.StatusPartiallyCompleted || got[0].Planned != 4 {
		t.Errorf("status %s of %d planned, unfinished: %s", got[0].Status(), got[0].Planned, diff)
	}
}

// keys gives a store's test a subject's data key row and tells whether it is destroyed.
func keys(t *testing.T, pool *pgxpool.Pool, subjects ...string) (destroyed func(string) bool) {
	t.Helper()
	ctx := context.Background()
	for _, subject := range subjects {
		if _, err := pool.Exec(ctx, `INSERT INTO keystore.subject_keys (subject_key, tenant, master_key_id, wrapped)
			VALUES ($1, 'consumer', 'k1', '\x00')`, subject); err != nil {
			t.Fatal(err)
		}
	}
	return func(subjectKey string) bool {
		var gone bool
		if err := pool.QueryRow(ctx, `SELECT destroyed_at IS NOT NULL FROM keystore.subject_keys WHERE subject_key = $1`, subjectKey).Scan(&gone); err != nil {
			t.Fatal(err)
		}
		return gone
	}
}

// Attack: a vendor that never carries an erasure out kept the subject's key — and every
// sealed copy of their identifiers readable — for as long as no one replayed its dead
// letter. Consentry's own part is done at the partial completion: the key goes with it.
// A replay after that cannot open the identifiers; it ends unverifiable (as the lane
// records it) and the erasure stays partially completed, announced once.
func TestAPartiallyCompletedErasureDestroysTheKey(t *testing.T) {
	ctx := context.Background()
	s, pool := announcing(t)
	id, ids := request(t, s, "erasure", "hubspot", "posthog")
	subject := "subject-" + id
	destroyed := keys(t, pool, subject, "bystander-"+subject)
	for in, r := range map[string]fanout.Result{"hubspot": done("delivered"),
		"posthog": {State: fanout.Dead, Outcome: "dead_lettered", HTTPStatus: 503, LastError: "gave up", CountAttempt: true}} {
		if err := s.Record(ctx, ids[in], r); err != nil {
			t.Fatal(err)
		}
	}
	got := announced(t, pool, id)
	if len(got) != 1 || got[0].Status() != schemas.StatusPartiallyCompleted || !fanout.Shreds(got[0]) {
		t.Fatalf("after a dead letter: %+v, want one partially completed announcement that shreds", got)
	}
	if !destroyed(subject) || destroyed("bystander-"+subject) {
		t.Fatalf("key destroyed %v, bystander's %v: want only the erased subject's", destroyed(subject), destroyed("bystander-"+subject))
	}
	if err := s.Replay(ctx, ids["posthog"], time.Now().Add(time.Hour), func(d fanout.Delivery, at time.Time) (fanout.Message, error) {
		return fanout.Message{Topic: "vendor.receipts.v1", Key: []byte(d.SubjectKey), Value: []byte("replayed")}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, ids["posthog"], fanout.Result{State: fanout.Done, Outcome: "unverifiable", CountAttempt: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(announced(t, pool, id)); n != 1 {
		t.Errorf("%d announcements after a replay that could not open the identifiers, want 1", n)
	}
	var status string
	if err := pool.QueryRow(ctx, `SELECT completion FROM fanout.decisions WHERE event_id = $1`, id).Scan(&status); err != nil || status != schemas.StatusPartiallyCompleted {
		t.Errorf("decision completion %q (%v), want partially_completed", status, err)
	}
}

// Attack: an erasure every vendor of which had nothing to act on (skipped) ended
// partially completed with the key kept, though nothing was left to do anywhere.
func TestASkippedOnlyErasureCompletesAndDestroysTheKey(t *testing.T) {
	ctx := context.Background()
	s, pool := announcing(t)
	id, ids := request(t, s, "erasure", "salesforce", "sendgrid")
	subject := "subject-" + id
	destroyed := keys(t, pool, subject)
	for _, in := range []string{"salesforce", "sendgrid"} {
		if err := s.Record(ctx, ids[in], fanout.Result{State: fanout.Done, Outcome: "skipped", CountAttempt: true}); err != nil {
			t.Fatal(err)
		}
	}
	got := announced(t, pool, id)
	if len(got) != 1 || got[0].Status() != schemas.StatusCompleted || len(got[0].Unfinished) != 0 {
		t.Fatalf("announced %+v, want one completed with nothing unfinished", got)
	}
	if !destroyed(subject) {
		t.Error("the key of a completed erasure is not destroyed")
	}
}

// Attack: a vendor that keeps failing (retried, never dead-lettered) or a manual task
// no one closes held an erasure open, and the subject's key live, past the legal
// deadline. The sweep closes it: what was open is dead-lettered and named, the request
// announced partially completed, the key destroyed. A request not yet due, and a
// restriction past its deadline, are left alone.
func TestAnErasurePastItsDeadlineIsClosedAndShredded(t *testing.T) {
	ctx := context.Background()
	s, pool := announcing(t)
	now := time.Now()
	id, ids := requestDue(t, s, "erasure", now.Add(-time.Minute), "hubspot", "posthog", "zoominfo")
	notDue, notDueIDs := requestDue(t, s, "erasure", now.Add(time.Hour), "posthog")
	restriction, _ := requestDue(t, s, "restriction", now.Add(-time.Minute), "hubspot")
	subject := "subject-" + id
	destroyed := keys(t, pool, subject, "subject-"+notDue, "subject-"+restriction)
	task, err := s.CreateTask(ctx, fanout.Task{DeliveryKey: "k-" + id, Instance: "zoominfo", Action: "delete_user", Tenant: "consumer",
		SubjectKey: subject, EventID: id, RequestID: id, Owner: "sales-ops", Instructions: "x", DueAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for in, r := range map[string]fanout.Result{
		"hubspot":  done("delivered"),
		"posthog":  {State: fanout.Pending, NextAttemptAt: now.Add(time.Hour), LastError: "transient (HTTP 503)", CountAttempt: true},
		"zoominfo": {State: fanout.Polling, Outcome: "accepted", Reference: fmt.Sprintf("task:%d", task), NextAttemptAt: now.Add(time.Hour), CountAttempt: true},
	} {
		if err := s.Record(ctx, ids[in], r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Record(ctx, notDueIDs["posthog"], fanout.Result{State: fanout.Pending, NextAttemptAt: now.Add(time.Hour), CountAttempt: true}); err != nil {
		t.Fatal(err)
	}
	if got := announced(t, pool, id); len(got) != 0 || destroyed(subject) {
		t.Fatalf("closed before the sweep: %+v", got)
	}

	if _, err := s.CloseOverdue(ctx, time.Now(), 100); err != nil {
		t.Fatal(err)
	}
	got := announced(t, pool, id)
	if len(got) != 1 || got[0].Status() != schemas.StatusPartiallyCompleted || !got[0].AtDeadline || !fanout.Shreds(got[0]) {
		t.Fatalf("after the sweep: %+v, want one partially completed announcement, at the deadline", got)
	}
	want := []fanout.Unfinished{{Instance: "posthog", Action: "delete_user", Outcome: "dead_lettered"},
		{Instance: "zoominfo", Action: "delete_user", Outcome: "dead_lettered"}}
	if diff := cmp.Diff(want, got[0].Unfinished); diff != "" {
		t.Errorf("unfinished: %s", diff)
	}
	if !destroyed(subject) {
		t.Error("the key of an erasure past its deadline is not destroyed")
	}
	var state, lastError string
	if err := pool.QueryRow(ctx, `SELECT state, last_error FROM fanout.deliveries WHERE id = $1`, ids["posthog"]).Scan(&state, &lastError); err != nil ||
		state != fanout.Dead || lastError != DeadlineError {
		t.Errorf("posthog's delivery: %s, %q (%v); want dead, naming the deadline", state, lastError, err)
	}
	for _, other := range []string{notDue, restriction} {
		if got := announced(t, pool, other); len(got) != 0 || destroyed("subject-"+other) {
			t.Errorf("request %s closed or shredded by the sweep: %+v", other, got)
		}
	}
	// A second sweep finds nothing; closing the task later announces nothing more.
	if _, err := s.CloseOverdue(ctx, time.Now(), 100); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CompleteTask(ctx, task, "ops", ""); err != nil {
		t.Fatal(err)
	}
	if n := len(announced(t, pool, id)); n != 1 {
		t.Errorf("%d announcements, want 1", n)
	}
}

// An erasure announced partially completed before partial completions shredded (its
// key still live) is shredded by the next sweep, without a second announcement.
func TestTheSweepShredsAPartialErasureThatKeptItsKey(t *testing.T) {
	ctx := context.Background()
	s, pool := announcing(t)
	id, ids := request(t, s, "erasure", "posthog")
	subject := "subject-" + id
	destroyed := keys(t, pool, subject)
	if err := s.Record(ctx, ids["posthog"], fanout.Result{State: fanout.Dead, Outcome: "dead_lettered", CountAttempt: true}); err != nil {
		t.Fatal(err)
	}
	// As the code before left it.
	if _, err := pool.Exec(ctx, `UPDATE fanout.decisions SET shredded_at = NULL WHERE event_id = $1;`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE keystore.subject_keys SET wrapped = '\x00', destroyed_at = NULL WHERE subject_key = $1`, subject); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseOverdue(ctx, time.Now(), 100); err != nil {
		t.Fatal(err)
	}
	if !destroyed(subject) {
		t.Error("the partial erasure's key is still live after the sweep")
	}
	if n := len(announced(t, pool, id)); n != 1 {
		t.Errorf("%d announcements, want 1", n)
	}
}

// Two lanes recording the last two results of one request at the same moment, each in
// its own transaction: exactly one completion, never none, never two.
func TestConcurrentLastResultsCompleteARequestOnce(t *testing.T) {
	ctx := context.Background()
	s, pool := announcing(t)
	instances := []string{"a", "b", "c", "d"}
	for round := range 25 {
		id, ids := request(t, s, "erasure", instances...)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, in := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := s.Record(ctx, ids[in], done("delivered")); err != nil {
					t.Errorf("round %d, %s: %v", round, in, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if got := announced(t, pool, id); len(got) != 1 || got[0].Status() != schemas.StatusCompleted {
			t.Fatalf("round %d: %d completions, want exactly one completed: %+v", round, len(got), got)
		}
	}
}

// A request waits for its manual tasks: the task's delivery is polled until a person
// completes the task, and only then does the request complete.
func TestARequestWaitsForItsManualTask(t *testing.T) {
	ctx := context.Background()
	s, pool := announcing(t)
	id, ids := request(t, s, "erasure", "hubspot", "zoominfo")
	task, err := s.CreateTask(ctx, fanout.Task{DeliveryKey: "k-" + id, Instance: "zoominfo", Action: "delete_user", Tenant: "consumer",
		SubjectKey: "subject-" + id, EventID: id, RequestID: id, Owner: "sales-ops", Instructions: "x", DueAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, ids["zoominfo"], fanout.Result{State: fanout.Polling, Outcome: "accepted", Reference: fmt.Sprintf("task:%d", task), CountAttempt: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, ids["hubspot"], done("delivered")); err != nil {
		t.Fatal(err)
	}
	if got := announced(t, pool, id); len(got) != 0 {
		t.Fatalf("completed with the task open: %+v", got)
	}
	if _, _, err := s.CompleteTask(ctx, task, "ops", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, ids["zoominfo"], done("completed")); err != nil {
		t.Fatal(err)
	}
	if got := announced(t, pool, id); len(got) != 1 || got[0].Status() != schemas.StatusCompleted {
		t.Errorf("after the task: %+v, want one completed", got)
	}
}

// A completion that cannot be announced keeps its result unrecorded (to be retried), and
// the recorder still records the rest of the batch.
func TestAnUnannounceableCompletionHoldsBackOnlyItsResult(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := Open(ctx, pool, func(c fanout.Completion) (kafka.Message, error) {
		if c.Request.RequestType == "poison" {
			return kafka.Message{}, errors.New("cannot encode")
		}
		return kafka.Message{Topic: "requests", Key: []byte("k"), Value: []byte("v")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, bad := request(t, s, "poison", "hubspot")
	_, good := request(t, s, "erasure", "hubspot")
	r := NewRecorder(s, 64)
	send := func(id int64) chan error {
		ch := make(chan error, 1)
		r.in <- pendingResult{recs: []Recorded{{ID: id, Result: done("delivered")}}, done: ch}
		return ch
	}
	badDone, goodDone := send(bad["hubspot"]), send(good["hubspot"])
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { defer close(stopped); r.Run(runCtx) }()
	if err := <-badDone; !errors.Is(err, ErrUnannounced) {
		t.Errorf("the unannounceable result: %v, want ErrUnannounced", err)
	}
	if err := <-goodDone; err != nil {
		t.Errorf("the other result: %v", err)
	}
	stop()
	<-stopped
	var states []string
	if err := pool.QueryRow(ctx, `SELECT array_agg(state ORDER BY id) FROM fanout.deliveries`).Scan(&states); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{fanout.Pending, fanout.Done}, states); diff != "" {
		t.Errorf("delivery states: %s", diff)
	}
}
