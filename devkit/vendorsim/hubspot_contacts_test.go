package vendorsim_test

import (
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestHubSpotContactRead(t *testing.T) {
	e := start(t, vendorsim.Options{})
	e.sim.AddHubSpotContact("501", "ann@example.com")
	auth := []string{"Authorization", "Bearer pat-na1-token"}
	const ann = "/hubspot/crm/v3/objects/contacts/501"
	email := func(want string) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			b := decode[struct {
				ID         string            `json:"id"`
				Properties map[string]string `json:"properties"`
				Archived   *bool             `json:"archived"`
			}](t, r.body)
			if b.ID != "501" || b.Properties["email"] != want || b.Properties["hs_object_id"] != "501" || b.Archived == nil {
				t.Errorf("body = %s, want contact 501 with email %q", r.body, want)
			}
		}
	}
	run(t, e, []step{
		{name: "no auth", method: "GET", path: ann + "?properties=email", want: 401},
		{name: "email asked", method: "GET", path: ann + "?properties=email", header: auth, want: 200, check: email("ann@example.com")},
		{name: "email not asked", method: "GET", path: ann, header: auth, want: 200, check: email("")},
		{name: "unknown", method: "GET", path: "/hubspot/crm/v3/objects/contacts/999?properties=email", header: auth, want: 404},
		{name: "gdpr delete by email forgets it", method: "POST", path: "/hubspot/crm/v3/objects/contacts/gdpr-delete",
			body: `{"objectId":"ANN@example.com","idProperty":"email"}`, header: auth, want: 204},
		{name: "gone after the delete", method: "GET", path: ann + "?properties=email", header: auth, want: 404},
	})
	e.sim.AddHubSpotContact("502", "bob@example.com")
	e.sim.Reset()
	if r := e.do(t, "GET", "/hubspot/crm/v3/objects/contacts/502", "", auth...); r.status != 404 {
		t.Errorf("after Reset: %d, want 404", r.status)
	}
}

// The signer's output matches an independent computation (Python's hmac over HubSpot's
// documented source string) for the example of HubSpot's validation page.
func TestHubSpotWebhookHeaders(t *testing.T) {
	h := vendorsim.HubSpotWebhookHeaders("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "POST", "https://www.example.com/webhook_uri",
		[]byte(`{"example_field":"example_value"}`), time.UnixMilli(1_700_000_000_000))
	if h["X-HubSpot-Signature-v3"] != "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=" || h["X-HubSpot-Request-Timestamp"] != "1700000000000" {
		t.Errorf("headers %v", h)
	}
}
