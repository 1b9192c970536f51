package ingest_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/schemas"
	consentstrings "github.com/consentry/consentry/services/consent-ingest/internal/cmp"
	"github.com/consentry/consentry/services/consent-ingest/internal/ingest"
)

func validSubmission() *schemas.ConsentSubmission {
	return &schemas.ConsentSubmission{SubmissionID: "s-1", Tenant: "consumer", SubjectID: "u_8d41",
		Identifiers: &schemas.SubmittedIdentifiers{Email: " ada@example.com ", VendorIDs: map[string]string{"amplitude": "u_8d41"}},
		OccurredAt:  time.Date(2026, 11, 28, 21, 4, 5, 0, time.UTC), Source: "cmp", PolicyVersion: "2025-04-09",
		Purposes: map[string]string{"analytics": "denied"}}
}

// A submission normalises to what the HTTP body with the same values normalises to.
func TestSubmissionValidatesAsTheHTTPBody(t *testing.T) {
	got, errs := ingest.ValidateSubmission(validSubmission(), []string{"consumer"}, now, consentstrings.Tables{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	in := validConsent()
	in.Identifiers.AnonymousID = ""
	in.Purposes = map[string]string{"analytics": "denied"}
	want, errs := ingest.ValidateConsent(in, "", now, consentstrings.Tables{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestSubmissionErrorsNameTheField(t *testing.T) {
	cases := map[string]struct {
		change  func(*schemas.ConsentSubmission)
		tenants []string
		field   string
	}{
		"tenant the topic may not speak for": {func(*schemas.ConsentSubmission) {}, []string{"acme"}, "tenant"},
		"no submission id":                   {func(s *schemas.ConsentSubmission) { s.SubmissionID = "" }, []string{"consumer"}, "submission_id"},
		"unknown purpose":                    {func(s *schemas.ConsentSubmission) { s.Purposes = map[string]string{"lunch": "granted"} }, []string{"consumer"}, "purposes.lunch"},
		"bad email":                          {func(s *schemas.ConsentSubmission) { s.Identifiers.Email = "not an address" }, []string{"consumer"}, "identifiers.email"},
		"no occurred_at":                     {func(s *schemas.ConsentSubmission) { s.OccurredAt = time.Time{} }, []string{"consumer"}, "occurred_at"},
		"occurred_at in the future":          {func(s *schemas.ConsentSubmission) { s.OccurredAt = now.Add(time.Hour) }, []string{"consumer"}, "occurred_at"},
		"malformed TC string":                {func(s *schemas.ConsentSubmission) { s.TCF = "CQSbk4AQSbk4ANwAAAEN" }, []string{"consumer"}, "tcf"},
		"malformed GPP string":               {func(s *schemas.ConsentSubmission) { s.GPP = "not-a-gpp-string" }, []string{"consumer"}, "gpp"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := validSubmission()
			c.change(s)
			_, errs := ingest.ValidateSubmission(s, c.tenants, now, consentstrings.Tables{})
			if len(errs) != 1 || errs[0].Field != c.field {
				t.Fatalf("errors %+v, want one naming %s", errs, c.field)
			}
		})
	}
}

// CMP strings on a Kafka submission map through the tenant's table and stay with the
// consent as proof, exactly as on POST /v1/consents.
func TestSubmissionCarriesCMPStringsAsTheHTTPBody(t *testing.T) {
	s := validSubmission()
	s.Purposes = nil
	s.TCF, s.GPP = tcAllPurposes, gppOptedOut
	got, errs := ingest.ValidateSubmission(s, []string{"consumer"}, now, consentstrings.Tables{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	in := validConsent()
	in.Identifiers.AnonymousID = ""
	in.Purposes = nil
	in.TCF, in.GPP = tcAllPurposes, gppOptedOut
	want, errs := ingest.ValidateConsent(in, "", now, consentstrings.Tables{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if len(got.Purposes) == 0 {
		t.Error("the TC and GPP strings decided no purpose")
	}
}
