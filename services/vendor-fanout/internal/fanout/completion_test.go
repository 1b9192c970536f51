package fanout_test

import (
	"slices"
	"testing"
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

func TestShreds(t *testing.T) {
	dead := []fanout.Unfinished{{Instance: "posthog", Action: "delete_user", Outcome: "dead_lettered", HTTPStatus: 400}}
	cases := []struct {
		name        string
		requestType string
		planned     int
		unfinished  []fanout.Unfinished
		previous    string
		want        bool
	}{
		{"erasure every vendor carried out", schemas.RequestErasure, 3, nil, "", true},
		{"erasure no vendor needed", schemas.RequestErasure, 0, nil, "", true},
		// A partial erasure used to keep the key for a replay that may never come.
		{"erasure a vendor did not carry out shreds all the same", schemas.RequestErasure, 3, dead, "", true},
		{"erasure a vendor did not carry out, announced before", schemas.RequestErasure, 3, dead, schemas.StatusPartiallyCompleted, true},
		{"erasure completed after a replayed dead letter", schemas.RequestErasure, 3, nil, schemas.StatusPartiallyCompleted, true},
		{"access", schemas.RequestAccess, 0, nil, "", false},
		{"restriction", schemas.RequestRestriction, 2, nil, "", false},
		{"objection", schemas.RequestObjection, 2, nil, "", false},
		{"rectification", schemas.RequestRectification, 1, nil, "", false},
		{"account termination", schemas.RequestAccountTermination, 0, nil, "", false},
		{"no request type", "", 0, nil, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := fanout.Completion{Request: fanout.Decision{Kind: fanout.KindRequest, RequestType: c.requestType},
				Planned: c.planned, Unfinished: c.unfinished, Previous: c.previous}
			if got := fanout.Shreds(comp); got != c.want {
				t.Errorf("Shreds = %v, want %v (status %s)", got, c.want, comp.Status())
			}
		})
	}
}

func TestCompletionStatusAndAnnouncement(t *testing.T) {
	dead := []fanout.Unfinished{{Instance: "hubspot", Action: "delete_user", Outcome: "dead_lettered"}}
	cases := []struct {
		name       string
		unfinished []fanout.Unfinished
		previous   string
		status     string
		announces  bool
	}{
		{"all carried out", nil, "", schemas.StatusCompleted, true},
		{"one not carried out", dead, "", schemas.StatusPartiallyCompleted, true},
		{"partial, then complete", nil, schemas.StatusPartiallyCompleted, schemas.StatusCompleted, true},
		{"partial twice is announced once", dead, schemas.StatusPartiallyCompleted, schemas.StatusPartiallyCompleted, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := fanout.Completion{Unfinished: c.unfinished, Previous: c.previous}
			if got := comp.Status(); got != c.status {
				t.Errorf("Status = %s, want %s", got, c.status)
			}
			if got := comp.Announces(); got != c.announces {
				t.Errorf("Announces = %v, want %v", got, c.announces)
			}
		})
	}
}

// Skipped — the vendor knows the person by no identifier the request carries — is the
// routine case of a vendor holding nothing of theirs: done, not unfinished.
func TestCarriedOut(t *testing.T) {
	for _, outcome := range []string{"delivered", "accepted", "completed", "already_done", "skipped"} {
		if !slices.Contains(fanout.CarriedOut(), outcome) {
			t.Errorf("%s is not carried out", outcome)
		}
	}
	for _, outcome := range []string{"dead_lettered", "unverifiable", "pending", "polling", ""} {
		if slices.Contains(fanout.CarriedOut(), outcome) {
			t.Errorf("%s counts as carried out", outcome)
		}
	}
}

func TestClosesAtDeadline(t *testing.T) {
	now := time.Date(2026, 12, 28, 9, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	cases := []struct {
		name        string
		kind        string
		requestType string
		deadline    *time.Time
		want        bool
	}{
		{"erasure past its deadline", fanout.KindRequest, schemas.RequestErasure, &past, true},
		{"erasure before its deadline", fanout.KindRequest, schemas.RequestErasure, &future, false},
		{"erasure at its deadline", fanout.KindRequest, schemas.RequestErasure, &now, false},
		{"erasure without a deadline", fanout.KindRequest, schemas.RequestErasure, nil, false},
		{"restriction past its deadline waits for its vendors", fanout.KindRequest, schemas.RequestRestriction, &past, false},
		{"rectification past its deadline", fanout.KindRequest, schemas.RequestRectification, &past, false},
		{"a consent change", fanout.KindConsent, "", &past, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := fanout.Decision{Kind: c.kind, RequestType: c.requestType, DeadlineAt: c.deadline}
			if got := fanout.ClosesAtDeadline(d, now); got != c.want {
				t.Errorf("ClosesAtDeadline = %v, want %v", got, c.want)
			}
		})
	}
}

func TestClosedErasure(t *testing.T) {
	cases := []struct {
		name                string
		typ, status, source string
		want                bool
	}{
		{"completed erasure", schemas.RequestErasure, schemas.StatusCompleted, schemas.SourceConsentry, true},
		{"partially completed erasure", schemas.RequestErasure, schemas.StatusPartiallyCompleted, schemas.SourceConsentry, true},
		{"erasure in progress", schemas.RequestErasure, "in_progress", schemas.SourceConsentry, false},
		{"completed restriction", schemas.RequestRestriction, schemas.StatusCompleted, schemas.SourceConsentry, false},
		{"a completion someone else wrote", schemas.RequestErasure, schemas.StatusCompleted, "cmp", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &schemas.PrivacyRequest{Header: schemas.Header{SubjectKey: "sk", Source: c.source}, Type: c.typ, Status: c.status}
			if key, ok := fanout.ClosedErasure(e); ok != c.want || (ok && key != "sk") {
				t.Errorf("ClosedErasure = %q, %v; want %v", key, ok, c.want)
			}
		})
	}
	if _, ok := fanout.ClosedErasure(&schemas.ConsentChanged{}); ok {
		t.Error("a consent change closes an erasure")
	}
}
