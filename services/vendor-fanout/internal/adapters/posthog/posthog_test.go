package posthog_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/devstack/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/posthog"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

const distinctID = "ph-distinct-9"

func start(t *testing.T) (*vendortest.Sim, *posthog.Adapter) {
	t.Helper()
	sim := vendortest.Start(t, vendorsim.Options{})
	a, err := posthog.New(posthog.Config{BaseURL: sim.BaseURL("posthog"), APIKey: "phx_test", ProjectID: "7", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return sim, a
}

func request() vendor.Request {
	return vendor.Request{
		Action:         vendor.DeleteUser,
		IdempotencyKey: "evt-1:posthog:delete_user",
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs:            vendor.Identifiers{SubjectID: "subject-1", Email: "ada@example.com", VendorIDs: map[string]string{"posthog": distinctID}},
		EventID:        "evt-1",
	}
}

func TestNew(t *testing.T) {
	_, err := posthog.New(posthog.Config{})
	for _, field := range []string{"BaseURL", "APIKey", "ProjectID"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("New(empty) error = %v, want it to name %s", err, field)
		}
	}
}

func TestSupports(t *testing.T) {
	_, a := start(t)
	for action, want := range map[vendor.Action]bool{vendor.DeleteUser: true, vendor.OptOut: false, vendor.SuppressEmail: false} {
		if a.Supports(action) != want {
			t.Errorf("Supports(%s) = %v, want %v", action, !want, want)
		}
	}
}

// The first delete is accepted; the repeat finds no person: PostHog's "already done".
func TestDeleteUser(t *testing.T) {
	sim, a := start(t)
	req := request()
	for i, want := range []vendor.Outcome{vendor.Accepted, vendor.AlreadyDone} {
		res, err := a.Deliver(t.Context(), req)
		if err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		if res.Outcome != want || res.HTTPStatus != 202 {
			t.Errorf("call %d: result = %+v, want %s 202", i+1, res, want)
		}
		if res.Reference != "" || strings.Contains(res.Detail, distinctID) {
			t.Errorf("call %d: result = %+v: no reference, and no identifier in Detail", i+1, res)
		}
	}
	calls := sim.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	vendortest.CheckCall(t, calls[0], vendortest.Want{
		Method: "POST", Path: "/posthog/api/projects/7/persons/bulk_delete/", IdempotencyKey: req.IdempotencyKey, Status: 202,
	})
	body := vendortest.JSONBody(t, calls[0])
	ids, _ := body["distinct_ids"].([]any)
	if !slices.Equal(ids, []any{distinctID}) || body["delete_events"] != true || body["delete_recordings"] != true || body["ids"] != nil {
		t.Errorf("body = %v, want distinct_ids [%s] with delete_events and delete_recordings", body, distinctID)
	}
}

func TestNotAPoller(t *testing.T) {
	_, a := start(t)
	if _, ok := any(a).(vendor.Poller); ok {
		t.Error("the adapter is a Poller, but PostHog gives no handle to poll by")
	}
}

func TestNoUserIDSkips(t *testing.T) {
	sim, a := start(t)
	req := request()
	req.IDs = vendor.Identifiers{Email: "ada@example.com"}
	res, err := a.Deliver(t.Context(), req)
	if err != nil || res.Outcome != vendor.Skipped || !strings.Contains(res.Detail, "distinct id") {
		t.Errorf("Deliver = %+v, %v; want skipped naming the distinct id", res, err)
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestFaults(t *testing.T) {
	sim, a := start(t)
	vendortest.RunFaults(t, sim, vendortest.StandardFaults("posthog"), func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request())
		return err
	}, distinctID, "ada@example.com")
}

func TestCancel(t *testing.T) {
	sim, a := start(t)
	vendortest.RunCancel(t, sim, "posthog", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request())
		return err
	})
}
