package postgres

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

func openStore(t *testing.T) (*Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

func newID(t *testing.T) string {
	t.Helper()
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func requestRow(t *testing.T, tenant, requestID, status string, recorded, due time.Time) Row {
	t.Helper()
	r, err := Prepare(audit.Record{EventID: newID(t), EventType: audit.TypePrivacyRequest, Tenant: tenant, SubjectKey: "k-" + tenant,
		RequestID: requestID, OccurredAt: recorded, RecordedAt: recorded, Topic: "privacy.requests.v1",
		Details: map[string]any{"request_id": requestID, "type": "erasure", "status": status, "deadline_at": due.UTC()}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ids(rs []audit.RequestSummary) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.RequestID)
	}
	return out
}

// The derived table follows the log: the latest event decides status and deadline, a
// redelivered batch changes nothing, and the listing filters and pages on it.
func TestRequestsTableFollowsTheLogAndIsListed(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	day := 24 * time.Hour

	overdue, atRisk, onTrack, done, other := newID(t), newID(t), newID(t), newID(t), newID(t)
	extended := requestRow(t, "consumer", atRisk, "in_progress", now.Add(-9*day), now.Add(day))
	first := []Row{
		requestRow(t, "consumer", overdue, "received", now.Add(-40*day), now.Add(-day)),
		requestRow(t, "consumer", atRisk, "received", now.Add(-10*day), now.Add(-day)),
		record(t, 7), // a consent in the same batch: not a request
		extended,
		requestRow(t, "consumer", onTrack, "received", now.Add(-day), now.Add(30*day)),
		requestRow(t, "consumer", done, "received", now.Add(-40*day), now.Add(-10*day)),
	}
	if _, err := s.Insert(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := []Row{
		requestRow(t, "consumer", done, "completed", now.Add(-11*day), now.Add(-10*day)),
		requestRow(t, "acme", other, "received", now.Add(-40*day), now.Add(-day)),
	}
	if _, err := s.Insert(ctx, second); err != nil {
		t.Fatal(err)
	}
	// A redelivery of an older event, through the staging path, must not move anything back.
	if _, err := s.Insert(ctx, []Row{first[1], requestRow(t, "consumer", onTrack, "verifying", now.Add(-day/2), now.Add(30*day))}); err != nil {
		t.Fatal(err)
	}

	list := func(filter string, tenants []string) []audit.RequestSummary {
		t.Helper()
		got, _, err := s.ListRequests(ctx, ListQuery{Filter: filter, Tenants: tenants, Now: now, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := list(audit.FilterOverdue, nil); !slices.Equal(ids(got), []string{overdue, other}) &&
		!slices.Equal(ids(got), []string{other, overdue}) {
		t.Errorf("overdue: %v, want %s and %s", ids(got), overdue, other)
	}
	if got := list(audit.FilterOverdue, []string{"consumer"}); !slices.Equal(ids(got), []string{overdue}) {
		t.Errorf("overdue of consumer: %v, want [%s]", ids(got), overdue)
	}
	got := list(audit.FilterAtRisk, nil)
	if !slices.Equal(ids(got), []string{atRisk}) {
		t.Fatalf("at risk: %v, want [%s] (its extension moved the deadline out of overdue)", ids(got), atRisk)
	}
	if r := got[0]; r.Status != "in_progress" || !r.ReceivedAt.Equal(now.Add(-10*day)) || r.DeadlineStatus != "at_risk" ||
		!r.DeadlineAt.Equal(now.Add(day)) {
		t.Errorf("at-risk summary %+v", r)
	}
	if got := list("verifying", nil); !slices.Equal(ids(got), []string{onTrack}) || got[0].DeadlineStatus != "on_track" {
		t.Errorf("verifying: %+v", got)
	}
	if got := list("completed", nil); len(got) != 1 || got[0].DeadlineStatus != audit.DeadlineMet || got[0].ClosedAt == nil {
		t.Errorf("completed: %+v", got)
	}
	if got := list(audit.FilterOverdue, []string{}); len(got) != 0 {
		t.Errorf("no tenant visible, got %v", ids(got))
	}

	tenants, err := s.Tenants(ctx)
	if err != nil || !slices.Equal(tenants, []string{"acme", "consumer"}) {
		t.Errorf("tenants %v, %v", tenants, err)
	}
	open, err := s.OpenRequests(ctx)
	if err != nil || len(open) != 4 {
		t.Errorf("open requests %d (%v), want 4", len(open), err)
	}
}

func TestRequestListingPagesInDeadlineOrder(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	now := time.Now().UTC()
	var rows []Row
	var want []string
	for i := range 5 {
		id := newID(t)
		want = append(want, id)
		rows = append(rows, requestRow(t, "consumer", id, "received", now.Add(-time.Hour), now.Add(time.Duration(i+1)*time.Hour)))
	}
	slices.Reverse(rows) // logged in the opposite order of their deadlines
	if _, err := s.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var seen []string
	var after *Cursor
	for range 4 {
		page, next, err := s.ListRequests(ctx, ListQuery{Filter: "received", Now: now, Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ids(page)...)
		if next == nil {
			break
		}
		c, err := ParseCursor(next.String())
		if err != nil {
			t.Fatal(err)
		}
		after = &c
	}
	if !slices.Equal(seen, want) {
		t.Errorf("pages gave %v, want %v", seen, want)
	}
	if _, err := ParseCursor("bm90IGEgY3Vyc29y"); err == nil {
		t.Error("a made-up cursor parsed")
	}
}

// A log written before the requests table existed is carried into it by the migration.
func TestMigrationDerivesTheRequestsAlreadyInTheLog(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	initial, err := migrations.ReadFile("migrations/0001_events.sql")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(ctx, pool, "audit-sink", fstest.MapFS{"0001_events.sql": {Data: initial}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond) // PostgreSQL rounds to microseconds
	id := newID(t)
	// As the code of that time wrote them: the log only.
	copyUnchained(t, pool, requestRow(t, "consumer", id, "received", now.Add(-time.Hour), now.Add(time.Hour)),
		requestRow(t, "consumer", id, "in_progress", now, now.Add(2*time.Hour)))
	s, err := Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.ListRequests(ctx, ListQuery{Filter: "in_progress", Now: now, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RequestID != id || !got[0].DeadlineAt.Equal(now.Add(2*time.Hour)) ||
		!got[0].ReceivedAt.Equal(now.Add(-time.Hour)) {
		t.Errorf("derived %+v", got)
	}
}

// The table keeps BuildRequest's rules, batch by batch and within one batch: an extension
// landing after the completion neither reopens the request nor is taken back by the
// completion's older deadline; a partially completed request can still be completed.
func TestRequestsTableKeepsClosedRequestsClosed(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	due, later := now.Add(24*time.Hour), now.Add(90*24*time.Hour)
	extension := func(id string, at time.Time) Row {
		r, err := Prepare(audit.Record{EventID: newID(t), EventType: audit.TypePrivacyRequest, Tenant: "consumer", SubjectKey: "k-consumer",
			RequestID: id, OccurredAt: at, RecordedAt: at, Topic: "privacy.requests.v1",
			Details: map[string]any{"request_id": id, "type": "erasure", "status": "in_progress", "deadline_at": later,
				"detail": "deadline_extended: many systems"}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	apart, together, upgraded := newID(t), newID(t), newID(t)
	batches := [][]Row{
		{requestRow(t, "consumer", upgraded, "received", now.Add(-time.Hour), due), requestRow(t, "consumer", upgraded, "partially_completed", now, due)},
		{requestRow(t, "consumer", upgraded, "completed", now.Add(time.Minute), due)},
		{requestRow(t, "consumer", apart, "received", now.Add(-time.Hour), due), requestRow(t, "consumer", apart, "in_progress", now.Add(-time.Hour), due)},
		{requestRow(t, "consumer", apart, "completed", now, due)},
		{extension(apart, now)},
		{requestRow(t, "consumer", together, "received", now.Add(-time.Hour), due), requestRow(t, "consumer", together, "completed", now, due),
			extension(together, now)},
	}
	for _, b := range batches {
		if _, err := s.Insert(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := s.ListRequests(ctx, ListQuery{Filter: "completed", Now: now, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sortedIDs(got), sortedIDs2(apart, together, upgraded)) {
		t.Fatalf("completed: %v, want all three", ids(got))
	}
	for _, r := range got {
		if r.RequestID == upgraded {
			continue
		}
		if r.DeadlineAt == nil || !r.DeadlineAt.Equal(later) {
			t.Errorf("%s: deadline %v, want the extension's %v", r.RequestID, r.DeadlineAt, later)
		}
	}
}

func sortedIDs(rs []audit.RequestSummary) []string { out := ids(rs); slices.Sort(out); return out }

func sortedIDs2(a ...string) []string { slices.Sort(a); return a }
