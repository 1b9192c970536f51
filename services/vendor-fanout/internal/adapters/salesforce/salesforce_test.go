package salesforce_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/salesforce"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

const recordID = "0035g00000XyZabAAB"

func start(t *testing.T, cfg salesforce.Config) (*vendortest.Sim, *salesforce.Adapter) {
	t.Helper()
	sim := vendortest.Start(t, vendorsim.Options{})
	cfg.BaseURL, cfg.AccessToken, cfg.Now = sim.BaseURL("salesforce"), "00D-token", sim.Clock.Now
	a, err := salesforce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, a
}

func request(action vendor.Action) vendor.Request {
	return vendor.Request{
		Action:         action,
		IdempotencyKey: "evt-1:salesforce:" + string(action),
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs:            vendor.Identifiers{SubjectID: "subject-1", Email: "ada@example.com", VendorIDs: map[string]string{"salesforce": recordID}},
		EventID:        "evt-1",
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     salesforce.Config
		wantErr []string
	}{
		{"valid with defaults", salesforce.Config{BaseURL: "https://acme.my.salesforce.com", AccessToken: "t"}, nil},
		{"empty", salesforce.Config{}, []string{"BaseURL", "AccessToken"}},
		{"bad version", salesforce.Config{BaseURL: "https://acme.my.salesforce.com", AccessToken: "t", APIVersion: "60"}, []string{"APIVersion"}},
		{"bad object", salesforce.Config{BaseURL: "https://acme.my.salesforce.com", AccessToken: "t", Object: "Contact/x"}, []string{"Object"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := salesforce.New(tc.cfg)
			if (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("New() error = %v, want error naming %v", err, tc.wantErr)
			}
			for _, field := range tc.wantErr {
				if !strings.Contains(err.Error(), field) {
					t.Errorf("error %q does not name %s", err, field)
				}
			}
		})
	}
}

func TestSupports(t *testing.T) {
	_, a := start(t, salesforce.Config{})
	for action, want := range map[vendor.Action]bool{vendor.DeleteUser: true, vendor.OptOut: true, vendor.SuppressEmail: false, vendor.Restrict: false} {
		if a.Supports(action) != want {
			t.Errorf("Supports(%s) = %v, want %v", action, !want, want)
		}
	}
}

func TestOptOut(t *testing.T) {
	tests := []struct {
		name     string
		cfg      salesforce.Config
		wantPath string
	}{
		{"defaults", salesforce.Config{}, "/salesforce/services/data/v60.0/sobjects/Contact/" + recordID},
		{"lead on v62", salesforce.Config{Object: "Lead", APIVersion: "v62.0"}, "/salesforce/services/data/v62.0/sobjects/Lead/" + recordID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, a := start(t, tc.cfg)
			req := request(vendor.OptOut)
			res, err := a.Deliver(t.Context(), req)
			if err != nil || res.Outcome != vendor.Delivered || res.HTTPStatus != 204 {
				t.Fatalf("Deliver = %+v, %v; want delivered 204", res, err)
			}
			call := sim.OnlyCall(t)
			vendortest.CheckCall(t, call, vendortest.Want{Method: "PATCH", Path: tc.wantPath, IdempotencyKey: req.IdempotencyKey, Status: 204})
			if body := vendortest.JSONBody(t, call); body["HasOptedOutOfEmail"] != true || len(body) != 1 {
				t.Errorf("body = %v, want HasOptedOutOfEmail: true", body)
			}
		})
	}
}

// The repeat delete gets 404: Salesforce's "already done".
// Erasure is a Bulk API 2.0 hardDelete job, not a REST DELETE: a deleted record sits in
// the Recycle Bin, restorable (docs/vendors/salesforce.md). The job is accepted, then
// polled until JobComplete; only then is the record gone for good.
func TestDeleteUserIsAHardDeleteJob(t *testing.T) {
	sim, a := start(t, salesforce.Config{})
	req := request(vendor.DeleteUser)
	res, err := a.Deliver(t.Context(), req)
	if err != nil || res.Outcome != vendor.Accepted || !strings.HasPrefix(res.Reference, "job:") {
		t.Fatalf("Deliver = %+v, %v; want accepted with a job reference", res, err)
	}
	calls := sim.CallsTo("salesforce")
	if len(calls) != 3 {
		t.Fatalf("%d calls, want create, upload, close", len(calls))
	}
	jobID := strings.TrimPrefix(res.Reference, "job:")
	jobs := "/salesforce/services/data/v60.0/jobs/ingest"
	vendortest.CheckCall(t, calls[0], vendortest.Want{Method: "POST", Path: jobs, Status: 200})
	if body := vendortest.JSONBody(t, calls[0]); body["operation"] != "hardDelete" || body["object"] != "Contact" {
		t.Errorf("job = %v, want a hardDelete of Contact", body)
	}
	vendortest.CheckCall(t, calls[1], vendortest.Want{Method: "PUT", Path: jobs + "/" + jobID + "/batches", Status: 201})
	if got := string(calls[1].Body); got != "Id\n"+recordID+"\n" {
		t.Errorf("CSV = %q, want the Id column and the record id", got)
	}
	vendortest.CheckCall(t, calls[2], vendortest.Want{Method: "PATCH", Path: jobs + "/" + jobID, Status: 200})
	if got := sim.SalesforceRecordState("Contact", recordID); got != "active" {
		t.Errorf("before the job ran the record is %s, want active", got)
	}

	done, err := a.Poll(t.Context(), req, res.Reference)
	if err != nil || done {
		t.Fatalf("Poll before the job ran = %v, %v; want not done", done, err)
	}
	sim.Clock.Advance(time.Minute)
	done, err = a.Poll(t.Context(), req, res.Reference)
	if err != nil || !done {
		t.Fatalf("Poll after the job ran = %v, %v; want done", done, err)
	}
	if got := sim.SalesforceRecordState("Contact", recordID); got != "erased" {
		t.Errorf("record is %s, want erased (not in the Recycle Bin)", got)
	}

	// A second job for the same record reports the failed row: Permanent, with the
	// sf__Error code only.
	res, err = a.Deliver(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	sim.Clock.Advance(time.Minute)
	_, err = a.Poll(t.Context(), req, res.Reference)
	e := vendortest.WantError(t, err, vendor.Permanent, 200, 0)
	if !strings.Contains(e.Msg, "ENTITY_IS_DELETED") || strings.Contains(e.Msg, recordID) {
		t.Errorf("Msg = %q, want the sf__Error code and no record id", e.Msg)
	}
	// Opting an erased record out is a stale id, not a success.
	_, err = a.Deliver(t.Context(), request(vendor.OptOut))
	if e := vendortest.WantError(t, err, vendor.Permanent, 404, 0); e.Msg != "NOT_FOUND" {
		t.Errorf("Msg = %q, want the errorCode NOT_FOUND", e.Msg)
	}
}

// What a REST DELETE does, for the record: the Recycle Bin, not erasure.
func TestSimulatorRESTDeleteIsRecyclable(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	r, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, sim.BaseURL("salesforce")+"/services/data/v60.0/sobjects/Contact/"+recordID, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer 00D-token")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := sim.SalesforceRecordState("Contact", recordID); resp.StatusCode != 204 || got != "recycle_bin" {
		t.Errorf("REST DELETE: %d, record %s; want 204, recycle_bin", resp.StatusCode, got)
	}
}

func TestNoRecordIDSkips(t *testing.T) {
	sim, a := start(t, salesforce.Config{})
	for _, action := range []vendor.Action{vendor.OptOut, vendor.DeleteUser} {
		req := request(action)
		req.IDs.VendorIDs = nil // the subject id must not be used in its place
		res, err := a.Deliver(t.Context(), req)
		if err != nil || res.Outcome != vendor.Skipped || !strings.Contains(res.Detail, "record id") {
			t.Errorf("%s: Deliver = %+v, %v; want skipped naming the record id", action, res, err)
		}
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestFaults(t *testing.T) {
	sim, a := start(t, salesforce.Config{})
	cases := vendortest.StandardFaults("salesforce")
	// Salesforce throttles with 403 REQUEST_LIMIT_EXCEEDED and never says when.
	cases[0].Status, cases[0].RetryAfter = 403, 0
	for _, action := range []vendor.Action{vendor.OptOut, vendor.DeleteUser} {
		t.Run(string(action), func(t *testing.T) {
			vendortest.RunFaults(t, sim, cases, func(ctx context.Context) error {
				_, err := a.Deliver(ctx, request(action))
				return err
			}, recordID, "ada@example.com")
		})
	}
	sim.MustFault(t, vendorsim.Fault{Vendor: "salesforce", Mode: vendorsim.Mode4xx})
	_, err := a.Deliver(t.Context(), request(vendor.DeleteUser))
	if e := vendortest.WantError(t, err, vendor.Permanent, 400, 0); e.Msg != "INVALID_FIELD" {
		t.Errorf("Msg = %q, want the errorCode, not the message", e.Msg)
	}
}

func TestCancel(t *testing.T) {
	sim, a := start(t, salesforce.Config{})
	vendortest.RunCancel(t, sim, "salesforce", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.DeleteUser))
		return err
	})
}

// Sforce-Limit-Info (docs/vendors/salesforce.md) is on every answer: once the org's
// 24-hour allocation is past the threshold the adapter asks the lane to brake, and once
// it is spent Salesforce's 403 REQUEST_LIMIT_EXCEEDED is a throttle, not a rejection.
func TestAPIUsageBrakes(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{SalesforceDailyLimit: 10})
	a, err := salesforce.New(salesforce.Config{BaseURL: sim.BaseURL("salesforce"), AccessToken: "00D-token", Now: sim.Clock.Now, UsageThreshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		res, err := a.Deliver(t.Context(), request(vendor.OptOut))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if want := i >= 5; (res.Brake != nil) != want {
			t.Fatalf("call %d (api-usage=%d/10): brake %+v, want braking %v", i, i, res.Brake, want)
		}
	}
	_, err = a.Deliver(t.Context(), request(vendor.OptOut))
	e := vendortest.WantError(t, err, vendor.Throttled, 403, 0)
	if e.Msg != "REQUEST_LIMIT_EXCEEDED" {
		t.Errorf("Msg = %q, want REQUEST_LIMIT_EXCEEDED", e.Msg)
	}
}
