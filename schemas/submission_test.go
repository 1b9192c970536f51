package schemas_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/consentry/consentry/schemas"
)

// A one-entry map must come back as that map: goavro's union wrappers are one-entry maps
// too, and reading a map field through the union path would lose its key.
func TestConsentSubmissionRoundTrips(t *testing.T) {
	s := schemas.MustGet(schemas.ConsentSubmissionName)
	for name, sub := range map[string]*schemas.ConsentSubmission{
		"full": {SubmissionID: "s-1", Tenant: "acme", SubjectID: "u_1",
			Identifiers: &schemas.SubmittedIdentifiers{Email: "ada@example.com", AnonymousID: "a_1", VendorIDs: map[string]string{"amplitude": "u_1"}},
			OccurredAt:  time.Date(2026, 11, 28, 21, 4, 5, 123456000, time.UTC), Source: "cmp", PolicyVersion: "2025-04-09",
			Purposes: map[string]string{"analytics": "denied"}, TCF: "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", GPP: "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"},
		"bare": {SubmissionID: "s-2", Tenant: "consumer", SubjectID: "u_2", OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Source: "api", PolicyVersion: "p", Purposes: map[string]string{"analytics": "granted", "advertising": "denied"}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := schemas.EncodeSubmission(s, sub)
			if err != nil {
				t.Fatal(err)
			}
			got, err := schemas.DecodeSubmission(s, b)
			if err != nil {
				t.Fatal(err)
			}
			if sub.Identifiers != nil && sub.Identifiers.VendorIDs == nil {
				sub.Identifiers.VendorIDs = map[string]string{}
			}
			if diff := cmp.Diff(sub, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestDecodeSubmissionRefusesAnEventSchema(t *testing.T) {
	if _, err := schemas.DecodeSubmission(schemas.MustGet(schemas.ConsentChangedName), []byte{0}); err == nil {
		t.Error("decoded a submission under the ConsentChanged schema")
	}
}
