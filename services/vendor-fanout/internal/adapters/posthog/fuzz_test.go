package posthog_test

import (
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/posthog"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// codeKeys are the fields the adapter reports as the error code; details never reach an error.
var codeKeys = []string{"code"}

// FuzzDeliverPoll answers the person lookup and then the bulk delete (poll false), or a
// deletion_status listing (poll true), with any statuses, Retry-After and bodies, and
// checks the adapter's promises (vendortest.CheckDelivery).
func FuzzDeliverPoll(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := posthog.New(posthog.Config{BaseURL: v.URL, APIKey: "phx_fuzz", ProjectID: "7", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	const person = `{"results":[{"id":"018e5b7c-2d3f-7a8b-9c0d-1e2f3a4b5c6d","uuid":"018e5b7c-2d3f-7a8b-9c0d-1e2f3a4b5c6d","distinct_ids":["ph-distinct-4b7a"],"properties":{"email":"ada.lovelace+fuzz@example.com"}}]}`
	for _, s := range []struct {
		poll       bool
		status1    uint16
		body1      string
		status2    uint16
		body2      string
		retryAfter string
	}{
		{false, 0, person, 202 - 200, `{"persons_found":1,"persons_deleted":1,"events_queued_for_deletion":true,"deletion_errors":[]}`, ""},
		{false, 0, person, 202 - 200, `{"persons_found":0,"persons_deleted":0}`, ""},
		{false, 0, person, 202 - 200, `{"persons_found":1,"deletion_errors":[{"person_uuid":"018e5b7c","error":"ada.lovelace+fuzz@example.com"}]}`, ""},
		{false, 0, person, 202 - 200, `{"persons_deleted":1}`, ""},
		{false, 0, `{"results":[]}`, 0, ``, ""},
		{false, 0, `{"results":[{"id":42}]}`, 0, ``, ""},
		{false, 0, `{"results":[{"id":"018e5b7c-2d3f-7a8b-9c0d-1e2f3a4b5c6d"}]}`, 400 - 200, `{"type":"validation_error","code":"invalid_input","detail":"ids: ph-distinct-4b7a"}`, ""},
		{false, 429 - 200, `{"type":"throttled","code":"throttled","detail":"Request was throttled."}`, 0, ``, "2"},
		{false, 0, person, 429 - 200, `{"code":"throttled"}`, "Mon, 02 Mar 2026 10:00:05 GMT"},
		{true, 0, `{"results":[{"status":"completed"},{"status":"completed"}]}`, 0, ``, ""},
		{true, 0, `{"results":[{"status":"pending"}]}`, 0, ``, ""},
		{true, 0, `{"results":[]}`, 0, ``, ""},
		{true, 401 - 200, `{"type":"authentication_error","code":"not_authenticated"}`, 0, ``, ""},
		{true, 0, `{"results":{"status":"completed"}}`, 0, ``, ""},
	} {
		f.Add(s.poll, s.status1, []byte(s.body1), s.status2, []byte(s.body2), s.retryAfter)
	}
	f.Fuzz(func(t *testing.T, poll bool, status1 uint16, body1 []byte, status2 uint16, body2 []byte, retryAfter string) {
		req := vendortest.FuzzRequest(vendor.DeleteUser)
		h := vendortest.FuzzHeader(retryAfter, "")
		v.Reply(vendortest.Answer{Status: vendortest.FuzzStatus(status1), Header: h, Body: body1},
			vendortest.Answer{Status: vendortest.FuzzStatus(status2), Header: h, Body: body2})
		if poll {
			done, err := a.Poll(t.Context(), req, "person:018e5b7c-2d3f-7a8b-9c0d-1e2f3a4b5c6d")
			vendortest.CheckPoll(t, done, err, vendortest.ExceptCodes(vendortest.PII(req), codeKeys, body1, body2)...)
			return
		}
		res, err := a.Deliver(t.Context(), req)
		vendortest.CheckDelivery(t, res, err, vendortest.ExceptCodes(vendortest.PII(req), codeKeys, body1, body2)...)
	})
}
