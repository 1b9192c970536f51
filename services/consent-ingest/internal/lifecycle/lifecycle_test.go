package lifecycle_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
)

func TestAfterSubmission(t *testing.T) {
	for _, c := range []struct {
		tenant string
		s      lifecycle.Submitter
		want   string
	}{
		{"consumer", lifecycle.Submitter{}, schemas.StatusVerifying},
		{"consumer", lifecycle.Submitter{AssertsVerified: true}, schemas.StatusInProgress},
		// The consumer tenant has no Customer: a "controller" key vouches for nothing there.
		{"consumer", lifecycle.Submitter{Controller: true}, schemas.StatusVerifying},
		{"acme", lifecycle.Submitter{}, schemas.StatusVerifying},
		{"acme", lifecycle.Submitter{AssertsVerified: true}, schemas.StatusForwardedToController},
		{"acme", lifecycle.Submitter{Controller: true}, schemas.StatusInProgress},
	} {
		if got := lifecycle.AfterSubmission(c.tenant, c.s); got != c.want {
			t.Errorf("%s %+v: %s, want %s", c.tenant, c.s, got, c.want)
		}
	}
}

var received = time.Date(2026, 1, 31, 15, 0, 0, 0, time.UTC)

func request(typ, scope, reason, jurisdiction string) lifecycle.Request {
	due, _ := lifecycle.Deadline(jurisdiction, typ, received, time.UTC)
	return lifecycle.Request{ID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f7", Tenant: "consumer", SubjectKey: "sk", Type: typ,
		Scope: scope, Reason: reason, Jurisdiction: jurisdiction, PolicyVersion: "2025-04-09", Status: schemas.StatusInProgress,
		OccurredAt: received, ReceivedAt: received, DeadlineAt: due}
}

func TestEventIDsAreStablePerMove(t *testing.T) {
	r := request("erasure", "", "user_request", "gdpr")
	at := received.Add(time.Minute)
	first, err := r.Event(schemas.StatusReceived, "", at)
	if err != nil {
		t.Fatal(err)
	}
	if first.EventID != r.ID || !first.OccurredAt.Equal(received) || first.Source != "api" {
		t.Errorf("received event: %+v", first.Header)
	}
	a, _ := r.Event(schemas.StatusInProgress, "", at)
	b, _ := r.Event(schemas.StatusInProgress, "", at.Add(time.Hour))
	if a.EventID != b.EventID || a.EventID == r.ID {
		t.Errorf("in_progress ids %s, %s: want one id, not the request's", a.EventID, b.EventID)
	}
	ext, detail, err := r.Extend("complex request", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := ext.Event(ext.Status, detail, at)
	if e.EventID == a.EventID || e.Status != schemas.StatusInProgress || !e.DeadlineAt.After(*a.DeadlineAt) {
		t.Errorf("extension event %s status %s deadline %v", e.EventID, e.Status, e.DeadlineAt)
	}
	if err := schemas.Validate(e); err != nil {
		t.Error(err)
	}
}

func TestExtend(t *testing.T) {
	r := request("erasure", "", "user_request", "gdpr")
	ext, detail, err := r.Extend("many systems", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	// One month from 31 January ends with February; two more months: end of April.
	if want := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC); !ext.DeadlineAt.Equal(want) || detail != "deadline_extended: many systems" {
		t.Errorf("extended to %v (%q), want %v", ext.DeadlineAt, detail, want)
	}
	if _, _, err := ext.Extend("again", time.UTC); !errors.Is(err, lifecycle.ErrNotExtendable) {
		t.Errorf("second extension: %v", err)
	}
	optOut := request("objection", "direct_marketing", "user_request", "ccpa")
	if _, _, err := optOut.Extend("x", time.UTC); !errors.Is(err, lifecycle.ErrNotExtendable) {
		t.Errorf("CCPA opt-out (15 business days, no extension) extended: %v", err)
	}
	done := request("erasure", "", "user_request", "gdpr")
	done.Status = schemas.StatusCompleted
	if _, _, err := done.Extend("x", time.UTC); !errors.Is(err, lifecycle.ErrNotExtendable) {
		t.Errorf("a completed request extended: %v", err)
	}
}

func TestFollowUps(t *testing.T) {
	li := []string{"analytics", "personalization"}
	for _, c := range []struct {
		name         string
		r            lifecycle.Request
		wantDenied   []string
		wantEndsAcct bool
	}{
		{"erasure", request("erasure", "", "user_request", "gdpr"), nil, false},
		{"direct marketing", request("objection", "direct_marketing", "user_request", "gdpr"), []string{"marketing_email", "sales_outreach"}, false},
		{"legitimate interest", request("objection", "legitimate_interest", "user_request", "gdpr"), li, false},
		{"child", request("erasure", "", "child_under_16", "gdpr"), nil, true},
	} {
		events, err := c.r.FollowUps(received, li)
		if err != nil {
			t.Fatal(err)
		}
		var denied []string
		ends := false
		for _, e := range events {
			if err := schemas.Validate(e); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			switch e := e.(type) {
			case *schemas.ConsentChanged:
				for _, p := range c.wantDenied {
					if e.Purposes[p] != "denied" {
						t.Errorf("%s: %s not denied: %v", c.name, p, e.Purposes)
					}
				}
				denied = append(denied, c.wantDenied...)
				if len(e.Purposes) != len(c.wantDenied) {
					t.Errorf("%s: denies %v", c.name, e.Purposes)
				}
			case *schemas.PrivacyRequest:
				ends = e.Type == "account_termination" && e.RequestID != c.r.ID && strings.Contains(e.Detail, c.r.ID)
			}
		}
		if len(denied) != len(c.wantDenied) || ends != c.wantEndsAcct {
			t.Errorf("%s: denied %v, account termination %v", c.name, denied, ends)
		}
	}
}

func TestLinks(t *testing.T) {
	k1 := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	old, err := lifecycle.ParseLinkKeys(k1)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := lifecycle.ParseLinkKeys(k2 + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	id := "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f7"
	now := received
	tok, err := old.Sign(id, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Verify(tok, now); err != nil || got != id {
		t.Errorf("a link signed before rotation: %q, %v", got, err)
	}
	if _, err := rotated.Verify(tok, now.Add(time.Hour)); !errors.Is(err, lifecycle.ErrLinkExpired) {
		t.Errorf("expired link: %v", err)
	}
	parts := strings.Split(tok, ".")
	for name, bad := range map[string]string{
		"unknown key":     "k9." + parts[1] + "." + parts[2],
		"altered payload": parts[0] + "." + flip(parts[1]) + "." + parts[2],
		"no signature":    parts[0] + "." + parts[1] + ".",
		"garbage":         "%%%",
		"empty":           "",
	} {
		if _, err := rotated.Verify(bad, now); !errors.Is(err, lifecycle.ErrBadLink) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, spec := range []string{"", "k1", "k1:c2hvcnQ=", k1 + "," + k1, "a.b:" + k1[3:]} {
		if _, err := lifecycle.ParseLinkKeys(spec); err == nil {
			t.Errorf("accepted %q", spec)
		}
	}
}

func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
