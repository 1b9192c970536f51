package amplitude_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/amplitude"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/vendortest"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

const (
	userID = "amp-user-7"
	// day is when the simulator schedules a batch made at vendortest's start time:
	// ten days out (docs/vendors/amplitude.md).
	day = "2026-03-12"
)

func start(t *testing.T) (*vendortest.Sim, *amplitude.Adapter) {
	t.Helper()
	// The simulator keeps Amplitude's one request a second: tests advance the clock by
	// a second between calls.
	sim := vendortest.Start(t, vendorsim.Options{JobDelay: time.Minute, AmplitudeUnknownUsers: []string{"never-seen"}})
	a, err := amplitude.New(amplitude.Config{BaseURL: sim.BaseURL("amplitude"), APIKey: "key", SecretKey: "secret", Now: sim.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return sim, a
}

func request() vendor.Request {
	return vendor.Request{
		Action:         vendor.DeleteUser,
		IdempotencyKey: "evt-1:amplitude:delete_user",
		Tenant:         "acme",
		SubjectKey:     "sk-1",
		IDs:            vendor.Identifiers{SubjectID: "subject-1", Email: "ada@example.com", VendorIDs: map[string]string{"amplitude": userID}},
		EventID:        "evt-1",
	}
}

func TestNew(t *testing.T) {
	_, err := amplitude.New(amplitude.Config{})
	for _, field := range []string{"BaseURL", "APIKey", "SecretKey"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("New(empty) error = %v, want it to name %s", err, field)
		}
	}
	if _, err := amplitude.New(amplitude.Config{BaseURL: "https://amplitude.com", APIKey: "k", SecretKey: "s"}); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
}

func TestSupports(t *testing.T) {
	_, a := start(t)
	for _, action := range []vendor.Action{vendor.OptOut, vendor.SuppressEmail, vendor.Restrict, vendor.UpdateConsent} {
		if a.Supports(action) {
			t.Errorf("Supports(%s) = true", action)
		}
	}
	if !a.Supports(vendor.DeleteUser) {
		t.Error("Supports(delete_user) = false")
	}
}

func TestDeleteUser(t *testing.T) {
	tests := []struct {
		name      string
		vendorIDs map[string]string
		wantID    string
	}{
		{"amplitude's own user id", map[string]string{"amplitude": userID}, userID},
		{"falls back to the subject id", nil, "subject-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim, a := start(t)
			req := request()
			req.IDs.VendorIDs = tc.vendorIDs
			res, err := a.Deliver(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != vendor.Accepted || res.Reference != "day:"+day || res.HTTPStatus != 200 {
				t.Errorf("result = %+v, want accepted with reference day:%s", res, day)
			}
			call := sim.OnlyCall(t)
			vendortest.CheckCall(t, call, vendortest.Want{
				Method: "POST", Path: "/amplitude/api/2/deletions/users", IdempotencyKey: req.IdempotencyKey, Status: 200,
			})
			body := vendortest.JSONBody(t, call)
			ids, _ := body["user_ids"].([]any)
			if !slices.Equal(ids, []any{tc.wantID}) || body["requester"] != "consentry" || body["ignore_invalid_id"] != true {
				t.Errorf("body = %v, want user_ids [%s], requester consentry, ignore_invalid_id true", body, tc.wantID)
			}
		})
	}
}

// A repeat joins the same staging batch, so it names the same day: Amplitude has no
// "already done" reply to tell it apart (idempotency is undocumented).
func TestRepeatJoinsTheSameJob(t *testing.T) {
	sim, a := start(t)
	for i := range 2 {
		sim.Clock.Advance(time.Second)
		res, err := a.Deliver(t.Context(), request())
		if err != nil || res.Reference != "day:"+day {
			t.Fatalf("call %d: %+v, %v", i+1, res, err)
		}
	}
}

func TestPoll(t *testing.T) {
	sim, a := start(t)
	req := request()
	res, err := a.Deliver(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// JobDelay is a minute: staging for the first half, submitted, then done. The
	// listing writes the status "Done", as Amplitude's field table does.
	for _, step := range []struct {
		advance time.Duration
		done    bool
	}{{time.Second, false}, {30 * time.Second, false}, {30 * time.Second, true}} {
		sim.Clock.Advance(step.advance)
		done, err := a.Poll(t.Context(), req, res.Reference)
		if err != nil || done != step.done {
			t.Fatalf("after %v more: Poll = %v, %v; want %v", step.advance, done, err, step.done)
		}
	}
	calls := sim.Calls()
	vendortest.CheckCall(t, calls[len(calls)-1], vendortest.Want{
		Method: "GET", Path: "/amplitude/api/2/deletions/users", Query: "end_day=" + day + "&start_day=" + day, Status: 200,
	})
}

// Every deletion of a day joins that day's one job, whose listing grows with each: the
// deliveries polling it share one request, and a done day is not asked about again.
func TestPollsOfOneDayShareRequests(t *testing.T) {
	sim, a := start(t)
	res, err := a.Deliver(t.Context(), request())
	if err != nil {
		t.Fatal(err)
	}
	before := len(sim.Calls())
	sim.Clock.Advance(time.Second)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if done, err := a.Poll(t.Context(), request(), res.Reference); err != nil || done {
				t.Errorf("Poll = %v, %v; want not done yet", done, err)
			}
		}()
	}
	wg.Wait()
	if n := len(sim.Calls()) - before; n != 1 {
		t.Errorf("20 deliveries polling one day made %d requests, want 1", n)
	}
	sim.Clock.Advance(2 * time.Minute)
	for range 3 {
		if done, err := a.Poll(t.Context(), request(), res.Reference); err != nil || !done {
			t.Fatalf("Poll after the job ran = %v, %v; want done", done, err)
		}
	}
	if n := len(sim.Calls()) - before; n != 2 {
		t.Errorf("%d requests in all, want 2: a done day is not asked again", n)
	}
}

func TestPollBadReference(t *testing.T) {
	sim, a := start(t)
	for _, ref := range []string{"", "job:42", "day:tomorrow", "day:2026-03-13"} {
		_, err := a.Poll(t.Context(), request(), ref)
		vendortest.WantError(t, err, vendor.Permanent, 0, 0)
	}
	// Only the last, well-formed reference reaches Amplitude, and finds no job.
	if n := len(sim.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
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
		vendortest.RunFaults(t, sim, vendortest.StandardFaults("amplitude"), func(ctx context.Context) error {
			_, err := a.Deliver(ctx, request())
			return err
		}, userID, "ada@example.com")
	})
	t.Run("poll", func(t *testing.T) {
		vendortest.RunFaults(t, sim, vendortest.StandardFaults("amplitude"), func(ctx context.Context) error {
			_, err := a.Poll(ctx, request(), "day:"+day)
			return err
		}, userID)
	})
}

func TestCancel(t *testing.T) {
	sim, a := start(t)
	vendortest.RunCancel(t, sim, "amplitude", func(ctx context.Context) error {
		_, err := a.Deliver(ctx, request())
		return err
	})
}

// TestUnknownUserIsAlreadyDone: a user id the project never saw comes back in
// invalid_ids (we send ignore_invalid_id), with no job to wait for: nothing is held.
func TestUnknownUserIsAlreadyDone(t *testing.T) {
	sim, a := start(t)
	req := request()
	req.IDs.VendorIDs = map[string]string{"amplitude": "never-seen"}
	res, err := a.Deliver(t.Context(), req)
	if err != nil || res.Outcome != vendor.AlreadyDone || res.HTTPStatus != 200 {
		t.Fatalf("Deliver = %+v, %v; want already done (200)", res, err)
	}
	if strings.Contains(res.Detail, "never-seen") {
		t.Errorf("detail %q holds the user id", res.Detail)
	}
	vendortest.CheckCall(t, sim.OnlyCall(t), vendortest.Want{Method: "POST", Status: 200})
}

// TestOverTheRateLimitIsThrottled: Amplitude takes one request a second; a second call
// within it is throttled, not failed.
func TestOverTheRateLimitIsThrottled(t *testing.T) {
	sim, a := start(t)
	res, err := a.Deliver(t.Context(), request())
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Poll(t.Context(), request(), res.Reference)
	vendortest.WantError(t, err, vendor.Throttled, 429, 0)
	sim.Clock.Advance(time.Second)
	if _, err := a.Poll(t.Context(), request(), res.Reference); err != nil {
		t.Errorf("Poll a second later = %v", err)
	}
}

// TestDeliverBatch: one deletion request carries every user id; each delivery is
// decided by the answer — accepted on the job's day, already done when Amplitude lists
// the id in invalid_ids, skipped without an id — and a refused request is marked Whole,
// since Amplitude's 400 names no id.
func TestDeliverBatch(t *testing.T) {
	sim, a := start(t)
	reqs := []vendor.Request{request(), request(), request(), request()}
	reqs[1].IDs.VendorIDs = map[string]string{"amplitude": "never-seen"}
	reqs[2].IDs = vendor.Identifiers{}
	reqs[3].IDs.VendorIDs = map[string]string{"amplitude": "amp-user-8"}
	outs, err := a.DeliverBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []vendor.Outcome{vendor.Accepted, vendor.AlreadyDone, vendor.Skipped, vendor.Accepted}
	for i, o := range outs {
		if o.Err != nil || o.Result.Outcome != want[i] {
			t.Errorf("item %d: %+v, want %s", i, o, want[i])
		}
	}
	if outs[0].Result.Reference != "day:"+day || outs[3].Result.Reference != "day:"+day {
		t.Errorf("references %q, %q; want both day:%s", outs[0].Result.Reference, outs[3].Result.Reference, day)
	}
	if n := len(sim.CallsTo("amplitude")); n != 1 {
		t.Errorf("%d calls, want one", n)
	}

	sim.Clock.Advance(time.Second)
	sim.MustFault(t, vendorsim.Fault{Vendor: "amplitude", Mode: vendorsim.ModeReject, Item: "amp-user-8"})
	_, err = a.DeliverBatch(context.Background(), reqs)
	if e := vendor.Classify(err); e == nil || e.Kind != vendor.Permanent || !e.Whole {
		t.Errorf("a refused batch: %v, want a permanent error marked Whole", err)
	}
	sim.Clock.Advance(time.Second)
	_, err = a.Deliver(context.Background(), reqs[3])
	if e := vendor.Classify(err); e == nil || e.Kind != vendor.Permanent || e.Whole {
		t.Errorf("the refused id alone: %v, want a permanent error not marked Whole", err)
	}
}
