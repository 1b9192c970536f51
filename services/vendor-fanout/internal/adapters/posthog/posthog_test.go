package posthog_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
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

// The first delete looks the person up, deletes by UUID and is accepted with the UUID
// as reference; the repeat finds no person: PostHog's "already done".
func TestDeleteUser(t *testing.T) {
	sim, a := start(t)
	req := request()
	res, err := a.Deliver(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != vendor.Accepted || res.HTTPStatus != 202 || !strings.HasPrefix(res.Reference, "person:") {
		t.Fatalf("first delete = %+v, want accepted with a person reference", res)
	}
	if strings.Contains(res.Reference+res.Detail, distinctID) {
		t.Errorf("result %+v carries the distinct id", res)
	}
	if res, err := a.Deliver(t.Context(), req); err != nil || res.Outcome != vendor.AlreadyDone {
		t.Errorf("repeat = %+v, %v; want already done", res, err)
	}
	calls := sim.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3 (lookup, delete, lookup)", len(calls))
	}
	vendortest.CheckCall(t, calls[0], vendortest.Want{Method: "GET", Path: "/posthog/api/projects/7/persons/", Status: 200})
	if calls[0].Query != "distinct_id="+distinctID {
		t.Errorf("lookup query %q", calls[0].Query)
	}
	vendortest.CheckCall(t, calls[1], vendortest.Want{
		Method: "POST", Path: "/posthog/api/projects/7/persons/bulk_delete/", IdempotencyKey: req.IdempotencyKey, Status: 202,
	})
	body := vendortest.JSONBody(t, calls[1])
	ids, _ := body["ids"].([]any)
	if !slices.Equal(ids, []any{strings.TrimPrefix(res.Reference, "person:")}) || body["delete_events"] != true ||
		body["delete_recordings"] != true || body["distinct_ids"] != nil {
		t.Errorf("body = %v, want ids [the person's uuid] with delete_events and delete_recordings", body)
	}
}

// TestPollFollowsDeletionStatus: the queued event deletion is pending until PostHog's
// batch runs (JobDelay in the simulator), then done.
func TestPollFollowsDeletionStatus(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{JobDelay: time.Minute})
	a, err := posthog.New(posthog.Config{BaseURL: sim.BaseURL("posthog"), APIKey: "phx_test", ProjectID: "7", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Deliver(t.Context(), request())
	if err != nil {
		t.Fatal(err)
	}
	if done, err := a.Poll(t.Context(), request(), res.Reference); err != nil || done {
		t.Fatalf("poll before the batch: %v, %v; want not done", done, err)
	}
	sim.Clock.Advance(2 * time.Minute)
	if done, err := a.Poll(t.Context(), request(), res.Reference); err != nil || !done {
		t.Errorf("poll after the batch: %v, %v; want done", done, err)
	}
	_, err = a.Poll(t.Context(), request(), "day:2026-01-01")
	vendortest.WantError(t, err, vendor.Permanent, 0, 0)
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

// TestNoStatusRowIsNotDone: newer PostHog queues a deletion before any deletion_status
// row exists. Until the row appears and completes the erasure is not done; the lane
// keeps polling until the delivery's deadline.
func TestNoStatusRowIsNotDone(t *testing.T) {
	sim := vendortest.Start(t, vendorsim.Options{JobDelay: time.Minute, PostHogStatusLag: time.Hour})
	a, err := posthog.New(posthog.Config{BaseURL: sim.BaseURL("posthog"), APIKey: "phx_test", ProjectID: "7", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Deliver(t.Context(), request())
	if err != nil || res.Outcome != vendor.Accepted {
		t.Fatalf("Deliver = %+v, %v; want accepted", res, err)
	}
	for _, step := range []struct {
		advance time.Duration
		done    bool
	}{{0, false}, {59 * time.Minute, false}, {time.Minute, false}, {time.Minute, true}} {
		sim.Clock.Advance(step.advance)
		done, err := a.Poll(t.Context(), request(), res.Reference)
		if err != nil || done != step.done {
			t.Fatalf("after %v more: Poll = %v, %v; want %v", step.advance, done, err, step.done)
		}
	}
}

// TestDeletionErrorsAreNotAccepted: bulk_delete answers 202 even when the person could
// not be deleted; deletion_errors says so, and the delivery is retried.
func TestDeletionErrorsAreNotAccepted(t *testing.T) {
	sim, a := start(t)
	sim.MustFault(t, vendorsim.Fault{Vendor: "posthog", Mode: vendorsim.ModePartial})
	res, err := a.Deliver(t.Context(), request())
	ve := vendortest.WantError(t, err, vendor.Transient, 202, 0)
	if !strings.Contains(ve.Msg, "deletion_errors: 1") || res.Outcome != "" {
		t.Errorf("Deliver = %+v, %v; want a transient error counting the deletion errors", res, err)
	}
	vendortest.NoPII(t, err, distinctID)
}
