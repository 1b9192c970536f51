package hubspot_test

import (
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/hubspot"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// codeKeys are the fields errorCode reports; messages never reach an error.
var codeKeys = []string{"category", "errorType", "policyName"}

// FuzzDeliver answers a GDPR delete or an unsubscribe-all with any status, throttling
// header and body, and checks the adapter's promises (vendortest.CheckDelivery).
func FuzzDeliver(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := hubspot.New(hubspot.Config{BaseURL: v.URL, Token: "pat-na1-fuzz", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		optOut     bool
		status     uint16
		retryAfter string
		body       string
	}{
		{false, 204 - 200, "", ""},
		{true, 200 - 200, "", `{"status":"COMPLETE","results":[{"subscriberIdString":"ada.lovelace+fuzz@example.com","setStatusSuccessReason":"UNSUBSCRIBE_FROM_ALL_OCCURRED"}]}`},
		{true, 200 - 200, "", `{"status":"COMPLETE","results":[{"setStatusSuccessReason":"NO_STATUS_CHANGE"}]}`},
		{true, 400 - 200, "", `{"status":"error","message":"ada.lovelace+fuzz@example.com is already unsubscribed from subscription 42","category":"VALIDATION_ERROR"}`},
		{false, 400 - 200, "", `{"status":"error","message":"Invalid input: ada.lovelace+fuzz@example.com","correlationId":"c0ffee","category":"VALIDATION_ERROR"}`},
		{true, 429 - 200, "3", `{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}`},
		{false, 429 - 200, "Mon, 02 Mar 2026 10:00:30 GMT", `{"errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}`},
		{false, 401 - 200, "", `{"category":"INVALID_AUTHENTICATION"}`},
		{true, 503 - 200, "", `<html>Service Unavailable</html>`},
		{true, 200 - 200, "", `{"results":"nope"}`},
		{true, 200 - 200, "", `{"results":[{"setStatusSuccessReason":`},
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
