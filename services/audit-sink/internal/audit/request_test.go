package audit_test

import (
	"slices"
	"testing"
	"time"

	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// entry is a log entry as the store returns it: details decoded from JSON (times as
// RFC 3339 strings, numbers as float64).
func entry(seq int64, typ string, at time.Time, details map[string]any) audit.Entry {
	return audit.Entry{Seq: seq, EventID: "e" + string(rune('a'+seq)), Type: typ, RecordedAt: &at, AuditedAt: at.Add(time.Second), Details: details}
}

func status(seq int64, at time.Time, s string, due time.Time, detail string) audit.Entry {
	d := map[string]any{"request_id": "r1", "type": "erasure", "reason": "user_request", "status": s,
		"deadline_at": due.Format(time.RFC3339Nano), "jurisdiction": "gdpr"}
	if detail != "" {
		d["detail"] = detail
	}
	return entry(seq, audit.TypePrivacyRequest, at, d)
}

func receipt(seq int64, at time.Time, vendor, action, outcome string, attempts, httpStatus float64) audit.Entry {
	return entry(seq, audit.TypeVendorReceipt, at, map[string]any{"request_id": "r1", "vendor": vendor, "action": action,
		"outcome": outcome, "attempts": attempts, "http_status": httpStatus})
}

func TestBuildRequestFollowsTheLogAndGroupsReceiptsPerVendorAction(t *testing.T) {
	due, later := t0.AddDate(0, 1, 0), t0.AddDate(0, 3, 0)
	entries := []audit.Entry{
		status(1, t0, "received", due, ""),
		status(2, t0.Add(time.Minute), "in_progress", due, ""),
		receipt(3, t0.Add(2*time.Minute), "hubspot", "delete_user", "retrying", 1, 503),
		receipt(4, t0.Add(3*time.Minute), "amplitude", "delete_user", "job_started", 1, 200),
		// An extension repeats the status: a move of the deadline, not a step.
		status(5, t0.Add(time.Hour), "in_progress", later, "deadline_extended: vendor backlog"),
		receipt(6, t0.Add(2*time.Hour), "hubspot", "delete_user", "delivered", 3, 200),
		status(7, t0.Add(3*time.Hour), "completed", later, ""),
	}
	v := audit.BuildRequest("r1", "consumer", "k", entries, t0.Add(24*time.Hour))

	if v.Status != "completed" || v.Type != "erasure" || v.Jurisdiction != "gdpr" || !v.ReceivedAt.Equal(t0) {
		t.Errorf("view %+v", v)
	}
	if v.DeadlineAt == nil || !v.DeadlineAt.Equal(later) {
		t.Errorf("deadline %v, want the extension's %v", v.DeadlineAt, later)
	}
	if v.DeadlineStatus != audit.DeadlineMet {
		t.Errorf("deadline status %q, want met", v.DeadlineStatus)
	}
	var steps []string
	for _, tr := range v.Transitions {
		steps = append(steps, tr.Status)
	}
	if want := []string{"received", "in_progress", "completed"}; !slices.Equal(steps, want) {
		t.Errorf("transitions %v, want %v", steps, want)
	}
	if len(v.Extensions) != 1 || v.Extensions[0].Reason != "vendor backlog" || !v.Extensions[0].DeadlineAt.Equal(later) ||
		v.Extensions[0].EventID != entries[4].EventID {
		t.Errorf("extensions %+v", v.Extensions)
	}
	if len(v.Vendors) != 2 {
		t.Fatalf("vendors %+v, want hubspot and amplitude", v.Vendors)
	}
	h := v.Vendors[0]
	if h.Vendor != "hubspot" || h.Status != "delivered" || len(h.Receipts) != 2 || h.Receipts[1].Attempts != 3 ||
		h.Receipts[0].HTTPStatus != 503 || h.Receipts[1].EventID != entries[5].EventID {
		t.Errorf("hubspot %+v", h)
	}
	if a := v.Vendors[1]; a.Vendor != "amplitude" || a.Status != "job_started" {
		t.Errorf("amplitude %+v", a)
	}
}

// The store returns entries by recorded_at; the status is the latest in log order (seq).
func TestBuildRequestTakesTheStatusOfTheLatestEventInTheLog(t *testing.T) {
	due := t0.AddDate(0, 1, 0)
	entries := []audit.Entry{
		status(2, t0, "verifying", due, ""), // recorded earlier by a skewed clock, logged later
		status(1, t0.Add(time.Minute), "received", due, ""),
	}
	v := audit.BuildRequest("r1", "consumer", "k", entries, t0)
	if v.Status != "verifying" || len(v.Transitions) != 2 || v.Transitions[0].Status != "received" {
		t.Errorf("status %q, transitions %+v", v.Status, v.Transitions)
	}
	if len(v.Events) != 2 || v.Events[0].Seq != 2 {
		t.Errorf("events must stay as the store gave them: %+v", v.Events)
	}
}

func TestDeadlineStatus(t *testing.T) {
	received, due := t0, t0.Add(10*24*time.Hour)
	closedBefore, closedAfter := due.Add(-time.Hour), due.Add(time.Hour)
	cases := []struct {
		name   string
		now    time.Time
		due    *time.Time
		status string
		closed *time.Time
		want   string
	}{
		{"open, plenty of time", t0.Add(24 * time.Hour), &due, "in_progress", nil, "on_track"},
		{"open, less than a fifth left", due.Add(-24 * time.Hour), &due, "verifying", nil, "at_risk"},
		{"open, past the deadline", due.Add(time.Second), &due, "received", nil, "overdue"},
		{"closed in time, judged long after", due.AddDate(1, 0, 0), &due, "completed", &closedBefore, "met"},
		{"closed late", due.AddDate(1, 0, 0), &due, "partially_completed", &closedAfter, "missed"},
		{"rejected in time", due, &due, "rejected", &closedBefore, "met"},
		{"no deadline", due, nil, "received", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := audit.DeadlineStatus(c.now, received, c.due, c.status, c.closed); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestBuildRequestJudgesAnOpenRequestAtNow(t *testing.T) {
	due := t0.Add(10 * 24 * time.Hour)
	entries := []audit.Entry{status(1, t0, "received", due, ""), status(2, t0.Add(time.Hour), "in_progress", due, "")}
	for now, want := range map[time.Time]string{t0.Add(time.Hour): "on_track", due.Add(-time.Hour): "at_risk", due.Add(time.Hour): "overdue"} {
		if got := audit.BuildRequest("r1", "consumer", "k", entries, now).DeadlineStatus; got != want {
			t.Errorf("at %v: %q, want %q", now, got, want)
		}
	}
	// Without a received event the first event is the receipt.
	v := audit.BuildRequest("r1", "consumer", "k", entries[1:], due)
	if !v.ReceivedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("received_at %v, want the first event's", v.ReceivedAt)
	}
}

func TestExportRefusal(t *testing.T) {
	cases := []struct {
		typ, status string
		allowed     bool
	}{
		{"access", "received", false},
		{"access", "verifying", false},
		{"portability", "forwarded_to_controller", false},
		{"access", "rejected", false},
		{"access", "in_progress", true},
		{"portability", "completed", true},
		{"access", "partially_completed", true},
		{"erasure", "in_progress", false},
		{"objection", "completed", false},
	}
	for _, c := range cases {
		got := audit.ExportRefusal(audit.RequestView{Type: c.typ, Status: c.status})
		if (got == "") != c.allowed {
			t.Errorf("%s %s: refusal %q, want allowed=%v", c.typ, c.status, got, c.allowed)
		}
	}
}

func TestBuildExportSortsTheSubjectsHistory(t *testing.T) {
	due := t0.AddDate(0, 1, 0)
	consent := entry(1, audit.TypeConsentChanged, t0, map[string]any{"purposes": map[string]any{"analytics": "denied", "advertising": "granted"}})
	consent.Source, consent.PolicyVersion, consent.OccurredAt = "cmp", "2025-04-09", &t0
	history := []audit.Entry{
		consent,
		entry(2, audit.TypeVendorReceipt, t0, map[string]any{"source_event_id": consent.EventID, "vendor": "posthog", "action": "delete_user", "outcome": "delivered"}),
		entry(3, audit.TypeSuppressionChanged, t0, map[string]any{"email_sha256": "abc", "scope": "all"}),
		status(4, t0, "received", due, ""),
		receipt(5, t0, "hubspot", "delete_user", "delivered", 1, 200),
		status(6, t0, "completed", due, ""),
	}
	x := audit.BuildExport("r1", "consumer", "k", history, []audit.Choice{{Purpose: "analytics", Decision: "denied", EventID: consent.EventID}}, t0)
	if x.FormatVersion != audit.ExportFormatVersion || !x.GeneratedAt.Equal(t0) || x.RequestID != "r1" {
		t.Errorf("header %+v", x)
	}
	if len(x.ConsentHistory) != 1 || len(x.Suppressions) != 1 || len(x.VendorReceipts) != 2 {
		t.Errorf("consent %d, suppressions %d, receipts %d; want 1, 1, 2", len(x.ConsentHistory), len(x.Suppressions), len(x.VendorReceipts))
	}
	if len(x.PrivacyRequests) != 1 || x.PrivacyRequests[0].Status != "completed" || len(x.PrivacyRequests[0].Vendors) != 1 ||
		x.PrivacyRequests[0].Events != nil {
		t.Errorf("privacy requests %+v", x.PrivacyRequests)
	}
	if x.Consent["analytics"].Decision != "denied" {
		t.Errorf("consent %+v", x.Consent)
	}

	rows := audit.ConsentCSV(history)
	want := [][]string{
		audit.ConsentCSVHeader,
		{"2026-11-01T09:00:00Z", "2026-11-01T09:00:00Z", "cmp", "2025-04-09", "advertising", "granted", consent.EventID},
		{"2026-11-01T09:00:00Z", "2026-11-01T09:00:00Z", "cmp", "2025-04-09", "analytics", "denied", consent.EventID},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("csv %q, want %q", rows, want)
	}
}

func TestIdentifiersAddKeepsEachValueOnce(t *testing.T) {
	var ids audit.Identifiers
	ids.Add("u1", "a@example.com", "", map[string]string{"amplitude": "x"})
	ids.Add("u1", "b@example.com", "anon", map[string]string{"amplitude": "x", "posthog": "y"})
	if !slices.Equal(ids.Emails, []string{"a@example.com", "b@example.com"}) || len(ids.SubjectIDs) != 1 ||
		len(ids.AnonymousIDs) != 1 || len(ids.VendorIDs["amplitude"]) != 1 || ids.VendorIDs["posthog"][0] != "y" {
		t.Errorf("%+v", ids)
	}
}

func TestTallyOpenCountsPerTenantWithZeros(t *testing.T) {
	now := t0.Add(9 * 24 * time.Hour)
	due := t0.Add(10 * 24 * time.Hour)
	past := t0.Add(24 * time.Hour)
	far := now.AddDate(0, 1, 0)
	open := []audit.RequestSummary{
		{Tenant: "acme", Status: "in_progress", ReceivedAt: t0, DeadlineAt: &due},
		{Tenant: "acme", Status: "verifying", ReceivedAt: t0, DeadlineAt: &past},
		{Tenant: "acme", Status: "received", ReceivedAt: now, DeadlineAt: &far},
		{Tenant: "acme", Status: "received", ReceivedAt: now},
		{Tenant: "acme", Status: "completed", ReceivedAt: t0, DeadlineAt: &past}, // closed: never counted
	}
	got := audit.TallyOpen([]string{"acme", "consumer"}, open, now)
	a := got["acme"]
	if a.AtRisk != 1 || a.Overdue != 1 || a.Open["received"] != 2 || a.Open["in_progress"] != 1 || a.Open["completed"] != 0 {
		t.Errorf("acme %+v", a)
	}
	if c, ok := got["consumer"]; !ok || c.AtRisk != 0 || c.Overdue != 0 {
		t.Errorf("consumer %+v (present %v), want zeros", c, ok)
	}
}

// consent-ingest extends while vendor-fanout completes: the extension may land after the
// completion, and the completion carries the deadline fan-out planned with. Neither
// reopens the request nor takes the extension back.
func TestLateExtensionNeitherReopensNorShortens(t *testing.T) {
	due, later := t0.AddDate(0, 1, 0), t0.AddDate(0, 3, 0)
	entries := []audit.Entry{
		status(1, t0, "received", due, ""),
		status(2, t0.Add(time.Minute), "in_progress", due, ""),
		status(3, t0.Add(time.Hour), "completed", due, ""),
		status(4, t0.Add(time.Hour), "in_progress", later, "deadline_extended: vendor backlog"),
	}
	v := audit.BuildRequest("r1", "consumer", "k", entries, t0.Add(24*time.Hour))
	if v.Status != "completed" || v.ClosedAt == nil || !v.ClosedAt.Equal(t0.Add(time.Hour)) || len(v.Extensions) != 1 {
		t.Errorf("status %s closed %v extensions %d", v.Status, v.ClosedAt, len(v.Extensions))
	}
	entries[2], entries[3] = status(3, t0.Add(time.Hour), "in_progress", later, "deadline_extended: vendor backlog"),
		status(4, t0.Add(2*time.Hour), "completed", due, "")
	v = audit.BuildRequest("r1", "consumer", "k", entries, t0.Add(24*time.Hour))
	if v.Status != "completed" || v.DeadlineAt == nil || !v.DeadlineAt.Equal(later) {
		t.Errorf("status %s deadline %v, want completed by the extended %v", v.Status, v.DeadlineAt, later)
	}
	// A status after a closed one (a redelivered older move) does not reopen it either.
	entries = append(entries, status(5, t0.Add(3*time.Hour), "in_progress", later, ""))
	if v = audit.BuildRequest("r1", "consumer", "k", entries, t0.Add(24*time.Hour)); v.Status != "completed" {
		t.Errorf("reopened to %s", v.Status)
	}
}

// A partially completed request whose missing vendor later carried it out (a replayed
// dead letter) becomes completed; closed when it was first answered.
func TestPartiallyCompletedThenCompleted(t *testing.T) {
	due := t0.AddDate(0, 1, 0)
	v := audit.BuildRequest("r1", "consumer", "k", []audit.Entry{
		status(1, t0, "received", due, ""),
		status(2, t0.Add(time.Minute), "in_progress", due, ""),
		status(3, t0.Add(time.Hour), "partially_completed", due, "1 of 4 vendor actions not carried out"),
		status(4, t0.Add(2*time.Hour), "completed", due, "all 4 vendor actions carried out"),
	}, t0.Add(24*time.Hour))
	if v.Status != "completed" || len(v.Transitions) != 4 || v.ClosedAt == nil || !v.ClosedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("status %s, %d transitions, closed %v", v.Status, len(v.Transitions), v.ClosedAt)
	}
}

// A disclosure of a manual task's identifiers is among the vendor's receipts, with whom it
// was shown to, but it is not the vendor's answer.
func TestDisclosureIsOnTheRecordButNotAVendorStatus(t *testing.T) {
	due := t0.AddDate(0, 1, 0)
	disclosed := receipt(3, t0.Add(2*time.Minute), "zoominfo", "delete_user", audit.OutcomeIdentifiersDisclosed, 0, 0)
	disclosed.Details["detail"] = "manual task 4: identifiers shown to dana via console"
	v := audit.BuildRequest("r1", "consumer", "k", []audit.Entry{
		status(1, t0, "in_progress", due, ""),
		receipt(2, t0.Add(time.Minute), "zoominfo", "delete_user", "accepted", 1, 0),
		disclosed,
	}, t0.Add(time.Hour))
	if len(v.Vendors) != 1 || v.Vendors[0].Status != "accepted" || len(v.Vendors[0].Receipts) != 2 ||
		v.Vendors[0].Receipts[1].Detail != "manual task 4: identifiers shown to dana via console" {
		t.Errorf("vendors %+v", v.Vendors)
	}
}
