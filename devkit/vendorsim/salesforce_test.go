package vendorsim_test

import (
	"testing"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestSalesforce(t *testing.T) {
	e := start(t, vendorsim.Options{})
	auth := []string{"Authorization", "Bearer 00D!token"}
	const base = "/salesforce/services/data/v60.0/sobjects/"
	sfError := func(code string) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			b := decode[[]map[string]string](t, r.body)
			if len(b) != 1 || b[0]["errorCode"] != code || b[0]["message"] == "" {
				t.Errorf("body = %s, want one %s error", r.body, code)
			}
		}
	}
	run(t, e, []step{
		{name: "no auth", method: "PATCH", path: base + "Contact/003A", body: `{"HasOptedOutOfEmail":true}`, want: 401,
			check: sfError("INVALID_SESSION_ID")},
		{name: "opt out", method: "PATCH", path: base + "Contact/003A", body: `{"HasOptedOutOfEmail":true}`, header: auth,
			want: 204, check: emptyBody},
		{name: "opt out lead, other version", method: "PATCH", path: "/salesforce/services/data/v61.0/sobjects/Lead/00QA",
			body: `{"HasOptedOutOfEmail":true}`, header: auth, want: 204},
		{name: "malformed", method: "PATCH", path: base + "Contact/003A", body: `{"HasOptedOutOfEmail":`, header: auth,
			want: 400, check: sfError("JSON_PARSER_ERROR")},
		{name: "wrong type", method: "PATCH", path: base + "Contact/003A", body: `{"HasOptedOutOfEmail":"yes"}`, header: auth,
			want: 400, check: sfError("JSON_PARSER_ERROR")},
		{name: "no body", method: "PATCH", path: base + "Contact/003A", header: auth, want: 400},
		{name: "other object", method: "DELETE", path: base + "Account/001A", header: auth, want: 404, check: sfError("NOT_FOUND")},
		{name: "bad version", method: "DELETE", path: "/salesforce/services/data/latest/sobjects/Contact/003A", header: auth, want: 404},
		{name: "delete", method: "DELETE", path: base + "Contact/003A", header: auth, want: 204, check: emptyBody},
		{name: "delete again", method: "DELETE", path: base + "Contact/003A", header: auth, want: 404, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]`)
		}},
		{name: "update deleted", method: "PATCH", path: base + "Contact/003A", body: `{"HasOptedOutOfEmail":true}`, header: auth,
			want: 404, check: func(t *testing.T, r resp) {
				// Every response reports usage: this is the 11th call.
				if got := r.header.Get("Sforce-Limit-Info"); got != "api-usage=11/15000" {
					t.Errorf("Sforce-Limit-Info = %q, want api-usage=11/15000", got)
				}
			}},
	})
	if got := e.do(t, "GET", "/salesforce/nope", "").header.Get("Sforce-Limit-Info"); got != "api-usage=12/15000" {
		t.Errorf("Sforce-Limit-Info on a 404 = %q, want api-usage=12/15000", got)
	}
}
