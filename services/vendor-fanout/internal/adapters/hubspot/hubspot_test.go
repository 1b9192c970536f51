package hubspot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/hubspot"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// email needs escaping in a path segment: unescaped, its "/" would add a segment and
// the simulator would answer 404.
const email = "ada/lovelace+news@example.com"

func newAdapter(t *testing.T, sim *vendortest.Sim) *hubspot.Adapter {
	t.Helper()
	a, err := hubspot.New(hubspot.Config{BaseURL: sim.BaseURL("hubspot"), Token: "pat-na1-test", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func request(action vendor.Action) vendor.Request {
	return vendor.Request{
		Action:         action,
		IdempotencyKey: "evt-1:hubspot:" + string(action),
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs:            vendor.Identifiers{SubjectID: "user-1", Email: email},
		EventID:        "evt-1",
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     hubspot.Config
		wantErr []string
	}{
		{"valid", hubspot.Config{BaseURL: "https://api.hubapi.com", Token: "t"}, nil},
		{"empty", hubspot.Config{}, []string{"BaseURL", "Token"}},
		{"relative base", hubspot.Config{BaseURL: "api.hubapi.com", Token: "t"}, []string{"BaseURL"}},
		{"blank token", hubspot.Config{BaseURL: "https://api.hubapi.com", Token: " "}, []string{"Token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hubspot.New(tc.cfg)
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
	a, err := hubspot.New(hubspot.Config{BaseURL: "https://api.hubapi.com", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[vendor.Action]bool{
		vendor.DeleteUser: true, vendor.OptOut: true,
		vendor.SuppressEmail: false, vendor.Restrict: false, vendor.UpdateConsent: false,
	} {
		if got := a.Supports(action); got != want {
			t.Errorf("Supports(%s) = %v, want %v", action, got, want)
		}
	}
	if _, err := a.Deliver(t.Context(), request(vendor.Restrict)); err == nil {
		t.Error("Deliver(restrict) succeeded, want an error")
	}
}

func TestDeleteUser(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	a := newAdapter(t, sim)
	req := request(vendor.DeleteUser)

	// HubSpot blocklists an address with no contact, so a repeat answers the same.
	for i := range 2 {
		sim.Reset()
		res, err := a.Deliver(t.Context(), req)
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if res.Outcome != vendor.Delivered || res.HTTPStatus != 204 {
			t.Errorf("call %d: result = %+v, want delivered 204", i+1, res)
		}
		call := sim.OnlyCall(t)
		vendortest.CheckCall(t, call, vendortest.Want{
			Method: "POST", Path: "/hubspot/crm/v3/objects/contacts/gdpr-delete",
			IdempotencyKey: req.IdempotencyKey, Status: 204,
		})
		body := vendortest.JSONBody(t, call)
		if body["objectId"] != email || body["idProperty"] != "email" || len(body) != 2 {
			t.Errorf("body = %v, want objectId=<email>, idProperty=email", body)
		}
	}
}

func TestOptOut(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	a := newAdapter(t, sim)
	req := request(vendor.OptOut)

	want := []vendor.Outcome{vendor.Delivered, vendor.AlreadyDone} // the repeat: NO_STATUS_CHANGE
	for i, outcome := range want {
		sim.Reset()
		if i > 0 {
			// Reset forgets the opt-out; apply it again so this call is the repeat.
			if _, err := a.Deliver(t.Context(), req); err != nil {
				t.Fatal(err)
			}
		}
		res, err := a.Deliver(t.Context(), req)
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if res.Outcome != outcome || res.HTTPStatus != 200 {
			t.Errorf("call %d: result = %+v, want %s 200", i+1, res, outcome)
		}
		calls := sim.Calls()
		call := calls[len(calls)-1]
		vendortest.CheckCall(t, call, vendortest.Want{
			Method: "POST", Path: "/hubspot/communication-preferences/v4/statuses/" + email + "/unsubscribe-all",
			Query: "channel=EMAIL&verbose=true", IdempotencyKey: req.IdempotencyKey, Status: 200,
		})
		if len(call.Body) != 0 {
			t.Errorf("body = %q, want none", call.Body)
		}
	}
}

func TestNoEmailSkips(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	a := newAdapter(t, sim)
	for _, action := range []vendor.Action{vendor.DeleteUser, vendor.OptOut} {
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
	sim := vendortest.Start(t, vendorsim.Options{})
	a := newAdapter(t, sim)
	for _, action := range []vendor.Action{vendor.DeleteUser, vendor.OptOut} {
		t.Run(string(action), func(t *testing.T) {
			vendortest.RunFaults(t, sim, vendortest.StandardFaults("hubspot"), func(ctx context.Context) error {
				_, err := a.Deliver(ctx, request(action))
				return err
			}, email, "lovelace")
		})
	}
}

func TestCancel(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	a := newAdapter(t, sim)
	vendortest.RunCancel(t, sim, "hubspot", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.OptOut))
		return err
	})
}

// HubSpot's daily limit (docs/vendors/hubspot.md): the answer that spends the last call
// of the day says so in X-HubSpot-RateLimit-Daily-Remaining, and the next is a 429 with
// policyName DAILY and no Retry-After. Both must park the lane until the account's
// midnight, not for a second.
func TestDailyLimit(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{HubSpotDailyLimit: 2})
	zone := time.FixedZone("UTC-5", -5*3600)
	a, err := hubspot.New(hubspot.Config{BaseURL: sim.BaseURL("hubspot"), Token: "pat-na1-test", Now: sim.Clock.Now, DailyLimitZone: zone})
	if err != nil {
		t.Fatal(err)
	}
	now := sim.Clock.Now().In(zone)
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, zone)

	res, err := a.Deliver(t.Context(), request(vendor.OptOut))
	if err != nil || res.Brake != nil {
		t.Fatalf("first call: %+v, %v; want delivered without a brake", res, err)
	}
	res, err = a.Deliver(t.Context(), request(vendor.DeleteUser))
	if err != nil {
		t.Fatal(err)
	}
	if res.Brake == nil || res.Brake.Until.Before(midnight) || res.Brake.Until.After(midnight.Add(time.Hour)) {
		t.Fatalf("last call of the day: brake %+v, want one until just after %v", res.Brake, midnight)
	}
	_, err = a.Deliver(t.Context(), request(vendor.OptOut))
	e := vendortest.WantError(t, err, vendor.Throttled, 429, 0)
	if e.ResetAt.Before(midnight) || e.ResetAt.After(midnight.Add(time.Hour)) {
		t.Errorf("DAILY 429: ResetAt %v, want just after %v", e.ResetAt, midnight)
	}
	if !strings.Contains(e.Msg, "DAILY") {
		t.Errorf("error %q does not name the DAILY policy", e.Msg)
	}
}

// The ten-secondly 429 names no Retry-After; the rolling window is the wait.
func TestTenSecondlyLimitWaitsTheInterval(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	a := newAdapter(t, sim)
	sim.MustFault(t, vendorsim.Fault{Vendor: "hubspot", Mode: vendorsim.Mode429})
	_, err := a.Deliver(t.Context(), request(vendor.OptOut))
	vendortest.WantError(t, err, vendor.Throttled, 429, 10*time.Second)
}
