package linkedin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/linkedin"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

const (
	email = "  Ada.Lovelace@Example.com "
	// sha256("ada.lovelace@example.com"), computed with sha256sum.
	emailHash = "e814ff3dc480a94c7ce9334062ec4733c75a002f4bcec0197f62ffea64059e2f"
)

func start(t *testing.T) (*vendortest.Sim, *linkedin.Adapter) {
	t.Helper()
	sim := vendortest.Start(t, vendorsim.Options{})
	a, err := linkedin.New(linkedin.Config{BaseURL: sim.BaseURL("linkedin"), AccessToken: "AQX-token", SegmentID: "123456", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return sim, a
}

func request(action vendor.Action) vendor.Request {
	return vendor.Request{
		Action:         action,
		IdempotencyKey: "evt-1:linkedin:" + string(action),
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs:            vendor.Identifiers{SubjectID: "subject-1", Email: email},
		EventID:        "evt-1",
	}
}

func TestNew(t *testing.T) {
	_, err := linkedin.New(linkedin.Config{Version: "2025-11"})
	for _, field := range []string{"BaseURL", "AccessToken", "SegmentID", "Version"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("New() error = %v, want it to name %s", err, field)
		}
	}
}

func TestHashEmail(t *testing.T) {
	for _, in := range []string{"ada.lovelace@example.com", email, "ADA.LOVELACE@EXAMPLE.COM"} {
		if got := linkedin.HashEmail(in); got != emailHash {
			t.Errorf("HashEmail(%q) = %s, want %s", in, got, emailHash)
		}
	}
}

func TestSupports(t *testing.T) {
	_, a := start(t)
	for action, want := range map[vendor.Action]bool{vendor.DeleteUser: true, vendor.OptOut: true, vendor.SuppressEmail: false, vendor.UpdateConsent: false} {
		if a.Supports(action) != want {
			t.Errorf("Supports(%s) = %v, want %v", action, !want, want)
		}
	}
}

func TestRemove(t *testing.T) {
	for _, action := range []vendor.Action{vendor.OptOut, vendor.DeleteUser} {
		t.Run(string(action), func(t *testing.T) {
			sim, a := start(t)
			req := request(action)
			res, err := a.Deliver(t.Context(), req)
			if err != nil || res.Outcome != vendor.Delivered || res.HTTPStatus != 200 {
				t.Fatalf("Deliver = %+v, %v; want delivered 200", res, err)
			}
			call := sim.OnlyCall(t)
			vendortest.CheckCall(t, call, vendortest.Want{
				Method: "POST", Path: "/linkedin/rest/dmpSegments/123456/users", IdempotencyKey: req.IdempotencyKey, Status: 200,
			})
			var body struct {
				Elements []struct {
					Action  string `json:"action"`
					UserIDs []struct {
						IDType  string `json:"idType"`
						IDValue string `json:"idValue"`
					} `json:"userIds"`
				} `json:"elements"`
			}
			if err := json.Unmarshal(call.Body, &body); err != nil {
				t.Fatal(err)
			}
			if len(body.Elements) != 1 || body.Elements[0].Action != "REMOVE" || len(body.Elements[0].UserIDs) != 1 ||
				body.Elements[0].UserIDs[0].IDType != "SHA256_EMAIL" || body.Elements[0].UserIDs[0].IDValue != emailHash {
				t.Errorf("body = %s, want one REMOVE of the SHA256_EMAIL %s", call.Body, emailHash)
			}
			if strings.Contains(strings.ToLower(string(call.Body)), "lovelace") {
				t.Error("the body holds the plain email")
			}
		})
	}
}

func TestNoEmailSkips(t *testing.T) {
	sim, a := start(t)
	req := request(vendor.OptOut)
	req.IDs.Email = " "
	res, err := a.Deliver(t.Context(), req)
	if err != nil || res.Outcome != vendor.Skipped || !strings.Contains(res.Detail, "email") {
		t.Errorf("Deliver = %+v, %v; want skipped naming email", res, err)
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestFaults(t *testing.T) {
	sim, a := start(t)
	vendortest.RunFaults(t, sim, vendortest.StandardFaults("linkedin"), func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.OptOut))
		return err
	}, "lovelace", emailHash)
}

func TestCancel(t *testing.T) {
	sim, a := start(t)
	vendortest.RunCancel(t, sim, "linkedin", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request(vendor.OptOut))
		return err
	})
}

// today is when docs/vendors/linkedin.md was written: 202511 had been sunset for
// eighteen days.
var today = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// TestDefaultVersionIsServed: an instance that configures no version must still reach
// LinkedIn; the old default (202511) was refused by every call from 16 November 2026.
func TestDefaultVersionIsServed(t *testing.T) {
	sim, a := start(t)
	sim.Clock.Set(today)
	res, err := a.Deliver(t.Context(), request(vendor.OptOut))
	if err != nil || res.Outcome != vendor.Delivered {
		t.Fatalf("Deliver with the default version = %+v, %v; want delivered", res, err)
	}
	if version, sunset := a.APIVersion(); version != linkedin.DefaultVersion || !sunset.After(today) {
		t.Errorf("APIVersion() = %s, %v; want the default, sunset after %v", version, sunset, today)
	}
}

// TestRetiredVersionIsPermanent: a version LinkedIn no longer serves fails every call
// alike, so the delivery is dead-lettered with a reason naming the version.
func TestRetiredVersionIsPermanent(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{})
	sim.Clock.Set(today)
	a, err := linkedin.New(linkedin.Config{BaseURL: sim.BaseURL("linkedin"), AccessToken: "AQX-token", SegmentID: "123456",
		Version: "202511", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Deliver(t.Context(), request(vendor.OptOut))
	ve := vendortest.WantError(t, err, vendor.Permanent, 426, 0)
	if !strings.Contains(ve.Msg, "202511") || !strings.Contains(ve.Msg, "2026-11-16") {
		t.Errorf("error %q does not name the version and its sunset", ve.Msg)
	}
	vendortest.NoPII(t, err, "lovelace", emailHash)
}

// TestElementStatusDecides: BATCH_CREATE answers 200 with a status per element; an
// element LinkedIn rejected is not delivered, whatever the call's status.
func TestElementStatusDecides(t *testing.T) {
	sim, a := start(t)
	sim.MustFault(t, vendorsim.Fault{Vendor: "linkedin", Mode: vendorsim.ModePartial})
	res, err := a.Deliver(t.Context(), request(vendor.DeleteUser))
	vendortest.WantError(t, err, vendor.Permanent, 400, 0)
	if res.Outcome == vendor.Delivered {
		t.Errorf("result %+v: a rejected element was taken as delivered", res)
	}
	vendortest.CheckCall(t, sim.OnlyCall(t), vendortest.Want{Status: 200})
}

func TestSunset(t *testing.T) {
	for version, want := range map[string]time.Time{
		"202511": time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), // published
		"202603": time.Date(2027, 3, 16, 0, 0, 0, 0, time.UTC),  // published
		"202606": time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC),   // a year from its month
	} {
		if got, ok := linkedin.Sunset(version); !ok || !got.Equal(want) {
			t.Errorf("Sunset(%s) = %v, %v; want %v", version, got, ok, want)
		}
	}
	if _, ok := linkedin.Sunset("2026-06"); ok {
		t.Error("Sunset accepted a malformed version")
	}
	override := time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)
	a, err := linkedin.New(linkedin.Config{BaseURL: "https://api.linkedin.com", AccessToken: "t", SegmentID: "1", Version: "202606", VersionSunset: override})
	if err != nil {
		t.Fatal(err)
	}
	if v, s := a.APIVersion(); v != "202606" || !s.Equal(override) {
		t.Errorf("APIVersion() = %s, %v; want 202606 with the configured sunset %v", v, s, override)
	}
}

// TestDeliverBatch: one BATCH_CREATE carries every removal, one element each, and each
// element's status decides its own delivery: a rejected element fails only its own.
func TestDeliverBatch(t *testing.T) {
	sim, a := start(t)
	bob := "bob@example.com"
	sim.MustFault(t, vendorsim.Fault{Vendor: "linkedin", Mode: vendorsim.ModeReject, Item: linkedin.HashEmail(bob)})
	reqs := []vendor.Request{request(vendor.OptOut), request(vendor.DeleteUser), request(vendor.OptOut), request(vendor.OptOut)}
	reqs[1].IDs.Email = bob
	reqs[2].IDs.Email = "" // no email: nothing to remove
	reqs[3].IDs.Email = "cat@example.com"
	outs, err := a.DeliverBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 4 {
		t.Fatalf("%d outcomes for 4 requests", len(outs))
	}
	if outs[0].Err != nil || outs[0].Result.Outcome != vendor.Delivered || outs[3].Err != nil || outs[3].Result.Outcome != vendor.Delivered {
		t.Errorf("the accepted elements: %+v, %+v; want delivered", outs[0], outs[3])
	}
	if e := vendor.Classify(outs[1].Err); e == nil || e.Kind != vendor.Permanent {
		t.Errorf("the rejected element: %+v, want a permanent error", outs[1])
	}
	if outs[2].Err != nil || outs[2].Result.Outcome != vendor.Skipped {
		t.Errorf("the request without an email: %+v, want skipped", outs[2])
	}
	calls := sim.CallsTo("linkedin")
	if len(calls) != 1 {
		t.Fatalf("%d calls, want one", len(calls))
	}
	var body struct {
		Elements []struct {
			Action  string `json:"action"`
			UserIDs []struct {
				IDValue string `json:"idValue"`
			} `json:"userIds"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(calls[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Elements) != 3 || body.Elements[0].UserIDs[0].IDValue != emailHash || body.Elements[1].Action != "REMOVE" {
		t.Errorf("sent %s, want three REMOVE elements in request order", calls[0].Body)
	}
}
