package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/platform/apierror"
	cmpsig "github.com/consentry/consentry/services/consent-ingest/internal/cmp"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
)

var now = time.Date(2026, 11, 28, 21, 10, 0, 0, time.UTC)

func validConsent() ingest.ConsentInput {
	return ingest.ConsentInput{
		Tenant: "consumer", SubjectID: "u_8d41",
		Identifiers: &ingest.IdentifiersInput{Email: " ada@example.com ", AnonymousID: "a_77f", VendorIDs: map[string]string{"amplitude": "u_8d41"}},
		OccurredAt:  "2026-11-28T21:04:05Z", Source: "cmp", PolicyVersion: "2025-04-09",
		Purposes: map[string]string{"analytics": "denied", "advertising": "denied", "marketing_email": "denied"},
	}
}

func TestValidateConsentAcceptsTheDesignExample(t *testing.T) {
	n, errs := ingest.ValidateConsent(validConsent(), "", now, cmpsig.Tables{})
	if len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if n.Email != "ada@example.com" {
		t.Errorf("email not trimmed: %q", n.Email)
	}
	if !n.OccurredAt.Equal(time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC)) {
		t.Errorf("occurred_at %v", n.OccurredAt)
	}
	if diff := cmp.Diff(map[string]string{"analytics": "denied", "advertising": "denied", "marketing_email": "denied"}, n.Purposes); diff != "" {
		t.Error(diff)
	}
}

func TestValidateConsentNamesEachFieldAtFault(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*ingest.ConsentInput)
		want   []string // field names, in order
	}{
		{"missing tenant", func(c *ingest.ConsentInput) { c.Tenant = "" }, []string{"tenant"}},
		{"bad tenant", func(c *ingest.ConsentInput) { c.Tenant = "Acme Corp" }, []string{"tenant"}},
		{"missing subject", func(c *ingest.ConsentInput) { c.SubjectID = "" }, []string{"subject_id"}},
		{"control char in subject", func(c *ingest.ConsentInput) { c.SubjectID = "u\x00" }, []string{"subject_id"}},
		{"long subject", func(c *ingest.ConsentInput) { c.SubjectID = strings.Repeat("x", 257) }, []string{"subject_id"}},
		{"bad email", func(c *ingest.ConsentInput) { c.Identifiers.Email = "ada-at-example.com" }, []string{"identifiers.email"}},
		{"two @", func(c *ingest.ConsentInput) { c.Identifiers.Email = "a@b@example.com" }, []string{"identifiers.email"}},
		{"bad vendor key", func(c *ingest.ConsentInput) { c.Identifiers.VendorIDs = map[string]string{"Amplitude!": "x"} }, []string{"identifiers.vendor_ids"}},
		{"empty vendor id", func(c *ingest.ConsentInput) { c.Identifiers.VendorIDs = map[string]string{"posthog": ""} }, []string{"identifiers.vendor_ids.posthog"}},
		{"missing occurred_at", func(c *ingest.ConsentInput) { c.OccurredAt = "" }, []string{"occurred_at"}},
		{"no zone", func(c *ingest.ConsentInput) { c.OccurredAt = "2026-11-28T21:04:05" }, []string{"occurred_at"}},
		{"future", func(c *ingest.ConsentInput) { c.OccurredAt = "2026-11-29T21:04:05Z" }, []string{"occurred_at"}},
		// Found by FuzzConsent: the year was read in the producer's zone, so this
		// instant, 1999-12-31T23:00:00Z, passed.
		{"before 2000 in UTC", func(c *ingest.ConsentInput) { c.OccurredAt = "2000-01-01T00:00:00+01:00" }, []string{"occurred_at"}},
		{"unknown source", func(c *ingest.ConsentInput) { c.Source = "carrier-pigeon" }, []string{"source"}},
		{"missing policy", func(c *ingest.ConsentInput) { c.PolicyVersion = "" }, []string{"policy_version"}},
		{"no purposes", func(c *ingest.ConsentInput) { c.Purposes = nil }, []string{"purposes"}},
		{"unknown purpose", func(c *ingest.ConsentInput) { c.Purposes = map[string]string{"telepathy": "denied"} }, []string{"purposes.telepathy"}},
		{"bad decision", func(c *ingest.ConsentInput) { c.Purposes = map[string]string{"analytics": "maybe"} }, []string{"purposes.analytics"}},
		{"essential denied", func(c *ingest.ConsentInput) { c.Purposes = map[string]string{"essential": "denied"} }, []string{"purposes.essential"}},
		{"several at once", func(c *ingest.ConsentInput) {
			c.Tenant = ""
			c.Source = ""
			c.Purposes = map[string]string{"analytics": "x"}
		},
			[]string{"tenant", "source", "purposes.analytics"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := validConsent()
			c.mutate(&in)
			_, errs := ingest.ValidateConsent(in, "", now, cmpsig.Tables{})
			if diff := cmp.Diff(c.want, names(errs)); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s", diff)
			}
			for _, e := range errs {
				if in.Identifiers != nil && in.Identifiers.Email != "" && strings.Contains(e.Message, in.Identifiers.Email) {
					t.Errorf("message %q repeats the email", e.Message)
				}
			}
		})
	}
}

func TestValidateConsentPrefixesBatchPositions(t *testing.T) {
	in := validConsent()
	in.Tenant = ""
	_, errs := ingest.ValidateConsent(in, "consents[3]", now, cmpsig.Tables{})
	if diff := cmp.Diff([]string{"consents[3].tenant"}, names(errs)); diff != "" {
		t.Error(diff)
	}
}

func TestValidateRequestDefaults(t *testing.T) {
	n, errs := ingest.ValidateRequest(ingest.RequestInput{Tenant: "consumer", SubjectID: "u_1", Type: "erasure", Reason: "user_request"}, now, "2025-04-09", "gdpr")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if n.Source != "api" || n.PolicyVersion != "2025-04-09" || !n.OccurredAt.Equal(now) {
		t.Errorf("defaults not applied: %+v", n)
	}
	_, errs = ingest.ValidateRequest(ingest.RequestInput{Tenant: "consumer", SubjectID: "u_1", Type: "delete-everything", Reason: ""}, now, "2025-04-09", "gdpr")
	if diff := cmp.Diff([]string{"type", "reason"}, names(errs)); diff != "" {
		t.Error(diff)
	}
}

func TestValidateRequestScopeAndJurisdiction(t *testing.T) {
	base := ingest.RequestInput{Tenant: "consumer", SubjectID: "u_1", Reason: "user_request"}
	for _, c := range []struct {
		typ, scope, jurisdiction string
		wantScope, wantLaw       string
		wantBad                  []string
	}{
		{"objection", "", "", "direct_marketing", "gdpr", nil},
		{"objection", "legitimate_interest", "ccpa", "legitimate_interest", "ccpa", nil},
		{"restriction", "", "", "apply", "gdpr", nil},
		{"restriction", "lift", "", "lift", "gdpr", nil},
		{"restriction", "forever", "", "forever", "gdpr", []string{"scope"}},
		{"erasure", "apply", "", "", "gdpr", []string{"scope"}},
		{"erasure", "", "lgpd", "", "lgpd", []string{"jurisdiction"}},
	} {
		in := base
		in.Type, in.Scope, in.Jurisdiction = c.typ, c.scope, c.jurisdiction
		n, errs := ingest.ValidateRequest(in, now, "2025-04-09", "gdpr")
		if diff := cmp.Diff(c.wantBad, names(errs)); diff != "" {
			t.Errorf("%s/%s/%s: %s", c.typ, c.scope, c.jurisdiction, diff)
		}
		if len(errs) == 0 && (n.Scope != c.wantScope || n.Jurisdiction != c.wantLaw) {
			t.Errorf("%s/%s/%s: scope %q jurisdiction %q", c.typ, c.scope, c.jurisdiction, n.Scope, n.Jurisdiction)
		}
	}
}

func names(errs []apierror.FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}
