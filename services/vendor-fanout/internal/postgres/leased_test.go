package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// consentEvent is one consent decision for subject and its delivery to instance.
func consentEvent(t *testing.T, instance, subject string) (fanout.Decision, fanout.Delivery) {
	t.Helper()
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	return fanout.Decision{EventID: id, Tenant: "consumer", SubjectKey: subject, Kind: fanout.KindConsent,
			Purposes: map[string]string{"analytics": "denied"}, OccurredAt: at, RecordedAt: at, PolicyVersion: "2025-04-09"},
		fanout.Delivery{EventID: id, Instance: instance, Action: "opt_out", Tenant: "consumer", SubjectKey: subject,
			OccurredAt: at, PolicyVersion: "2025-04-09", Deadline: at.Add(48 * time.Hour)}
}

func ids(ds []fanout.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// Planning leases to the planner only what may be called at once: the first delivery of
// each subject with nothing pending before it. A planner that dies holding them loses
// nothing: once the lease ends another dispatcher claims them, and one subject's
// deliveries still go out in order.
func TestPlanLeasedHandsOutWhatMayBeCalledAndALostLeaseComesBack(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	// Subject c already has a delivery waiting in the lane.
	cDec, cDel := consentEvent(t, "hubspot", "c")
	if err := s.Plan(ctx, []fanout.Decision{cDec}, []fanout.Delivery{cDel}); err != nil {
		t.Fatal(err)
	}
	var (
		decisions []fanout.Decision
		ds        []fanout.Delivery
	)
	for _, subject := range []string{"a", "a", "b", "c"} {
		dec, del := consentEvent(t, "hubspot", subject)
		decisions, ds = append(decisions, dec), append(ds, del)
	}
	const lease = 2 * time.Second
	leased, err := s.PlanLeased(ctx, decisions, ds, lease)
	if err != nil {
		t.Fatal(err)
	}
	if len(leased) != 2 || leased[0].EventID != ds[0].EventID || leased[1].EventID != ds[2].EventID {
		t.Fatalf("leased %+v, want a's first delivery and b's (a's second waits for its first, c's for the one before)", leased)
	}
	if leased[0].Sealed != nil || leased[0].Deadline.IsZero() || leased[0].State != fanout.Pending {
		t.Errorf("a leased delivery came back without its columns: %+v", leased[0])
	}
	// The same batch again (Kafka redelivered it) plans and leases nothing.
	if again, err := s.PlanLeased(ctx, decisions, ds, lease); err != nil || len(again) != 0 {
		t.Fatalf("replanning leased %d (%v)", len(again), err)
	}

	// The planner dies here, holding the leases. Another dispatcher's claim finds only
	// c's older delivery until the leases end, then a's first and b's, never a's second
	// before a's first is done.
	claimed, err := s.Claim(ctx, "hubspot", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].EventID != cDel.EventID {
		t.Fatalf("claimed %+v while the planner's leases run, want c's older delivery only", claimed)
	}
	var got []fanout.Delivery
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the leased deliveries never came back; claimed %+v", got)
		}
		more, err := s.Claim(ctx, "hubspot", 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, more...)
		time.Sleep(50 * time.Millisecond)
	}
	// A claim's RETURNING has no order of its own.
	slices.SortFunc(got, func(a, b fanout.Delivery) int { return int(a.ID - b.ID) })
	if !slices.Equal(ids(got), ids(leased)) {
		t.Fatalf("after the lease ended another dispatcher claimed %v, want the leased %v", ids(got), ids(leased))
	}
	for _, d := range got {
		if err := s.Record(ctx, d.ID, fanout.Result{State: fanout.Done, Outcome: "delivered", CountAttempt: true}); err != nil {
			t.Fatal(err)
		}
	}
	next, err := s.Claim(ctx, "hubspot", 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 1 || next[0].EventID != ds[1].EventID {
		t.Errorf("after a's first was delivered the claim found %+v, want a's second", next)
	}
}

// A lane that will not call what it was handed releases it for any dispatcher at once.
func TestReleasedLeasesAreClaimableAtOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	dec, del := consentEvent(t, "hubspot", "a")
	leased, err := s.PlanLeased(ctx, []fanout.Decision{dec}, []fanout.Delivery{del}, time.Hour)
	if err != nil || len(leased) != 1 {
		t.Fatalf("leased %d (%v)", len(leased), err)
	}
	if c, err := s.Claim(ctx, "hubspot", 10, time.Minute); err != nil || len(c) != 0 {
		t.Fatalf("claimed %d leased deliveries (%v)", len(c), err)
	}
	if err := s.Release(ctx, ids(leased)); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Claim(ctx, "hubspot", 10, time.Minute); err != nil || len(c) != 1 {
		t.Fatalf("claimed %d released deliveries (%v), want 1", len(c), err)
	}
}
