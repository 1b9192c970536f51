package scenarios

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/pseudonym"
	"github.com/consentry/consentry/schemas"
)

// PrivacyRequests sends each type of privacy request over HTTP and checks what the
// vendors saw, how each request moved, and what the person gets back.
func PrivacyRequests(t *testing.T, s Env) {
	key, ops := s.APIKey(), s.OperatorKey()

	t.Run("erasure", func(t *testing.T) {
		_, id := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_era","identifiers":{"email":"era@example.com",
			"vendor_ids":{"amplitude":"amp-u_era","salesforce":"003U000000ERA01"}},"type":"erasure","reason":"user_request","verified":true}`)
		Eventually(t, "every API vendor's deletion", 60*time.Second, func() bool {
			c := SimCalls(t, s)
			return HasCall(c, "hubspot", "POST", "/gdpr-delete") && HasCall(c, "amplitude", "POST", "/api/2/deletions/users") &&
				HasCall(c, "posthog", "POST", "/persons/bulk_delete/") && HasCall(c, "fullstory", "DELETE", "/v2/users")
		})
		// Vendors without an API hold it open until their tasks are done.
		if _, v := ViewRequest(t, s, key, id); v.Status != schemas.StatusInProgress {
			t.Errorf("with manual tasks open: %s", v.Status)
		}
		tasks := CompleteTasks(t, s, id)
		_, v := ViewRequest(t, s, key, id)
		if !slices.Equal(v.Steps(), []string{schemas.StatusReceived, schemas.StatusInProgress, schemas.StatusCompleted}) || v.DeadlineAt == "" {
			t.Errorf("transitions %v, deadline %q", v.Steps(), v.DeadlineAt)
		}
		// Consentry's own copies are shredded with the completion: the subject's key is gone.
		if d := v.Transitions[len(v.Transitions)-1].Detail; !strings.Contains(d, "data key is destroyed") {
			t.Errorf("completion detail %q", d)
		}
		_, access := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_era","type":"access","reason":"user_request","verified":true}`)
		WaitForRequest(t, s, access, schemas.StatusCompleted, 60*time.Second)
		var export struct {
			IdentifiersStatus string `json:"identifiers_status"`
		}
		if code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+access+"/export", ops, nil, &export); code != http.StatusOK ||
			export.IdentifiersStatus != "destroyed" {
			t.Errorf("export after the erasure: %d, identifiers %q, want destroyed", code, export.IdentifiersStatus)
		}
		vendors := map[string]string{}
		for _, p := range v.Vendors {
			vendors[p.Vendor] = p.Status
		}
		for _, name := range append(slices.Clone(APIVendors), tasks[0].Vendor) {
			if vendors[name] == "" {
				t.Errorf("no receipt from %s: %v", name, vendors)
			}
		}
		// The address stays suppressed, by hash, for every marketing tool.
		var sup struct {
			Suppressed bool   `json:"suppressed"`
			Reason     string `json:"reason"`
		}
		Eventually(t, "the erased address suppressed", 60*time.Second, func() bool {
			testkit.Call(t, "GET", s.URL("unsubscribe-handler")+"/v1/suppressions/"+pseudonym.EmailSHA256("era@example.com"), key, nil, &sup)
			return sup.Suppressed
		})
	})

	t.Run("access and portability export", func(t *testing.T) {
		consentID := PostConsent(t, s, "u_acc", "acc@example.com")
		_, id := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_acc","identifiers":{"email":"acc@example.com"},"type":"access","reason":"user_request","verified":true}`)
		// An access request asks nothing of vendors.
		if v := WaitForRequest(t, s, id, schemas.StatusCompleted, 60*time.Second); len(v.Vendors) != 0 {
			t.Errorf("vendors acted on an access request: %+v", v.Vendors)
		}
		var export struct {
			FormatVersion  int `json:"format_version"`
			ConsentHistory []struct {
				EventID string `json:"event_id"`
			} `json:"consent_history"`
			Identifiers struct {
				Emails []string `json:"emails"`
			} `json:"identifiers"`
			PrivacyRequests []struct {
				RequestID string `json:"request_id"`
			} `json:"privacy_requests"`
		}
		Eventually(t, "the export to hold the consent", 60*time.Second, func() bool {
			code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+id+"/export", ops, nil, &export)
			return code == http.StatusOK && len(export.ConsentHistory) > 0
		})
		if export.ConsentHistory[0].EventID != consentID || !slices.Contains(export.Identifiers.Emails, "acc@example.com") ||
			len(export.PrivacyRequests) != 1 || export.PrivacyRequests[0].RequestID != id {
			t.Errorf("export %+v", export)
		}
		csv := Get(t, s.URL("audit-sink")+"/v1/privacy-requests/"+id+"/export?format=csv", ops)
		if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) < 2 || !strings.Contains(lines[0], "purpose") || !strings.Contains(csv, consentID) {
			t.Errorf("CSV export:\n%s", csv)
		}
	})

	t.Run("verification by the person's link", func(t *testing.T) {
		// The link goes only to an address on file for the person: their consent's.
		PostConsent(t, s, "u_link", "link@example.com")
		status, id := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_link","identifiers":{"email":"link@example.com"},"type":"portability","reason":"user_request"}`)
		if status != schemas.StatusVerifying {
			t.Fatalf("status %s, want verifying", status)
		}
		link := VerificationLink(t, s, id)
		// audit-sink answers 404 until it has read the request from Kafka: wait for that,
		// so the 409 below is the refusal of an unverified request, not a lag.
		WaitForRequest(t, s, id, schemas.StatusVerifying, 60*time.Second)
		if code := testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests/"+id+"/export", ops, nil, nil); code != http.StatusConflict {
			t.Errorf("export before verification: %d, want 409", code)
		}
		resp, err := http.PostForm(link, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("confirming: %d", resp.StatusCode)
		}
		v := WaitForRequest(t, s, id, schemas.StatusCompleted, 60*time.Second)
		if !slices.Equal(v.Steps(), []string{schemas.StatusReceived, schemas.StatusVerifying, schemas.StatusInProgress, schemas.StatusCompleted}) {
			t.Errorf("transitions %v", v.Steps())
		}
	})

	t.Run("enterprise request waits for the Customer", func(t *testing.T) {
		status, id := SubmitRequest(t, s, key, `{"tenant":"acme","subject_id":"emp_1","identifiers":{"email":"emp1@acme.example"},"type":"erasure","reason":"user_request","verified":true}`)
		if status != schemas.StatusForwardedToController {
			t.Fatalf("status %s", status)
		}
		Eventually(t, "the forward at the Customer's endpoint", 60*time.Second, func() bool {
			return strings.Contains(SimBodies(t, s, "/webhook/customer"), id)
		})
		WaitForRequest(t, s, id, schemas.StatusForwardedToController, 60*time.Second)
		approve := s.URL("consent-ingest") + "/v1/privacy-requests/" + id + "/approve"
		if code := testkit.Call(t, "POST", approve, key, nil, nil); code != http.StatusForbidden {
			t.Errorf("approval by a key that is not the Customer's: %d", code)
		}
		// Nothing reached a vendor: no call names the person, the request has no receipt.
		if _, v := ViewRequest(t, s, key, id); len(v.Vendors) != 0 || Mentions(t, s, "emp1@acme.example") {
			t.Fatalf("vendors acted before the Customer approved: %+v", v.Vendors)
		}
		if code := testkit.Call(t, "POST", approve, s.CustomerKey(), nil, nil); code != http.StatusOK {
			t.Fatalf("approval by the Customer: %d", code)
		}
		Eventually(t, "the erasure at HubSpot after approval", 60*time.Second, func() bool {
			_, v := ViewRequest(t, s, key, id)
			return slices.ContainsFunc(v.Vendors, func(p VendorProgress) bool { return p.Vendor == "hubspot" && p.Status == "delivered" }) &&
				Mentions(t, s, "emp1@acme.example")
		})
		// The Customer sees its own request, and nobody else's.
		Eventually(t, "the Customer's view of its approved request", 60*time.Second, func() bool {
			code, v := ViewRequest(t, s, s.CustomerKey(), id)
			return code == http.StatusOK && v.Status != schemas.StatusForwardedToController
		})
		_, consumerID := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_other","type":"access","reason":"user_request","verified":true}`)
		if code, _ := ViewRequest(t, s, s.CustomerKey(), consumerID); code != http.StatusNotFound {
			t.Errorf("the Customer's key on another tenant's request: %d, want 404", code)
		}
	})

	t.Run("objection to direct marketing", func(t *testing.T) {
		_, id := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_obj","identifiers":{"email":"obj@example.com"},"type":"objection","reason":"user_request","verified":true}`)
		Eventually(t, "the unsubscribe at HubSpot", 60*time.Second, func() bool {
			return HasCall(SimCalls(t, s), "hubspot", "POST", "obj@example.com/unsubscribe-all")
		})
		WaitForRequest(t, s, id, schemas.StatusCompleted, 60*time.Second)
		var consent struct {
			Purposes map[string]struct {
				Decision string `json:"decision"`
			} `json:"purposes"`
		}
		testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/subjects/consumer/u_obj/consent", ops, nil, &consent)
		if consent.Purposes[schemas.PurposeMarketingEmail].Decision != schemas.Denied || consent.Purposes[schemas.PurposeSalesOutreach].Decision != schemas.Denied {
			t.Errorf("consent after the objection: %+v", consent.Purposes)
		}
	})

	t.Run("restriction, its lift, and rectification", func(t *testing.T) {
		_, restrict := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_res","identifiers":{"email":"res@example.com","vendor_ids":{"salesforce":"003U000000RES01"}},"type":"restriction","reason":"user_request","verified":true}`)
		Eventually(t, "outreach paused at HubSpot", 60*time.Second, func() bool {
			return HasCall(SimCalls(t, s), "hubspot", "POST", "res@example.com/unsubscribe-all")
		})
		CompleteTasks(t, s, restrict)

		_, lift := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_res","identifiers":{"email":"res@example.com"},"type":"restriction","scope":"lift","reason":"user_request","verified":true}`)
		if tasks := CompleteTasks(t, s, lift); !slices.ContainsFunc(tasks, func(m ManualTask) bool { return m.Action == schemas.ActionLiftRestriction }) {
			t.Errorf("lift tasks %+v", tasks)
		}

		_, rectify := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_res","identifiers":{"email":"res.new@example.com"},"type":"rectification","reason":"user_request","verified":true}`)
		if tasks := CompleteTasks(t, s, rectify); !slices.ContainsFunc(tasks, func(m ManualTask) bool { return m.Action == schemas.ActionRectify }) {
			t.Errorf("rectification tasks %+v", tasks)
		}
	})

	t.Run("open requests by deadline", func(t *testing.T) {
		PostConsent(t, s, "u_wait", "wait@example.com")
		_, id := SubmitRequest(t, s, key, `{"tenant":"consumer","subject_id":"u_wait","identifiers":{"email":"wait@example.com"},"type":"erasure","reason":"user_request"}`)
		var list struct {
			Requests []struct {
				RequestID      string `json:"request_id"`
				DeadlineStatus string `json:"deadline_status"`
			} `json:"requests"`
		}
		Eventually(t, "the unverified request listed", 60*time.Second, func() bool {
			testkit.Call(t, "GET", s.URL("audit-sink")+"/v1/privacy-requests?status=verifying", key, nil, &list)
			return slices.ContainsFunc(list.Requests, func(r struct {
				RequestID      string `json:"request_id"`
				DeadlineStatus string `json:"deadline_status"`
			}) bool {
				return r.RequestID == id && r.DeadlineStatus == "on_track"
			})
		})
	})
}
