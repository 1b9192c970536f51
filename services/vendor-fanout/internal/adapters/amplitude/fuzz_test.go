package amplitude_test

import (
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/amplitude"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// FuzzDeliverPoll answers a deletion request (poll false) or a job listing (poll true)
// with any status, Retry-After and body, and checks the adapter's promises
// (vendortest.CheckDelivery); an accepted deletion names its job by a real day.
func FuzzDeliverPoll(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := amplitude.New(amplitude.Config{BaseURL: v.URL, APIKey: "key", SecretKey: "secret", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		poll       bool
		status     uint16
		retryAfter string
		body       string
	}{
		{false, 200 - 200, "", `{"day":"2026-03-12","status":"staging","amplitude_ids":[{"amplitude_id":123,"requester":"consentry","requested_on_day":"2026-03-02"}]}`},
		{false, 200 - 200, "", `{"day":"12 March","status":"staging"}`},
		{false, 200 - 200, "", `{"day":7}`},
		{false, 400 - 200, "", `{"error":"Invalid user_id amp-user-5c0e"}`},
		{false, 429 - 200, "30", `{"error":"Too many requests"}`},
		{false, 401 - 200, "", ``},
		{true, 200 - 200, "", `[{"day":"2026-03-02","status":"done","amplitude_ids":[{"amplitude_id":123}]}]`},
		{true, 200 - 200, "", `[{"day":"2026-03-02","status":"staging"},{"day":"2026-03-02","status":"done"}]`},
		{true, 200 - 200, "", `[{"day":"2026-03-03","status":"done"}]`},
		{true, 200 - 200, "", `[]`},
		{true, 200 - 200, "", `{"day":"2026-03-02"}`},
		{true, 503 - 200, "Mon, 02 Mar 2026 10:01:00 GMT", `upstream connect error`},
	} {
		f.Add(s.poll, s.status, s.retryAfter, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, poll bool, status uint16, retryAfter string, body []byte) {
		req := vendortest.FuzzRequest(vendor.DeleteUser)
		v.Reply(vendortest.Answer{Status: vendortest.FuzzStatus(status), Header: vendortest.FuzzHeader(retryAfter, ""), Body: body})
		if poll {
			done, err := a.Poll(t.Context(), req, "day:2026-03-02")
			vendortest.CheckPoll(t, done, err, vendortest.PII(req)...)
			return
		}
		res, err := a.Deliver(t.Context(), req)
		vendortest.CheckDelivery(t, res, err, vendortest.PII(req)...)
		if err == nil && (res.Outcome != vendor.Accepted || len(res.Reference) != len("day:2026-03-02")) {
			t.Errorf("result %+v: want accepted with a day:YYYY-MM-DD reference", res)
		}
	})
}
