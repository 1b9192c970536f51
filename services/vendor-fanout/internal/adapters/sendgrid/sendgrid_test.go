package sendgrid_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/sendgrid"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

const email = "ada.lovelace@example.com"

func start(t *testing.T) (*vendortest.Sim, *sendgrid.Adapter) {
	t.Helper()
	sim := vendortest.Start(t, vendorsim.Options{})
	a, err := sendgrid.New(sendgrid.Config{BaseURL: sim.BaseURL("sendgrid"), APIKey: "SG.test", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return sim, a
}

func request(action vendor.Action) vendor.Request {
	return vendor.Request{
		Action:         action,
		IdempotencyKey: "evt-1:sendgrid:" + string(action),
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs:            vendor.Identifiers{SubjectID: "subject-1", Email: email},
		EventID:        "evt-1",
	}
}

func TestNew(t *testing.T) {
	_, err := sendgrid.New(sendgrid.Config{})
	for _, field := range []string{"BaseURL", "APIKey"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("New(empty) error = %v, want it to name %s", err, field)
		}
	}
}

func TestSupports(t *testing.T) {
	_, a := start(t)
	for action, want := range map[vendor.Action]bool{
		vendor.SuppressEmail: true, vendor.OptOut: true, vendor.DeleteUser: true, vendor.Restrict: false, vendor.UpdateConsent: false,
	} {
		if a.Supports(action) != want {
			t.Errorf("Supports(%s) = %v, want %v", action, !want, want)
		}
	}
}

func TestSuppress(t *testing.T) {
	for _, action := range []vendor.Action{vendor.SuppressEmail, vendor.OptOut} {
		t.Run(string(action), func(t *testing.T) {
			sim, a := start(t)
			req := request(action)
			res, err := a.Deliver(t.Context(), req)
			if err != nil || res.Outcome != vendor.Delivered || res.HTTPStatus != 201 {
				t.Fatalf("Deliver = %+v, %v; want delivered 201", res, err)
			}
			call := sim.OnlyCall(t)
			vendortest.CheckCall(t, call, vendortest.Want{
				Method: "POST", Path: "/sendgrid/v3/asm/suppressions/global", IdempotencyKey: req.IdempotencyKey, Status: 201,
			})
			got, _ := vendortest.JSONBody(t, call)["recipient_emails"].([]any)
			if !slices.Equal(got, []any{email}) {
				t.Errorf("recipient_emails = %v, want [%s]", got, email)
			}
		})
	}
}

// The first delete finds the contact and queues a job; the repeat's search finds
// none (404), SendGrid's "already done".
func TestDeleteUser(t *testing.T) {
	sim, a := start(t)
	req := request(vendor.DeleteUser)
	res, err := a.Deliver(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != vendor.Accepted || res.HTTPStatus != 202 || !regexp.MustCompile(`^job:[0-9a-f-]{36}$`).MatchString(res.Reference) {
		t.Errorf("result = %+v, want accepted 202 with reference job:<uuid>", res)
	}
	calls := sim.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want search then delete", len(calls))
	}
	vendortest.CheckCall(t, calls[0], vendortest.Want{
		Method: "POST", Path: "/sendgrid/v3/marketing/contacts/search/emails", Status: 200,
	})
	if calls[0].IdempotencyKey != "" {
		t.Errorf("search carries Idempotency-Key %q; only the DELETE may", calls[0].IdempotencyKey)
	}
	if got, _ := vendortest.JSONBody(t, calls[0])["emails"].([]any); !slices.Equal(got, []any{email}) {
		t.Errorf("search emails = %v, want [%s]", got, email)
	}
	vendortest.CheckCall(t, calls[1], vendortest.Want{
		Method: "DELETE", Path: "/sendgrid/v3/marketing/contacts", IdempotencyKey: req.IdempotencyKey, Status: 202,
	})
	q, err := url.ParseQuery(calls[1].Query)
	if err != nil || !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(q.Get("ids")) {
		t.Errorf("delete query = %q, want ids=<contact uuid>", calls[1].Query)
	}

	sim.Reset()
	// Reset forgot the deletion; delete again, then repeat.
	if _, err := a.Deliver(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	res, err = a.Deliver(t.Context(), req)
	if err != nil || res.Outcome != vendor.AlreadyDone || res.HTTPStatus != 404 {
		t.Errorf("repeat: %+v, %v; want already done (404)", res, err)
	}
	if calls := sim.Calls(); len(calls) != 3 {
		t.Errorf("%d calls, want the repeat to stop after its search", len(calls))
	}
}

func TestNoEmailSkips(t *testing.T) {
	sim, a := start(t)
	for _, action := range []vendor.Action{vendor.SuppressEmail, vendor.OptOut, vendor.DeleteUser} {
		req := request(action)
		req.IDs.Email = ""
		res, err := a.Deliver(t.Context(), req)
		if err != nil || res.Outcome != vendor.Skipped || !strings.Contains(res.Detail, "email") {
			t.Errorf("%s: Deliver = %+v, %v; want skipped naming email", action, res, err)
		}
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestFaults(t *testing.T) {
	sim, a := start(t)
	cases := vendortest.StandardFaults("sendgrid")
	// Without Retry-After the wait comes from X-RateLimit-Reset, which the simulator
	// sets a second ahead of its (and the adapter's) clock.
	cases = append(cases, vendortest.FaultCase{
		Name:  "throttled without Retry-After",
		Fault: vendorsim.Fault{Vendor: "sendgrid", Mode: vendorsim.Mode429},
		Kind:  vendor.Throttled, Status: 429, RetryAfter: time.Second,
	})
	for _, action := range []vendor.Action{vendor.SuppressEmail, vendor.DeleteUser} {
		t.Run(string(action), func(t *testing.T) {
			vendortest.RunFaults(t, sim, cases, func(ctx context.Context) error {
				_, err := a.Deliver(ctx, request(action))
				return err
			}, email, "lovelace")
		})
	}
}

// TestRateLimitResetIsBounded: found by FuzzDeliver's seed corpus, an X-RateLimit-Reset
// centuries ahead became a wait of 292 years (time.Duration's limit).
func TestRateLimitResetIsBounded(t *testing.T) {
	v := vendortest.StartFuzzVendor(t)
	a, err := sendgrid.New(sendgrid.Config{BaseURL: v.URL, APIKey: "SG.test", HTTP: v.HTTP, Now: v.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	v.Reply(vendortest.Answer{Status: 429, Header: vendortest.FuzzHeader("", "99999999999")})
	_, err = a.Deliver(t.Context(), request(vendor.SuppressEmail))
	vendortest.WantError(t, err, vendor.Throttled, 429, vendor.MaxRetryAfter)
}

func TestCancel(t *testing.T) {
	sim, a := start(t)
	vendortest.RunCancel(t, sim, "sendgrid", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.DeleteUser))
		return err
	})
}

// TestDeliverBatch: one POST suppresses every address; an address the 201 answer
// lists is delivered, one it leaves out retries; a refused POST is marked Whole, since
// SendGrid's error names the field and not the address.
func TestDeliverBatch(t *testing.T) {
	sim, a := start(t)
	reqs := []vendor.Request{request(vendor.SuppressEmail), request(vendor.OptOut), request(vendor.SuppressEmail)}
	reqs[1].IDs.Email = "Bob@Example.com"
	reqs[2].IDs.Email = ""
	outs, err := a.DeliverBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Err != nil || outs[0].Result.Outcome != vendor.Delivered || outs[1].Err != nil || outs[1].Result.Outcome != vendor.Delivered ||
		outs[2].Result.Outcome != vendor.Skipped {
		t.Errorf("outcomes %+v; want delivered, delivered, skipped", outs)
	}
	if calls := sim.CallsTo("sendgrid"); len(calls) != 1 || !strings.Contains(string(calls[0].Body), `"recipient_emails":["ada.lovelace@example.com","Bob@Example.com"]`) {
		t.Errorf("calls %v, want one POST listing both addresses", calls)
	}

	sim.MustFault(t, vendorsim.Fault{Vendor: "sendgrid", Mode: vendorsim.ModeReject, Item: "bob@example.com"})
	_, err = a.DeliverBatch(context.Background(), reqs)
	if e := vendor.Classify(err); e == nil || e.Kind != vendor.Permanent || !e.Whole || strings.Contains(e.Error(), "bob") {
		t.Errorf("a refused batch: %v, want a permanent error marked Whole naming no address", err)
	}
}

func TestDeliverBatchRetriesAnAddressTheAnswerLeavesOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"recipient_emails":["ADA.LOVELACE@example.com"]}`))
	}))
	defer srv.Close()
	a, err := sendgrid.New(sendgrid.Config{BaseURL: srv.URL, APIKey: "SG.test"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := []vendor.Request{request(vendor.SuppressEmail), request(vendor.SuppressEmail)}
	reqs[1].IDs.Email = "bob@example.com"
	outs, err := a.DeliverBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Err != nil || outs[0].Result.Outcome != vendor.Delivered {
		t.Errorf("the listed address: %+v, want delivered", outs[0])
	}
	if e := vendor.Classify(outs[1].Err); e == nil || e.Kind != vendor.Transient || strings.Contains(e.Error(), "bob") {
		t.Errorf("the address left out: %+v, want a transient error naming no address", outs[1])
	}
}
