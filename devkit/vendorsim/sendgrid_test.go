package vendorsim_test

import (
	"strings"
	"testing"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestSendGrid(t *testing.T) {
	e := start(t, vendorsim.Options{})
	auth := []string{"Authorization", "Bearer SG.key"}
	const (
		suppress = "/sendgrid/v3/asm/suppressions/global"
		search   = "/sendgrid/v3/marketing/contacts/search/emails"
		contacts = "/sendgrid/v3/marketing/contacts"
	)
	tooMany := `{"emails":["a@x.com` + strings.Repeat(`","a@x.com`, 100) + `"]}`
	var annID, bobID string
	sgError := func(field any) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			b := decode[struct {
				Errors []map[string]any `json:"errors"`
			}](t, r.body)
			if len(b.Errors) != 1 || b.Errors[0]["field"] != field || b.Errors[0]["message"] == "" {
				t.Errorf("body = %s, want one error with field %v", r.body, field)
			}
		}
	}
	type contact struct {
		Contact *struct{ ID, Email string } `json:"contact"`
		Error   string                      `json:"error"`
	}
	run(t, e, []step{
		{name: "no auth", method: "POST", path: suppress, body: `{"recipient_emails":["ann@example.com"]}`, want: 401, check: sgError(nil)},
		{name: "suppress", method: "POST", path: suppress, body: `{"recipient_emails":["ann@example.com"]}`, header: auth, want: 201,
			check: func(t *testing.T, r resp) {
				jsonEqual(t, r.body, `{"recipient_emails":["ann@example.com"]}`)
				if r.header.Get("X-RateLimit-Limit") == "" || r.header.Get("X-RateLimit-Reset") == "" {
					t.Errorf("rate-limit headers missing: %v", r.header)
				}
			}},
		{name: "suppress again is harmless", method: "POST", path: suppress, body: `{"recipient_emails":["Ann@Example.com"]}`, header: auth, want: 201},
		{name: "suppress none", method: "POST", path: suppress, body: `{"recipient_emails":[]}`, header: auth, want: 400, check: sgError("recipient_emails")},
		{name: "suppress not an email", method: "POST", path: suppress, body: `{"recipient_emails":["ann"]}`, header: auth, want: 400},
		{name: "suppress malformed", method: "POST", path: suppress, body: `{`, header: auth, want: 400},
		{name: "is suppressed", method: "GET", path: suppress + "/ann@example.com", header: auth, want: 200, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `{"recipient_email":"ann@example.com"}`)
		}},
		{name: "not suppressed", method: "GET", path: suppress + "/bob@example.com", header: auth, want: 200, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `{}`)
		}},
		{name: "search", method: "POST", path: search, body: `{"emails":["ann@example.com","bob@example.com"]}`, header: auth, want: 200,
			check: func(t *testing.T, r resp) {
				b := decode[struct{ Result map[string]contact }](t, r.body)
				ann, bob := b.Result["ann@example.com"].Contact, b.Result["bob@example.com"].Contact
				if ann == nil || bob == nil || ann.ID == "" || ann.ID == bob.ID || ann.Email != "ann@example.com" {
					t.Fatalf("result = %s, want two contacts with distinct ids", r.body)
				}
				annID, bobID = ann.ID, bob.ID
			}},
		{name: "search too many", method: "POST", path: search, body: tooMany, header: auth, want: 400, check: sgError("emails")},
		{name: "search none", method: "POST", path: search, body: `{"emails":[]}`, header: auth, want: 400},
		{name: "delete without ids", method: "DELETE", path: contacts, header: auth, want: 400, check: sgError("ids")},
	})
	run(t, e, []step{
		{name: "delete", method: "DELETE", path: contacts + "?ids=" + annID, header: auth, want: 202, check: func(t *testing.T, r resp) {
			job := decode[map[string]string](t, r.body)["job_id"]
			if len(job) != 36 || strings.Count(job, "-") != 4 {
				t.Errorf("job_id = %q, want a UUID", job)
			}
		}},
		{name: "deleted contact no longer matches", method: "POST", path: search, body: `{"emails":["ann@example.com"]}`, header: auth,
			want: 404, check: sgError(nil)},
		{name: "others still match", method: "POST", path: search, body: `{"emails":["ann@example.com","bob@example.com"]}`, header: auth,
			want: 200, check: func(t *testing.T, r resp) {
				b := decode[struct{ Result map[string]contact }](t, r.body)
				if b.Result["ann@example.com"].Error == "" || b.Result["bob@example.com"].Contact == nil || b.Result["bob@example.com"].Contact.ID != bobID {
					t.Errorf("result = %s, want ann not found and bob found", r.body)
				}
			}},
	})
}
