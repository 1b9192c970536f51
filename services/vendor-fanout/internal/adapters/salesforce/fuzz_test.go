package salesforce_test

import (
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/salesforce"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// codeKeys are the fields classifyError reports; messages never reach an error.
var codeKeys = []string{"errorCode"}

// FuzzDeliver answers an opt-out (PATCH) or a delete with any status, Retry-After and
// body, and checks the adapter's promises (vendortest.CheckDelivery).
func FuzzDeliver(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := salesforce.New(salesforce.Config{BaseURL: v.URL, AccessToken: "00Dfuzz", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		optOut     bool
		status     uint16
		retryAfter string
		body       string
	}{
		{true, 204 - 200, "", ``},
		{false, 204 - 200, "", ``},
		{false, 404 - 200, "", `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]`},
		{true, 404 - 200, "", `[{"message":"Provided external ID field does not exist or is not accessible: 003Dn00000FuzzAAA","errorCode":"NOT_FOUND"}]`},
		{true, 400 - 200, "", `[{"message":"Email: invalid email address: ada.lovelace+fuzz@example.com","errorCode":"INVALID_EMAIL_ADDRESS","fields":["Email"]},{"message":"x","errorCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION"}]`},
		{false, 403 - 200, "", `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`},
		{true, 403 - 200, "", `[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}]`},
		{false, 401 - 200, "", `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`},
		{true, 429 - 200, "5", `[]`},
		{false, 500 - 200, "", `{"errorCode":"UNKNOWN_EXCEPTION"}`},
		{false, 400 - 200, "", `[{"errorCode":17}]`},
	} {
		f.Add(s.optOut, s.status, s.retryAfter, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, optOut bool, status uint16, retryAfter string, body []byte) {
		req := vendortest.FuzzRequest(vendor.DeleteUser)
		if optOut {
			req.Action = vendor.OptOut
		}
		v.Reply(vendortest.Answer{Status: vendortest.FuzzStatus(status), Header: vendortest.FuzzHeader(retryAfter, ""), Body: body})
		res, err := a.Deliver(t.Context(), req)
		vendortest.CheckDelivery(t, res, err, vendortest.ExceptCodes(vendortest.PII(req), codeKeys, body)...)
	})
}
