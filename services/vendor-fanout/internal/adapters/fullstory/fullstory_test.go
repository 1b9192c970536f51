package fullstory_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/fullstory"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// uid needs query escaping.
const uid = "fs user&7"

func start(t *testing.T) (*vendortest.Sim, *fullstory.Adapter) {
	t.Helper()
	sim := vendortest.Start(t, vendorsim.Options{JobDelay: time.Minute})
	a, err := fullstory.New(fullstory.Config{BaseURL: sim.BaseURL("fullstory"), APIKey: "na1.admin-key", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return sim, a
}

func request() vendor.Request {
	return vendor.Request{
		Action:         vendor.DeleteUser,
		IdempotencyKey: "evt-1:fullstory:delete_user",
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs:            vendor.Identifiers{SubjectID: "subject-1", Email: "ada@example.com", VendorIDs: map[string]string{"fullstory": uid}},
		EventID:        "evt-1",
	}
}

func TestNew(t *testing.T) {
	_, err := fullstory.New(fullstory.Config{})
	for _, field := range []string{"BaseURL", "APIKey"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("New(empty) error = %v, want it to name %s", err, field)
		}
	}
}

func TestSupports(t *testing.T) {
	_, a := start(t)
	for action, want := range map[vendor.Action]bool{vendor.DeleteUser: true, vendor.OptOut: false, vendor.UpdateConsent: false} {
		if a.Supports(action) != want {
			t.Errorf("Supports(%s) = %v, want %v", action, !want, want)
		}
	}
}

// TestDeleteAndPoll follows a deletion from request to completion, then repeats it:
// once the user is gone FullStory answers 404, its "already done".
func TestDeleteAndPoll(t *testing.T) {
	sim, a := start(t)
	req := request()
	res, err := a.Deliver(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != vendor.Accepted || res.Reference != "is_being_deleted" || res.HTTPStatus != 200 {
		t.Errorf("result = %+v, want accepted with reference is_being_deleted", res)
	}
	query := url.Values{"uid": {uid}}.Encode()
	vendortest.CheckCall(t, sim.OnlyCall(t), vendortest.Want{
		Method: "DELETE", Path: "/fullstory/v2/users", Query: query, IdempotencyKey: req.IdempotencyKey, Status: 200,
	})

	for _, step := range []struct {
		advance time.Duration
		done    bool
	}{{0, false}, {59 * time.Second, false}, {time.Second, true}} {
		sim.Clock.Advance(step.advance)
		done, err := a.Poll(t.Context(), req, res.Reference)
		if err != nil || done != step.done {
			t.Fatalf("after %v more: Poll = %v, %v; want %v", step.advance, done, err, step.done)
		}
		calls := sim.Calls()
		vendortest.CheckCall(t, calls[len(calls)-1], vendortest.Want{Method: "GET", Path: "/fullstory/v2/users", Query: query})
	}

	res, err = a.Deliver(t.Context(), req)
	if err != nil || res.Outcome != vendor.AlreadyDone || res.HTTPStatus != 404 {
		t.Errorf("repeat: %+v, %v; want already done (404)", res, err)
	}
}

func TestPollNeedsTheUID(t *testing.T) {
	sim, a := start(t)
	req := request()
	req.IDs = vendor.Identifiers{}
	_, err := a.Poll(t.Context(), req, "is_being_deleted")
	vendortest.WantError(t, err, vendor.Permanent, 0, 0)
	_, err = a.Poll(t.Context(), request(), "job:1")
	vendortest.WantError(t, err, vendor.Permanent, 0, 0)
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestNoUserIDSkips(t *testing.T) {
	sim, a := start(t)
	req := request()
	req.IDs = vendor.Identifiers{Email: "ada@example.com"}
	res, err := a.Deliver(t.Context(), req)
	if err != nil || res.Outcome != vendor.Skipped || !strings.Contains(res.Detail, "user id") {
		t.Errorf("Deliver = %+v, %v; want skipped naming the user id", res, err)
	}
	if n := len(sim.Calls()); n != 0 {
		t.Errorf("%d calls made, want none", n)
	}
}

func TestFaults(t *testing.T) {
	sim, a := start(t)
	t.Run("deliver", func(t *testing.T) {
		vendortest.RunFaults(t, sim, vendortest.StandardFaults("fullstory"), func(ctx context.Context) error {
			_, err := a.Deliver(ctx, request())
			return err
		}, uid, "fs user", "fs+user")
	})
	t.Run("poll", func(t *testing.T) {
		vendortest.RunFaults(t, sim, vendortest.StandardFaults("fullstory"), func(ctx context.Context) error {
			_, err := a.Poll(ctx, request(), "is_being_deleted")
			return err
		}, uid, "fs user", "fs+user")
	})
}

func TestCancel(t *testing.T) {
	sim, a := start(t)
	vendortest.RunCancel(t, sim, "fullstory", func(ctx context.Context) error {
		_, err := a.Poll(ctx, request(), "is_being_deleted")
		return err
	})
}

// TestPollUserNotBeingDeleted: a user FullStory still lists and is not deleting is not
// done; the error says why, for the delivery's last error.
func TestPollUserNotBeingDeleted(t *testing.T) {
	sim, a := start(t)
	done, err := a.Poll(t.Context(), request(), fullstory.Reference)
	if done {
		t.Fatal("Poll = done for a user FullStory lists and is not deleting")
	}
	ve := vendortest.WantError(t, err, vendor.Transient, 200, 0)
	if !strings.Contains(ve.Msg, "not being deleted") {
		t.Errorf("error %q does not say the user is not being deleted", ve.Msg)
	}
	vendortest.NoPII(t, err, uid, "fs user", "fs+user")
	vendortest.CheckCall(t, sim.OnlyCall(t), vendortest.Want{Method: "GET", Path: "/fullstory/v2/users", Query: url.Values{"uid": {uid}}.Encode(), Status: 200})
}
