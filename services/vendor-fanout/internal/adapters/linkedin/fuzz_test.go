package linkedin_test

import (
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/linkedin"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// codeKeys are the fields the adapter reports as the error code; messages never reach an error.
var codeKeys = []string{"code"}

// FuzzDeliver answers a segment removal with any status, Retry-After and body, and
// checks the adapter's promises (vendortest.CheckDelivery). The hashed email is no
// identifier in clear, but an error holding it would still single the person out, so it
// counts as one here.
func FuzzDeliver(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := linkedin.New(linkedin.Config{BaseURL: v.URL, AccessToken: "AQfuzz", SegmentID: "12345", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	hash := linkedin.HashEmail(vendortest.FuzzRequest(vendor.OptOut).IDs.Email)
	for _, s := range []struct {
		optOut     bool
		status     uint16
		retryAfter string
		body       string
	}{
		{true, 201 - 200, "", `{"elements":[{"status":201}]}`},
		{false, 200 - 200, "", ``},
		{true, 400 - 200, "", `{"status":400,"code":"INVALID_REQUEST","message":"invalid idValue ` + hash + `"}`},
		{false, 422 - 200, "", `{"status":422,"serviceErrorCode":100,"code":"UNPROCESSABLE_ENTITY","message":"x"}`},
		{true, 429 - 200, "60", `{"status":429,"code":"TOO_MANY_REQUESTS"}`},
		{false, 401 - 200, "", `{"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"Invalid access token"}`},
		{true, 500 - 200, "", `{"code":500}`},
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
		vendortest.CheckDelivery(t, res, err, vendortest.ExceptCodes(append(vendortest.PII(req), hash), codeKeys, body)...)
	})
}
