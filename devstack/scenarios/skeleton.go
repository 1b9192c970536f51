package scenarios

import (
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
)

// ConsentAndErasure is the walking skeleton's path: a denial of analytics, advertising
// and marketing_email and an erasure go in over HTTP; the vendors are called, the
// suppression record is on the topic, and both events are in the audit history with
// their receipts.
func ConsentAndErasure(t *testing.T, env Env) {
	consentID := PostConsent(t, env, "u_8d41", "ada@example.com")
	var req struct {
		RequestID string `json:"request_id"`
	}
	if status := testkit.Call(t, "POST", env.URL("consent-ingest")+"/v1/privacy-requests", env.APIKey(),
		`{"tenant":"consumer","subject_id":"u_8d41","identifiers":{"email":"ada@example.com","vendor_ids":{"amplitude":"amp-u_8d41"}},"type":"erasure","reason":"user_request","verified":true}`,
		&req); status != http.StatusAccepted {
		t.Fatalf("POST /v1/privacy-requests: %d", status)
	}

	Eventually(t, "the vendor calls", 60*time.Second, func() bool {
		c := SimCalls(t, env)
		return HasCall(c, "hubspot", "POST", "/unsubscribe-all") && HasCall(c, "hubspot", "POST", "/gdpr-delete") &&
			HasCall(c, "amplitude", "POST", "/api/2/deletions/users") && HasCall(c, "posthog", "POST", "/persons/bulk_delete/") &&
			HasCall(c, "fullstory", "DELETE", "/v2/users")
	})

	hash := pseudonym.EmailSHA256("ada@example.com")
	var found *schemas.SuppressionChanged
	Eventually(t, "the suppression record", 60*time.Second, func() bool {
		for _, d := range testkit.ReadAll(t, env.Brokers(), env.RegistryURL(), env.Topics().Suppressions) {
			if e, ok := d.Event.(*schemas.SuppressionChanged); ok && string(d.Msg.Key) == hash && e.SourceEventID == consentID {
				found = e
			}
		}
		return found != nil
	})
	if found.EmailSHA256 != hash || found.Scope != "all" || found.Reason != "opt_out" || found.Tenant != "consumer" {
		t.Errorf("suppression record %+v", found)
	}

	Eventually(t, "both events and their receipts in the audit history", 60*time.Second, func() bool {
		answered := map[string]map[string]bool{consentID: {}, req.RequestID: {}}
		var haveConsent, haveRequest bool
		for _, e := range History(t, env, "consumer", "u_8d41") {
			switch e.Type {
			case "ConsentChanged":
				haveConsent = haveConsent || e.EventID == consentID
			case "PrivacyRequest":
				haveRequest = haveRequest || e.EventID == req.RequestID
			case "VendorReceipt":
				if src, _ := e.Details["source_event_id"].(string); answered[src] != nil {
					answered[src][e.Details["vendor"].(string)] = true
				}
			}
		}
		return haveConsent && haveRequest && AllOf(answered[consentID], APIVendors...) && AllOf(answered[req.RequestID], APIVendors...)
	})
}
