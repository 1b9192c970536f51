package fanout_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

func TestDeadline(t *testing.T) {
	cases := []struct {
		action vendor.Action
		want   time.Duration
	}{
		{vendor.OptOut, 48 * time.Hour},
		{vendor.SuppressEmail, 48 * time.Hour},
		{vendor.DeleteUser, 25 * 24 * time.Hour},
		{vendor.Restrict, fanout.DefaultDeadline},
		{vendor.UpdateConsent, fanout.DefaultDeadline},
		{vendor.Rectify, fanout.DefaultDeadline},
		{vendor.LiftRestriction, fanout.DefaultDeadline},
	}
	for _, c := range cases {
		if got := fanout.Deadline(c.action); got != c.want {
			t.Errorf("Deadline(%s) = %s, want %s", c.action, got, c.want)
		}
	}
}

func TestDecisionOf(t *testing.T) {
	at := time.Date(2025, 4, 9, 10, 0, 0, 0, time.UTC)
	h := schemas.Header{EventID: "event", Tenant: "consumer", SubjectKey: "sk", OccurredAt: at, RecordedAt: at, PolicyVersion: "p1"}
	request := func(status string) *schemas.PrivacyRequest {
		return &schemas.PrivacyRequest{Header: h, RequestID: "request", Type: schemas.RequestErasure, Status: status,
			Reason: "user_request", Jurisdiction: "gdpr"}
	}
	cases := []struct {
		name string
		e    schemas.Event
		want *fanout.Decision
	}{
		{"consent", &schemas.ConsentChanged{Header: h, Purposes: map[string]string{schemas.PurposeAnalytics: schemas.Denied}},
			&fanout.Decision{EventID: "event", Tenant: "consumer", SubjectKey: "sk", Kind: fanout.KindConsent, OccurredAt: at,
				RecordedAt: at, PolicyVersion: "p1", Purposes: map[string]string{schemas.PurposeAnalytics: schemas.Denied}}},
		{"request in progress, keyed by the request", request(schemas.StatusInProgress),
			&fanout.Decision{EventID: "request", RequestID: "request", Tenant: "consumer", SubjectKey: "sk", Kind: fanout.KindRequest,
				RequestType: schemas.RequestErasure, OccurredAt: at, RecordedAt: at, PolicyVersion: "p1", Reason: "user_request",
				Jurisdiction: "gdpr"}},
		{"request received", request(schemas.StatusReceived), nil},
		{"request verifying", request(schemas.StatusVerifying), nil},
		{"request completed", request(schemas.StatusCompleted), nil},
		{"receipt", &schemas.VendorReceipt{Header: h}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := fanout.DecisionOf(c.e)
			if ok != (c.want != nil) {
				t.Fatalf("kept = %v, want %v", ok, c.want != nil)
			}
			if c.want != nil {
				if diff := cmp.Diff(*c.want, got); diff != "" {
					t.Error(diff)
				}
			}
		})
	}
}

func TestDeliveriesCountTheDeadlineFromTheLaterOfNowAndRecording(t *testing.T) {
	recorded := time.Date(2025, 4, 9, 10, 0, 0, 0, time.UTC)
	d := fanout.Decision{EventID: "e", RequestID: "r", Tenant: "consumer", SubjectKey: "sk", RecordedAt: recorded}
	plan := []routing.Delivery{{Instance: "hubspot", Action: vendor.DeleteUser}, {Instance: "sendgrid", Action: vendor.SuppressEmail}}
	for _, now := range []time.Time{recorded.Add(time.Hour), recorded.Add(-time.Hour)} {
		start := recorded
		if now.After(recorded) {
			start = now
		}
		got := fanout.Deliveries(d, plan, now)
		want := []fanout.Delivery{
			{EventID: "e", RequestID: "r", Instance: "hubspot", Action: "delete_user", Tenant: "consumer", SubjectKey: "sk",
				RecordedAt: recorded, Deadline: start.Add(25 * 24 * time.Hour)},
			{EventID: "e", RequestID: "r", Instance: "sendgrid", Action: "suppress_email", Tenant: "consumer", SubjectKey: "sk",
				RecordedAt: recorded, Deadline: start.Add(48 * time.Hour)},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("now %s: %s", now, diff)
		}
	}
}

// TestPure keeps the domain free of infrastructure: no database, broker or HTTP client
// is imported here (the adapters import this package, not the other way round).
func TestPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"github.com/jackc/", "database/sql", "net/", "github.com/segmentio/kafka-go", "os",
		"github.com/consentry/consentry/platform/", "/internal/postgres", "/internal/dispatch", "/internal/adapters"}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad) || strings.HasSuffix(path, bad) {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}
