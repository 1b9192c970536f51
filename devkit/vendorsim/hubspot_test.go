package vendorsim_test

import (
	"testing"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestHubSpot(t *testing.T) {
	e := start(t, vendorsim.Options{})
	auth := []string{"Authorization", "Bearer pat-na1-token"}
	const (
		gdpr   = "/hubspot/crm/v3/objects/contacts/gdpr-delete"
		allAnn = "/hubspot/communication-preferences/v4/statuses/ann@example.com/unsubscribe-all"
		allBob = "/hubspot/communication-preferences/v4/statuses/bob@example.com/unsubscribe-all"
		v3     = "/hubspot/communication-preferences/v3/unsubscribe"
	)
	category := func(want string) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			b := decode[map[string]string](t, r.body)
			if b["status"] != "error" || b["category"] != want || b["message"] == "" || b["correlationId"] == "" {
				t.Errorf("error body = %s, want HubSpot envelope with category %s", r.body, want)
			}
		}
	}
	wideStatus := func(wantReason string) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			b := decode[struct {
				Status  string
				Results []struct {
					SubscriberIDString     string `json:"subscriberIdString"`
					Status                 string
					Channel                string
					SetStatusSuccessReason string `json:"setStatusSuccessReason"`
				}
				Errors      []any
				StartedAt   string `json:"startedAt"`
				CompletedAt string `json:"completedAt"`
			}](t, r.body)
			if b.Status != "COMPLETE" || len(b.Results) != 1 || b.Errors == nil || b.StartedAt == "" || b.CompletedAt == "" {
				t.Fatalf("envelope = %s", r.body)
			}
			res := b.Results[0]
			if res.SubscriberIDString == "" || res.Status != "UNSUBSCRIBED" || res.Channel != "EMAIL" || res.SetStatusSuccessReason != wantReason {
				t.Errorf("result = %+v, want UNSUBSCRIBED with reason %q", res, wantReason)
			}
		}
	}
	run(t, e, []step{
		// GDPR delete.
		{name: "gdpr no auth", method: "POST", path: gdpr, body: `{"objectId":"ann@example.com","idProperty":"email"}`,
			want: 401, check: category("INVALID_AUTHENTICATION")},
		{name: "gdpr wrong scheme", method: "POST", path: gdpr, body: `{"objectId":"1"}`, header: []string{"Authorization", "Basic abc"},
			want: 401},
		{name: "gdpr malformed", method: "POST", path: gdpr, body: `{"objectId":`, header: auth, want: 400, check: category("VALIDATION_ERROR")},
		{name: "gdpr no objectId", method: "POST", path: gdpr, body: `{"idProperty":"email"}`, header: auth, want: 400},
		{name: "gdpr bad email", method: "POST", path: gdpr, body: `{"objectId":"12345","idProperty":"email"}`, header: auth, want: 400},
		{name: "gdpr by email", method: "POST", path: gdpr, body: `{"objectId":"ann@example.com","idProperty":"email"}`, header: auth,
			want: 204, check: emptyBody},
		{name: "gdpr by email again: blocklisted", method: "POST", path: gdpr, body: `{"objectId":"ann@example.com","idProperty":"email"}`,
			header: auth, want: 204},
		{name: "gdpr by id", method: "POST", path: gdpr, body: `{"objectId":"101"}`, header: auth, want: 204},
		{name: "gdpr by id again: gone", method: "POST", path: gdpr, body: `{"objectId":"101"}`, header: auth,
			want: 404, check: category("OBJECT_NOT_FOUND")},

		// v4 unsubscribe-all.
		{name: "status before", method: "GET", path: allAnn + "?channel=EMAIL", header: auth, want: 200, check: func(t *testing.T, r resp) {
			b := decode[map[string]any](t, r.body)
			if res, ok := b["results"].([]any); !ok || len(res) != 0 || b["status"] != "COMPLETE" {
				t.Errorf("body = %s, want COMPLETE with empty results", r.body)
			}
		}},
		{name: "unsubscribe-all no channel", method: "POST", path: allAnn, header: auth, want: 400, check: category("VALIDATION_ERROR")},
		{name: "unsubscribe-all other channel", method: "POST", path: allAnn + "?channel=SMS", header: auth, want: 400},
		{name: "unsubscribe-all no auth", method: "POST", path: allAnn + "?channel=EMAIL", want: 401},
		{name: "unsubscribe-all not an email", method: "POST", path: "/hubspot/communication-preferences/v4/statuses/12345/unsubscribe-all?channel=EMAIL",
			header: auth, want: 400},
		{name: "unsubscribe-all quiet", method: "POST", path: allAnn + "?channel=EMAIL", header: auth, want: 200, check: emptyBody},
		{name: "unsubscribe-all verbose repeat", method: "POST", path: allAnn + "?channel=EMAIL&verbose=true", header: auth,
			want: 200, check: wideStatus("NO_STATUS_CHANGE")},
		{name: "unsubscribe-all verbose first", method: "POST", path: allBob + "?channel=EMAIL&verbose=true", header: auth,
			want: 200, check: wideStatus("UNSUBSCRIBE_FROM_ALL_OCCURRED")},
		{name: "status after", method: "GET", path: allAnn + "?channel=EMAIL", header: auth, want: 200, check: wideStatus("")},

		// v3 per-type unsubscribe.
		{name: "v3 unsubscribe", method: "POST", path: v3, header: auth,
			body: `{"emailAddress":"ann@example.com","subscriptionId":"42","legalBasis":"CONSENT_WITH_NOTICE","legalBasisExplanation":"asked"}`,
			want: 200, check: func(t *testing.T, r resp) {
				b := decode[map[string]any](t, r.body)
				if b["id"] != "42" || b["status"] != "NOT_SUBSCRIBED" || b["legalBasis"] != "CONSENT_WITH_NOTICE" {
					t.Errorf("body = %s, want NOT_SUBSCRIBED status object for 42", r.body)
				}
			}},
		{name: "v3 unsubscribe again", method: "POST", path: v3, header: auth,
			body: `{"emailAddress":"ann@example.com","subscriptionId":"42"}`,
			want: 400, check: func(t *testing.T, r resp) {
				got := decode[map[string]string](t, r.body)["message"]
				if got != "ann@example.com is already unsubscribed from subscription 42" {
					t.Errorf("message = %q", got)
				}
			}},
		{name: "v3 numeric subscription id", method: "POST", path: v3, header: auth,
			body: `{"emailAddress":"ann@example.com","subscriptionId":43}`, want: 200, check: func(t *testing.T, r resp) {
				if id := decode[map[string]any](t, r.body)["id"]; id != "43" {
					t.Errorf("id = %v, want \"43\"", id)
				}
			}},
		{name: "v3 no subscription id", method: "POST", path: v3, header: auth, body: `{"emailAddress":"ann@example.com"}`, want: 400},
		{name: "v3 bad legal basis", method: "POST", path: v3, header: auth,
			body: `{"emailAddress":"cat@example.com","subscriptionId":"42","legalBasis":"BECAUSE"}`, want: 400},
		{name: "v3 no auth", method: "POST", path: v3, body: `{"emailAddress":"cat@example.com","subscriptionId":"42"}`, want: 401},
	})
}
