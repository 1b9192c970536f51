package ingest

import (
	"slices"
	"time"

	"github.com/consentry/consentry/platform/apierror"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/cmp"
)

// MaxSubmissionID bounds a producer's submission id; a UUID is 36 characters.
const MaxSubmissionID = 128

// ConsentFromSubmission is the POST /v1/consents body a Kafka submission stands for, so
// that both paths share one validation.
func ConsentFromSubmission(s *schemas.ConsentSubmission) ConsentInput {
	in := ConsentInput{
		Tenant: s.Tenant, SubjectID: s.SubjectID, Source: s.Source, PolicyVersion: s.PolicyVersion, Purposes: s.Purposes,
		OccurredAt: s.OccurredAt.UTC().Format(time.RFC3339Nano), TCF: s.TCF, GPP: s.GPP,
	}
	if s.OccurredAt.IsZero() {
		in.OccurredAt = ""
	}
	if i := s.Identifiers; i != nil {
		in.Identifiers = &IdentifiersInput{Email: i.Email, AnonymousID: i.AnonymousID, VendorIDs: i.VendorIDs}
	}
	return in
}

// ValidateSubmission checks a Kafka submission as ValidateConsent checks an HTTP one, and
// its submission id, which stands in for the HTTP path's Idempotency-Key. tenants are
// those the record's topic may speak for: a record naming another is refused before
// anything else is looked at. TC and GPP strings map through the tenant's table, as on
// the HTTP path.
func ValidateSubmission(s *schemas.ConsentSubmission, tenants []string, now time.Time, tables cmp.Tables) (Normalized, []apierror.FieldError) {
	if !slices.Contains(tenants, s.Tenant) {
		return Normalized{}, []apierror.FieldError{{Field: "tenant", Message: "is not a tenant this topic may speak for (CONSENTRY_INGEST_TOPICS)"}}
	}
	f := &fields{}
	switch {
	case s.SubmissionID == "":
		f.add("submission_id", "is required: one id per submission, kept when the record is sent again")
	case len(s.SubmissionID) > MaxSubmissionID:
		f.add("submission_id", "is longer than %d bytes", MaxSubmissionID)
	case !printable(s.SubmissionID):
		f.add("submission_id", "must be printable text")
	}
	n, errs := ValidateConsent(ConsentFromSubmission(s), "", now, tables)
	return n, append(f.errs, errs...)
}
