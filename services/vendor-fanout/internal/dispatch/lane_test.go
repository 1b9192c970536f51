package dispatch

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// These tests drive one attempt at a time through a lane with a scripted adapter, to pin
// the retry policy down: what counts as an attempt, when a delivery is dead-lettered,
// when an async job is given up on. The lanes' concurrency and isolation are tested
// end to end in the service's tests.

type scripted struct {
	deliver func() (vendor.Result, error)
	poll    func() (bool, error)
	patient bool
	calls   int
}

func (s *scripted) Supports(vendor.Action) bool { return true }
func (s *scripted) Deliver(context.Context, vendor.Request) (vendor.Result, error) {
	s.calls++
	return s.deliver()
}
func (s *scripted) Poll(context.Context, vendor.Request, string) (bool, error) { return s.poll() }

type patientScripted struct{ *scripted }

func (patientScripted) Patient() bool { return true }

type noIdentifiers struct{}

func (noIdentifiers) Open(context.Context, string, string, *schemas.Sealed) (seal.Identifiers, error) {
	return seal.Identifiers{Email: "x@example.com"}, nil
}

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func lane(a vendor.Adapter) *Lane {
	p := DefaultPolicy()
	p.BaseBackoff, p.MaxBackoff = time.Second, time.Minute
	return NewLane(LaneConfig{Instance: "v", Adapter: a, RatePerSecond: 1000, Burst: 1000, Concurrency: 1, Policy: p},
		Deps{Opener: noIdentifiers{}, Serde: receiptEncoder{}, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
}

func delivery() fanout.Delivery {
	return fanout.Delivery{ID: 1, EventID: "019ad0c4-8a2b-7c3d-9e4f-a1b2c3d4e5f6", Instance: "v", Action: "opt_out",
		Tenant: "consumer", SubjectKey: "sk", State: fanout.Pending, Deadline: now.Add(48 * time.Hour)}
}

func fail(e *vendor.Error) func() (vendor.Result, error) {
	return func() (vendor.Result, error) { return vendor.Result{}, e }
}

func TestRetryPolicy(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name        string
		err         *vendor.Error
		deadline    time.Time
		wantState   string
		wantCounted bool
		minWait     time.Duration
	}{
		{"transient: retried, counted", &vendor.Error{Kind: vendor.Transient, HTTPStatus: 503}, now.Add(time.Hour), fanout.Pending, true, 0},
		{"auth: retried, counted", &vendor.Error{Kind: vendor.Auth, HTTPStatus: 401}, now.Add(time.Hour), fanout.Pending, true, 0},
		{"throttled: not counted, waits at least Retry-After", &vendor.Error{Kind: vendor.Throttled, HTTPStatus: 429, RetryAfter: 90 * time.Second},
			now.Add(time.Hour), fanout.Pending, false, 90 * time.Second},
		{"permanent: dead at once", &vendor.Error{Kind: vendor.Permanent, HTTPStatus: 400}, now.Add(time.Hour), fanout.Dead, true, 0},
		{"deadline passed: dead, not dropped", &vendor.Error{Kind: vendor.Transient, HTTPStatus: 503}, now.Add(-time.Second), fanout.Dead, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := lane(&scripted{deliver: fail(c.err)})
			d := delivery()
			d.Deadline = c.deadline
			r := l.attempt(ctx, d)
			if r.State != c.wantState || r.CountAttempt != c.wantCounted {
				t.Fatalf("state %s counted %v, want %s %v (%+v)", r.State, r.CountAttempt, c.wantState, c.wantCounted, r)
			}
			if r.State == fanout.Pending && r.NextAttemptAt.Sub(now) < c.minWait {
				t.Errorf("retry in %v, want at least %v", r.NextAttemptAt.Sub(now), c.minWait)
			}
			if r.State == fanout.Dead && (r.Receipt == nil || r.Outcome != "dead_lettered") {
				t.Errorf("a dead letter without its receipt: %+v", r)
			}
		})
	}
}

func TestThrottlingGatesTheWholeLane(t *testing.T) {
	l := lane(&scripted{deliver: fail(&vendor.Error{Kind: vendor.Throttled, RetryAfter: time.Hour})})
	l.attempt(context.Background(), delivery())
	if l.gate() < 59*time.Minute {
		t.Errorf("after a Retry-After of an hour the lane may call again in %v", l.gate())
	}
	if st := l.Status(); st.ThrottledUntil.IsZero() {
		t.Error("the lane's status does not show it is throttled")
	}
}

// A lane claims several rounds of calls at once; those claimed before the vendor said
// 429 must wait for its Retry-After too, not call it anyway.
func TestDeliveriesClaimedBeforeThrottlingWaitForRetryAfter(t *testing.T) {
	a := &scripted{deliver: fail(&vendor.Error{Kind: vendor.Throttled, HTTPStatus: 429, RetryAfter: time.Hour})}
	l := lane(a)
	l.attempt(context.Background(), delivery())
	claimedEarlier := delivery()
	claimedEarlier.ID = 2
	r := l.attempt(context.Background(), claimedEarlier)
	if a.calls != 1 {
		t.Fatalf("the vendor was called %d times within its Retry-After, want once", a.calls)
	}
	if r.State != fanout.Pending || r.CountAttempt || r.NextAttemptAt.Sub(now) < 59*time.Minute {
		t.Errorf("the waiting delivery got %+v, want pending, no attempt counted, due after the Retry-After", r)
	}
}

func TestOpenBreakerMakesNoCallAndCountsNoAttempt(t *testing.T) {
	a := &scripted{deliver: fail(&vendor.Error{Kind: vendor.Transient, HTTPStatus: 503})}
	l := lane(a)
	for range 5 {
		l.attempt(context.Background(), delivery())
	}
	calls := a.calls
	r := l.attempt(context.Background(), delivery())
	if a.calls != calls {
		t.Fatalf("the adapter was called with the breaker open")
	}
	if r.State != fanout.Pending || r.CountAttempt {
		t.Errorf("breaker open: %+v, want pending and not counted", r)
	}
	if st := l.Status(); st.Breaker != "open" {
		t.Errorf("breaker %s after five failures, want open", st.Breaker)
	}
}

func TestAsyncJobsAreVerifiedOrGivenUpOnButTasksAreNot(t *testing.T) {
	ctx := context.Background()
	accepted := func() (vendor.Result, error) { return vendor.Result{Outcome: vendor.Accepted, Reference: "job:1"}, nil }
	notYet := func() (bool, error) { return false, nil }

	l := lane(&scripted{deliver: accepted, poll: notYet})
	r := l.attempt(ctx, delivery())
	if r.State != fanout.Polling || r.Receipt == nil {
		t.Fatalf("an accepted job: %+v, want polling with an accepted receipt", r)
	}
	polling := delivery()
	polling.State, polling.Reference = fanout.Polling, "job:1"
	if r := l.attempt(ctx, polling); r.State != fanout.Polling {
		t.Errorf("a job not done yet: %+v", r)
	}
	polling.Deadline = now.Add(-time.Second)
	if r := l.attempt(ctx, polling); r.State != fanout.Done || r.Outcome != "unverifiable" {
		t.Errorf("a job past its deadline: %+v, want done and unverifiable", r)
	}

	task := lane(patientScripted{&scripted{deliver: accepted, poll: notYet}})
	if r := task.attempt(ctx, polling); r.State != fanout.Polling {
		t.Errorf("a manual task past its deadline was given up on: %+v", r)
	}
	done := lane(&scripted{deliver: accepted, poll: func() (bool, error) { return true, nil }})
	if r := done.attempt(ctx, polling); r.State != fanout.Done || r.Outcome != "completed" {
		t.Errorf("a finished job: %+v, want completed", r)
	}
}

// A delivery whose subject's erasure completed first has no one left to name: it ends
// skipped, with its receipt, without calling the vendor — not a dead letter to chase.
func TestShreddedIdentifiersAreSkipped(t *testing.T) {
	vendorCalled := false
	l := lane(&scripted{deliver: func() (vendor.Result, error) { vendorCalled = true; return vendor.Result{}, nil }})
	l.deps.Opener = shredded{}
	d := delivery()
	d.Sealed = &schemas.Sealed{Scheme: seal.Scheme}
	r := l.attempt(context.Background(), d)
	if r.State != fanout.Done || r.Outcome != string(vendor.Skipped) || r.Receipt == nil || vendorCalled {
		t.Errorf("identifiers shredded: %+v (vendor called %v), want done/skipped with a receipt", r, vendorCalled)
	}
}

// A privacy request's own action replayed after its erasure was closed and the key
// destroyed (a dead letter replayed past the deadline) ends at once, without calling the
// vendor, and unverifiable: never skipped, which would count it carried out and turn the
// partial erasure into a completed one.
func TestAReplayAfterShreddingEndsUnverifiable(t *testing.T) {
	vendorCalled := false
	l := lane(&scripted{deliver: func() (vendor.Result, error) { vendorCalled = true; return vendor.Result{}, nil }})
	l.deps.Opener = shredded{}
	d := delivery()
	d.Action, d.RequestID, d.Sealed = "delete_user", d.EventID, &schemas.Sealed{Scheme: seal.Scheme}
	r := l.attempt(context.Background(), d)
	if r.State != fanout.Done || r.Outcome != "unverifiable" || r.Receipt == nil || vendorCalled {
		t.Errorf("a replayed erasure after shredding: %+v (vendor called %v), want done/unverifiable with a receipt", r, vendorCalled)
	}
	if slices.Contains(fanout.CarriedOut(), r.Outcome) {
		t.Errorf("outcome %s counts as carried out", r.Outcome)
	}
}

// receiptEncoder checks receipts are valid events and encodes them without a registry.
type receiptEncoder struct{}

func (receiptEncoder) EncodeMessage(topic, key string, e schemas.Event) (kafka.Message, error) {
	if err := schemas.Validate(e); err != nil {
		return kafka.Message{}, err
	}
	b, err := schemas.Encode(e)
	return kafka.Message{Topic: topic, Key: []byte(key), Value: b}, err
}

type shredded struct{}

func (shredded) Open(context.Context, string, string, *schemas.Sealed) (seal.Identifiers, error) {
	return seal.Identifiers{}, seal.ErrShredded
}

// slowStore hands out one batch and holds every Record until released, like a database
// whose commits lag behind the vendor.
type slowStore struct {
	batch    []fanout.Delivery
	claimed  atomic.Bool
	release  chan struct{}
	recorded atomic.Int32
}

func (s *slowStore) Claim(context.Context, string, int, time.Duration) ([]fanout.Delivery, error) {
	if s.claimed.Swap(true) {
		return nil, nil
	}
	return s.batch, nil
}

func (s *slowStore) Record(ctx context.Context, _ int64, _ fanout.Result) error {
	<-s.release
	s.recorded.Add(1)
	return nil
}

// countingAdapter records how many calls were in flight at most.
type countingAdapter struct {
	inFlight, most, calls atomic.Int32
}

func (c *countingAdapter) Supports(vendor.Action) bool { return true }
func (c *countingAdapter) Deliver(context.Context, vendor.Request) (vendor.Result, error) {
	n := c.inFlight.Add(1)
	for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	c.inFlight.Add(-1)
	c.calls.Add(1)
	return vendor.Result{Outcome: vendor.Accepted}, nil
}

// A lane's concurrency bounds the calls to the vendor, not the commits of their results:
// while the database is slow to record, the claimed calls still go out, never more at
// once than the concurrency, and every result is recorded in the end.
func TestSlowRecordsDoNotHoldCallSlots(t *testing.T) {
	const concurrency, n = 2, 8 // n fits in one claim (4 × concurrency)
	store := &slowStore{release: make(chan struct{})}
	for i := range n {
		d := delivery()
		d.ID = int64(i + 1)
		store.batch = append(store.batch, d)
	}
	a := &countingAdapter{}
	l := NewLane(LaneConfig{Instance: "v", Adapter: a, RatePerSecond: 1000, Burst: 1000, Concurrency: concurrency, Policy: DefaultPolicy()},
		Deps{Store: store, Opener: noIdentifiers{}, Serde: receiptEncoder{}, Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()

	deadline := time.Now().Add(60 * time.Second)
	for a.calls.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := a.calls.Load(); got != n {
		t.Errorf("%d of %d claimed calls went out while their records waited", got, n)
	}
	if most := a.most.Load(); most > concurrency {
		t.Errorf("%d calls at once, concurrency is %d", most, concurrency)
	}
	close(store.release)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := store.recorded.Load(); got != n {
		t.Errorf("%d of %d results recorded after shutdown", got, n)
	}
}

// Polls are vendor calls like deliveries: Amplitude counts its job GETs against the
// same one request a second as its deletions. A poll takes the lane's limiter token,
// and one claimed before the vendor said 429 waits for its Retry-After too.
func TestPollsShareTheLanesLimiterAndRetryAfter(t *testing.T) {
	polls := 0
	a := &scripted{
		deliver: func() (vendor.Result, error) { return vendor.Result{Outcome: vendor.Accepted, Reference: "job:1"}, nil },
		poll:    func() (bool, error) { polls++; return false, nil },
	}
	polling := delivery()
	polling.State, polling.Reference = fanout.Polling, "job:1"

	t.Run("limiter", func(t *testing.T) {
		l := lane(a)
		// One token per 100 s: the delivery takes it, so the poll would wait for the next.
		l.limiter.SetLimit(0.01)
		l.limiter.SetBurst(1)
		l.attempt(context.Background(), delivery())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r := l.attempt(ctx, polling)
		if polls != 0 {
			t.Errorf("the poll called the vendor without a token of the lane's limiter")
		}
		if r.State != fanout.Polling || r.CountAttempt {
			t.Errorf("result %+v, want still polling (not pending: a second delivery), no attempt counted", r)
		}
	})

	t.Run("retry-after", func(t *testing.T) {
		polls = 0
		l := lane(a)
		a.deliver = fail(&vendor.Error{Kind: vendor.Throttled, HTTPStatus: 429, RetryAfter: time.Hour})
		l.attempt(context.Background(), delivery())
		r := l.attempt(context.Background(), polling)
		if polls != 0 {
			t.Error("a poll called the vendor inside its Retry-After")
		}
		if r.State != fanout.Polling || r.NextAttemptAt.Sub(now) < 59*time.Minute || r.CountAttempt {
			t.Errorf("result %+v, want still polling, not before the Retry-After, no attempt counted", r)
		}
	})
}

// A vendor out of its quota that names no time (Salesforce's REQUEST_LIMIT_EXCEEDED,
// LinkedIn's 429) must be asked less and less often, not every second all day.
func TestThrottleWithoutRetryAfterGrowsPerConsecutiveThrottle(t *testing.T) {
	clock := now
	a := &scripted{deliver: fail(&vendor.Error{Kind: vendor.Throttled, HTTPStatus: 403, Msg: "REQUEST_LIMIT_EXCEEDED"})}
	l := lane(a)
	l.deps.Now = func() time.Time { return clock }
	var last time.Duration
	for i := range 5 {
		l.attempt(context.Background(), delivery())
		gate := l.gate()
		want := time.Second << i
		if gate < want {
			t.Fatalf("throttle %d: the lane may call again in %v, want at least %v", i+1, gate, want)
		}
		if gate <= last {
			t.Fatalf("throttle %d: wait %v did not grow from %v", i+1, gate, last)
		}
		last = gate
		clock = clock.Add(gate) // the gate opens; the vendor refuses again
	}
	if a.calls != 5 {
		t.Errorf("%d calls, want 5 (one per opened gate)", a.calls)
	}
	// Capped: many more throttles never wait longer than MaxThrottleWait.
	for range 30 {
		l.attempt(context.Background(), delivery())
		clock = clock.Add(l.gate())
	}
	l.attempt(context.Background(), delivery())
	if g := l.gate(); g > l.cfg.Policy.MaxThrottleWait+l.cfg.Policy.MaxBackoff {
		t.Errorf("wait %v exceeds the cap %v", g, l.cfg.Policy.MaxThrottleWait)
	}
	// A call that succeeds resets the count.
	a.deliver = func() (vendor.Result, error) { return vendor.Result{Outcome: vendor.Delivered}, nil }
	clock = clock.Add(l.gate())
	l.attempt(context.Background(), delivery())
	if n := l.throttles.Load(); n != 0 {
		t.Errorf("consecutive throttles after a success = %d, want 0", n)
	}
}

// HubSpot's DAILY 429 says when the quota resets (the account's midnight) without a
// Retry-After: the lane waits until then, for every delivery.
func TestThrottleWaitsUntilQuotaReset(t *testing.T) {
	reset := now.Add(7 * time.Hour)
	a := &scripted{deliver: fail(&vendor.Error{Kind: vendor.Throttled, HTTPStatus: 429, ResetAt: reset})}
	l := lane(a)
	r := l.attempt(context.Background(), delivery())
	if got := now.Add(l.gate()); got.Before(reset) {
		t.Errorf("the lane may call again at %v, before the quota resets at %v", got, reset)
	}
	if r.NextAttemptAt.Before(reset) || r.CountAttempt {
		t.Errorf("delivery retried at %v (counted %v), want ≥ %v and not counted", r.NextAttemptAt, r.CountAttempt, reset)
	}
	l.attempt(context.Background(), delivery())
	if a.calls != 1 {
		t.Errorf("the vendor was called %d times after saying its quota was spent, want 1", a.calls)
	}
	// The lane's status says so, for the operators' lanes view.
	if q := l.Status().Quota; q.SpentAt.IsZero() || !q.ResetAt.Equal(reset) || !strings.Contains(q.Reason, "429") {
		t.Errorf("status quota %+v, want spent, renewing at %v, naming the 429", q, reset)
	}
}

// A successful answer whose usage headers say the quota is spent (HubSpot's
// X-HubSpot-RateLimit-Daily-Remaining: 0, Salesforce's api-usage over the threshold)
// closes the gate before the vendor has to refuse.
func TestBrakeOnSuccessClosesTheGate(t *testing.T) {
	reset := now.Add(3 * time.Hour)
	a := &scripted{deliver: func() (vendor.Result, error) {
		return vendor.Result{Outcome: vendor.Delivered, Brake: &vendor.Brake{Until: reset, Reason: "daily remaining 0"}}, nil
	}}
	l := lane(a)
	if r := l.attempt(context.Background(), delivery()); r.State != fanout.Done {
		t.Fatalf("the braking call's delivery is %s, want done", r.State)
	}
	if got := now.Add(l.gate()); got.Before(reset) {
		t.Errorf("gate opens at %v, want not before %v", got, reset)
	}
	if q := l.Status().Quota; q.Reason != "daily remaining 0" || !q.ResetAt.Equal(reset) {
		t.Errorf("status quota %+v, want the brake's reason and reset", q)
	}
	// No reset known: the gate still closes, for a growing wait.
	a.deliver = func() (vendor.Result, error) {
		return vendor.Result{Outcome: vendor.Delivered, Brake: &vendor.Brake{Reason: "api-usage"}}, nil
	}
	l = lane(a)
	l.attempt(context.Background(), delivery())
	if l.gate() < time.Second {
		t.Errorf("gate %v after a brake without a reset, want ≥ 1s", l.gate())
	}
}
