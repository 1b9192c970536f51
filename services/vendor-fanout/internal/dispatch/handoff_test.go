package dispatch

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// handoffStore has nothing to claim: whatever a lane calls, it was handed.
type handoffStore struct {
	mu       sync.Mutex
	claims   int
	recorded []int64
	released []int64
}

func (s *handoffStore) Claim(context.Context, string, int, time.Duration) ([]fanout.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claims++
	return nil, nil
}

func (s *handoffStore) Record(_ context.Context, id int64, _ fanout.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded = append(s.recorded, id)
	return nil
}

func (s *handoffStore) Release(_ context.Context, ids []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = append(s.released, ids...)
	return nil
}

func (s *handoffStore) snapshot() (recorded, released []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recorded), slices.Clone(s.released)
}

func handoffLane(store *handoffStore, a vendor.Adapter) *Lane {
	p := DefaultPolicy()
	return NewLane(LaneConfig{Instance: "v", Adapter: a, RatePerSecond: 10, Burst: 10, Concurrency: 1, Policy: p},
		Deps{Store: store, Opener: noIdentifiers{}, Serde: receiptEncoder{}, Log: slog.New(slog.DiscardHandler)})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Deliveries planned already leased to the lane are called without being claimed from
// the database; one whose lease is too far gone is not called (another dispatcher may
// have claimed it by now), and the lane's room is bounded.
func TestHandedDeliveriesAreCalledWithoutAClaim(t *testing.T) {
	store := &handoffStore{}
	a := &countingAdapter{}
	l := handoffLane(store, a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()

	fresh, stale := delivery(), delivery()
	fresh.ID, stale.ID = 1, 2
	if rejected := l.Offer([]fanout.Delivery{stale}, time.Now().Add(time.Second)); len(rejected) != 0 {
		t.Fatalf("rejected %v", rejected)
	}
	if rejected := l.Offer([]fanout.Delivery{fresh}, time.Now().Add(l.cfg.Policy.Lease)); len(rejected) != 0 {
		t.Fatalf("rejected %v", rejected)
	}
	waitUntil(t, "the handed delivery's result", func() bool { r, _ := store.snapshot(); return len(r) == 1 })
	if r, _ := store.snapshot(); r[0] != fresh.ID {
		t.Errorf("recorded %v, want only the fresh delivery %d", r, fresh.ID)
	}

	// Room is what the lane calls in half a lease: 10/s × 60 s.
	many := make([]fanout.Delivery, 700)
	for i := range many {
		many[i] = delivery()
		many[i].ID = int64(100 + i)
	}
	l.throttledUntil.Store(time.Now().Add(time.Hour).UnixNano()) // hold the lane still
	rejected := l.Offer(many, time.Now().Add(l.cfg.Policy.Lease))
	if len(rejected) != 100 || rejected[0].ID != 700 {
		t.Errorf("rejected %d deliveries, want the last 100 of 700 (room 600)", len(rejected))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A stopped lane gives back what it held, and takes nothing more.
	if _, released := store.snapshot(); len(released) != 600 {
		t.Errorf("released %d handed deliveries on stop, want 600", len(released))
	}
	if rejected := l.Offer([]fanout.Delivery{fresh}, time.Now().Add(l.cfg.Policy.Lease)); len(rejected) != 1 {
		t.Errorf("a stopped lane took a delivery")
	}
	if got := a.calls.Load(); got != 1 {
		t.Errorf("%d vendor calls, want 1", got)
	}
}

// A lane woken by a handoff calls what it was handed without asking the database: that
// empty claim, once per planned batch per lane, made an action's cost grow with the
// number of vendors. A Wake (rows only the database holds) still sends it there.
func TestHandoffsDoNotSendTheLaneToTheDatabase(t *testing.T) {
	store := &handoffStore{}
	l := handoffLane(store, &countingAdapter{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}()
	claims := func() int { store.mu.Lock(); defer store.mu.Unlock(); return store.claims }
	waitUntil(t, "the lane's first claim", func() bool { return claims() >= 1 })

	start := time.Now()
	const handoffs = 30
	for i := range handoffs {
		d := delivery()
		d.ID = int64(i + 1)
		l.Offer([]fanout.Delivery{d}, time.Now().Add(l.cfg.Policy.Lease))
		waitUntil(t, "the handed delivery's result", func() bool { r, _ := store.snapshot(); return len(r) == i+1 })
	}
	// Besides the first claim, only the idle poll may have looked in the database.
	if got, most := claims(), 2+int(time.Since(start)/idlePoll); got > most {
		t.Errorf("%d claims for %d handoffs, want at most %d (the first and one per %v idle poll)", got, handoffs, most, idlePoll)
	}

	before := claims()
	l.Wake()
	waitUntil(t, "a claim after Wake", func() bool { return claims() > before })
}
