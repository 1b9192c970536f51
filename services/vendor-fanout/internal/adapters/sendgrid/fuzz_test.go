package sendgrid_test

import (
	"testing"

	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/sendgrid"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// codeKeys are the fields classifyError reports (the field at fault); messages never
// reach an error.
var codeKeys = []string{"field"}

// FuzzDeliver answers a global suppression, or a contact search and then its deletion,
// with any statuses, Retry-After, X-RateLimit-Reset and bodies, and checks the
// adapter's promises (vendortest.CheckDelivery). The search answer is keyed by the
// address itself, so the seeds hand the fuzzer the email to misplace.
func FuzzDeliver(f *testing.F) {
	v := vendortest.StartFuzzVendor(f)
	a, err := sendgrid.New(sendgrid.Config{BaseURL: v.URL, APIKey: "SG.fuzz", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	const found = `{"result":{"ada.lovelace+fuzz@example.com":{"contact":{"id":"a1b2c3d4-0000-4000-8000-000000000001","email":"ada.lovelace+fuzz@example.com"}}}}`
	for _, s := range []struct {
		action     uint8 // 0 suppress, 1 opt out, 2 delete
		status1    uint16
		body1      string
		status2    uint16
		body2      string
		retryAfter string
		reset      string
	}{
		{0, 201 - 200, `{"recipient_emails":["ada.lovelace+fuzz@example.com"]}`, 0, ``, "", ""},
		{1, 400 - 200, `{"errors":[{"field":"recipient_emails","message":"ada.lovelace+fuzz@example.com is not a valid email"}]}`, 0, ``, "", ""},
		{0, 429 - 200, `{"errors":[{"field":null,"message":"too many requests"}]}`, 0, ``, "", "1772445601"},
		{0, 429 - 200, `{"errors":[{"message":"too many requests"}]}`, 0, ``, "3", "1772445601"},
		{1, 429 - 200, ``, 0, ``, "", "99999999999"},
		{2, 0, found, 202 - 200, `{"job_id":"0d5b7e59-2c7b-4e3a-9a36-5a7e2a4f1c11"}`, "", ""},
		{2, 0, found, 202 - 200, `{"job_id":""}`, "", ""},
		{2, 404 - 200, `{"errors":[{"field":null,"message":"No contacts found"}]}`, 0, ``, "", ""},
		{2, 0, `{"result":{"ada.lovelace+fuzz@example.com":{"error":"contact not found"}}}`, 0, ``, "", ""},
		{2, 0, `{"result":{"ada.lovelace+fuzz@example.com":{"contact":{"id":7}}}}`, 0, ``, "", ""},
		{2, 0, found, 400 - 200, `{"errors":[{"field":"ids","message":"invalid id"}]}`, "", ""},
		{2, 401 - 200, `{"errors":[{"field":null,"message":"authorization required"}]}`, 0, ``, "", ""},
	} {
		f.Add(s.action, s.status1, []byte(s.body1), s.status2, []byte(s.body2), s.retryAfter, s.reset)
	}
	actions := []vendor.Action{vendor.SuppressEmail, vendor.OptOut, vendor.DeleteUser}
	f.Fuzz(func(t *testing.T, action uint8, status1 uint16, body1 []byte, status2 uint16, body2 []byte, retryAfter, reset string) {
		req := vendortest.FuzzRequest(actions[int(action)%len(actions)])
		h := vendortest.FuzzHeader(retryAfter, reset)
		v.Reply(vendortest.Answer{Status: vendortest.FuzzStatus(status1), Header: h, Body: body1},
			vendortest.Answer{Status: vendortest.FuzzStatus(status2), Header: h, Body: body2})
		res, err := a.Deliver(t.Context(), req)
		vendortest.CheckDelivery(t, res, err, vendortest.ExceptCodes(vendortest.PII(req), codeKeys, body1, body2)...)
	})
}
