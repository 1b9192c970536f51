package fullstory_test

import (
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/fullstory"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// codeKeys are the fields errorCode reports; messages never reach an error.
var codeKeys = []string{"code"}

// FuzzDeliverPoll answers a user deletion (poll false) or a user lookup (poll true) with
// any status, Retry-After and body, and checks the adapter's promises
// (vendortest.CheckDelivery).
func FuzzDeliverPoll(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := fullstory.New(fullstory.Config{BaseURL: v.URL, APIKey: "key", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		poll       bool
		status     uint16
		retryAfter string
		body       string
	}{
		{false, 200 - 200, "", `{}`},
		{false, 404 - 200, "", `{"message":"user fs-uid-91d2 not found","code":"not_found"}`},
		{false, 400 - 200, "", `{"message":"invalid uid fs-uid-91d2","code":"invalid_argument"}`},
		{false, 429 - 200, "7", `{"message":"rate limited","code":"resource_exhausted"}`},
		{false, 403 - 200, "", `{"code":7}`},
		{true, 200 - 200, "", `{"id":"1234567","uid":"fs-uid-91d2","is_being_deleted":true}`},
		{true, 200 - 200, "", `{"id":"1234567","uid":"fs-uid-91d2","is_being_deleted":false}`},
		{true, 200 - 200, "", `{"id":"1234567","uid":"fs-uid-91d2"}`},
		{true, 200 - 200, "", `{"is_being_deleted":"yes"}`},
		{true, 404 - 200, "", ``},
		{true, 500 - 200, "", `{"message":"internal","code":"internal"}`},
	} {
		f.Add(s.poll, s.status, s.retryAfter, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, poll bool, status uint16, retryAfter string, body []byte) {
		req := vendortest.FuzzRequest(vendor.DeleteUser)
		v.Reply(vendortest.Answer{Status: vendortest.FuzzStatus(status), Header: vendortest.FuzzHeader(retryAfter, ""), Body: body})
		if poll {
			done, err := a.Poll(t.Context(), req, fullstory.Reference)
			vendortest.CheckPoll(t, done, err, vendortest.ExceptCodes(vendortest.PII(req), codeKeys, body)...)
			return
		}
		res, err := a.Deliver(t.Context(), req)
		vendortest.CheckDelivery(t, res, err, vendortest.ExceptCodes(vendortest.PII(req), codeKeys, body)...)
	})
}
