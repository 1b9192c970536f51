package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/consentry/consentry/devkit/vendorsim"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/seal"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/adapters/amplitude"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// memStore is a delivery table in memory: Claim hands out each unrecorded delivery
// once, RecordAll and Record keep the results, and done closes once every delivery has
// one.
type memStore struct {
	mu       sync.Mutex
	rows     []fanout.Delivery
	claimed  map[int64]bool
	results  map[int64]fanout.Result
	recorded int // calls to RecordAll or Record
	done     chan struct{}
}

func newMemStore(rows []fanout.Delivery) *memStore {
	return &memStore{rows: rows, claimed: map[int64]bool{}, results: map[int64]fanout.Result{}, done: make(chan struct{})}
}

func (s *memStore) Claim(_ context.Context, _ string, limit int, _ time.Duration) ([]fanout.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []fanout.Delivery
	for _, d := range s.rows {
		if len(out) == limit {
			break
		}
		if !s.claimed[d.ID] {
			s.claimed[d.ID] = true
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *memStore) Record(ctx context.Context, id int64, r fanout.Result) error {
	return s.RecordAll(ctx, []fanout.Recorded{{ID: id, Result: r}})
}

func (s *memStore) RecordAll(_ context.Context, rs []fanout.Recorded) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded++
	for _, r := range rs {
		s.results[r.ID] = r.Result
	}
	if len(s.results) == len(s.rows) {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	return nil
}

// subjects opens subject key "sk-N" as user id "user-N".
type subjects struct{}

func (subjects) Open(_ context.Context, _, subjectKey string, _ *schemas.Sealed) (seal.Identifiers, error) {
	return seal.Identifiers{SubjectID: strings.Replace(subjectKey, "sk-", "user-", 1)}, nil
}

func erasures(t *testing.T, n int) []fanout.Delivery {
	t.Helper()
	out := make([]fanout.Delivery, n)
	for i := range out {
		id, err := eventid.New()
		if err != nil {
			t.Fatal(err)
		}
		req, err := eventid.New()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = fanout.Delivery{ID: int64(i + 1), EventID: id, Instance: "amplitude", Action: string(vendor.DeleteUser),
			Tenant: "consumer", SubjectKey: fmt.Sprintf("sk-%d", i+1), RequestID: req, State: fanout.Pending,
			Deadline: time.Now().Add(48 * time.Hour)}
	}
	return out
}

// runAmplitudeLane delivers rows through a batching Amplitude lane against the
// simulator until every delivery has a result.
func runAmplitudeLane(t *testing.T, sim *vendorsim.Simulator, rows []fanout.Delivery, reg *prometheus.Registry) *memStore {
	t.Helper()
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	a, err := amplitude.New(amplitude.Config{BaseURL: srv.URL + "/amplitude", APIKey: "k", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	store := newMemStore(rows)
	l := NewLane(LaneConfig{Instance: "amplitude", Adapter: a, RatePerSecond: 1000, Burst: 1000, Concurrency: 1, MaxBatch: 100,
		Policy: DefaultPolicy()},
		Deps{Store: store, Opener: subjects{}, Serde: receiptEncoder{}, Log: slog.New(slog.DiscardHandler), Metrics: NewMetrics(reg)})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })
	select {
	case <-store.done:
	case <-time.After(time.Minute):
		store.mu.Lock()
		defer store.mu.Unlock()
		t.Fatalf("after a minute %d of %d deliveries have a result", len(store.results), len(rows))
	}
	return store
}

// deletionCalls returns the user_ids of each deletion request the simulator received.
func deletionCalls(t *testing.T, sim *vendorsim.Simulator) [][]string {
	t.Helper()
	var out [][]string
	for _, c := range sim.Calls() {
		if c.Method != "POST" || c.Path != "/amplitude/api/2/deletions/users" {
			continue
		}
		var body struct {
			UserIDs []string `json:"user_ids"`
		}
		if err := json.Unmarshal(c.Body, &body); err != nil {
			t.Fatal(err)
		}
		out = append(out, body.UserIDs)
	}
	return out
}

// TestALaneBatchesAmplitudeDeletions: 250 due erasures make three deletion requests of
// at most 100 user ids (Amplitude's documented batch), not 250, and every delivery is
// decided on its own: accepted on the job's day, with its own receipt.
func TestALaneBatchesAmplitudeDeletions(t *testing.T) {
	sim := vendorsim.New(vendorsim.Options{NoRateLimits: true, JobDelay: time.Hour})
	rows := erasures(t, 250)
	reg := prometheus.NewRegistry()
	store := runAmplitudeLane(t, sim, rows, reg)

	calls := deletionCalls(t, sim)
	if len(calls) != 3 {
		t.Fatalf("%d deletion requests for 250 erasures, want 3", len(calls))
	}
	sent := map[string]int{}
	for _, ids := range calls {
		if len(ids) > 100 {
			t.Errorf("a request carried %d ids; Amplitude takes at most 100", len(ids))
		}
		for _, id := range ids {
			sent[id]++
		}
	}
	receipts := map[string]bool{}
	store.mu.Lock()
	defer store.mu.Unlock()
	for _, d := range rows {
		r := store.results[d.ID]
		if r.State != fanout.Polling || r.Outcome != "accepted" || !strings.HasPrefix(r.Reference, "day:") {
			t.Errorf("delivery %d: %s %s %q, want polling an accepted job day", d.ID, r.State, r.Outcome, r.Reference)
		}
		if r.Receipt == nil || receipts[string(r.Receipt.Value)] {
			t.Errorf("delivery %d has no receipt of its own", d.ID)
		} else {
			receipts[string(r.Receipt.Value)] = true
		}
		if uid := strings.Replace(d.SubjectKey, "sk-", "user-", 1); sent[uid] != 1 {
			t.Errorf("%s was sent %d times, want once", uid, sent[uid])
		}
	}
	if store.recorded != 3 {
		t.Errorf("results recorded in %d writes, want one per call: 3", store.recorded)
	}
	hist := `
# HELP consentry_fanout_batch_items Deliveries carried by each batch call to a vendor, per vendor.
# TYPE consentry_fanout_batch_items histogram
consentry_fanout_batch_items_bucket{vendor="amplitude",le="1"} 0
consentry_fanout_batch_items_bucket{vendor="amplitude",le="2"} 0
consentry_fanout_batch_items_bucket{vendor="amplitude",le="5"} 0
consentry_fanout_batch_items_bucket{vendor="amplitude",le="10"} 0
consentry_fanout_batch_items_bucket{vendor="amplitude",le="25"} 0
consentry_fanout_batch_items_bucket{vendor="amplitude",le="50"} 1
consentry_fanout_batch_items_bucket{vendor="amplitude",le="100"} 3
consentry_fanout_batch_items_bucket{vendor="amplitude",le="250"} 3
consentry_fanout_batch_items_bucket{vendor="amplitude",le="500"} 3
consentry_fanout_batch_items_bucket{vendor="amplitude",le="1000"} 3
consentry_fanout_batch_items_bucket{vendor="amplitude",le="5000"} 3
consentry_fanout_batch_items_bucket{vendor="amplitude",le="+Inf"} 3
consentry_fanout_batch_items_sum{vendor="amplitude"} 250
consentry_fanout_batch_items_count{vendor="amplitude"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(hist), "consentry_fanout_batch_items"); err != nil {
		t.Error(err)
	}
}

// TestOneRejectedIDFailsOnlyItsDelivery: Amplitude refuses a request holding a bad id
// with one 400 that names no id. The lane splits the batch until the id is alone: the
// other 99 erasures are accepted, the one is dead-lettered with its own receipt.
func TestOneRejectedIDFailsOnlyItsDelivery(t *testing.T) {
	sim := vendorsim.New(vendorsim.Options{NoRateLimits: true, JobDelay: time.Hour})
	if err := sim.SetFault(vendorsim.Fault{Vendor: "amplitude", Mode: vendorsim.ModeReject, Item: "user-42"}); err != nil {
		t.Fatal(err)
	}
	rows := erasures(t, 100)
	store := runAmplitudeLane(t, sim, rows, prometheus.NewRegistry())

	store.mu.Lock()
	defer store.mu.Unlock()
	accepted := 0
	for _, d := range rows {
		r := store.results[d.ID]
		switch {
		case d.SubjectKey == "sk-42":
			if r.State != fanout.Dead || r.HTTPStatus != 400 || r.Receipt == nil {
				t.Errorf("the rejected erasure: %s (HTTP %d, receipt %v), want dead-lettered with its receipt", r.State, r.HTTPStatus, r.Receipt != nil)
			}
		case r.State == fanout.Polling && r.Outcome == "accepted" && r.Receipt != nil:
			accepted++
		default:
			t.Errorf("delivery %d: %s %s (%s), want accepted", d.ID, r.State, r.Outcome, r.LastError)
		}
	}
	if accepted != 99 {
		t.Errorf("%d erasures accepted, want the other 99", accepted)
	}
	calls := deletionCalls(t, sim)
	if !slices.ContainsFunc(calls, func(ids []string) bool { return slices.Equal(ids, []string{"user-42"}) }) {
		t.Errorf("the rejected id was never sent alone: %d calls", len(calls))
	}
	// Halving isolates one bad id of 100 in at most 2·⌈log2 100⌉ calls after the first.
	if len(calls) > 15 {
		t.Errorf("%d calls to isolate one id of 100, want at most 15", len(calls))
	}
}

// batchScripted is a batch adapter whose answer the test writes.
type batchScripted struct {
	scripted
	batch func(reqs []vendor.Request) ([]vendor.ItemOutcome, error)
	sizes []int // items of each batch call
}

func (b *batchScripted) MaxBatch(vendor.Action) int { return 100 }

// Deliver answers a batch of one as the batch would.
func (b *batchScripted) Deliver(_ context.Context, req vendor.Request) (vendor.Result, error) {
	b.calls++
	outs, err := b.batch([]vendor.Request{req})
	if err != nil {
		return vendor.Result{}, err
	}
	return outs[0].Result, outs[0].Err
}
func (b *batchScripted) DeliverBatch(_ context.Context, reqs []vendor.Request) ([]vendor.ItemOutcome, error) {
	b.sizes = append(b.sizes, len(reqs))
	return b.batch(reqs)
}

func batchLane(a vendor.Adapter) *Lane {
	p := DefaultPolicy()
	p.BaseBackoff, p.MaxBackoff = time.Second, time.Minute
	return NewLane(LaneConfig{Instance: "v", Adapter: a, RatePerSecond: 1000, Burst: 1000, Concurrency: 1, MaxBatch: 100, Policy: p},
		Deps{Opener: subjects{}, Serde: receiptEncoder{}, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
}

func batchOf(n int) []fanout.Delivery {
	out := make([]fanout.Delivery, n)
	for i := range out {
		out[i] = delivery()
		out[i].ID, out[i].SubjectKey = int64(i+1), fmt.Sprintf("sk-%d", i+1)
	}
	return out
}

// TestPerItemOutcomesDecideEachDelivery: one answer, three fates.
func TestPerItemOutcomesDecideEachDelivery(t *testing.T) {
	a := &batchScripted{batch: func([]vendor.Request) ([]vendor.ItemOutcome, error) {
		return []vendor.ItemOutcome{
			{Result: vendor.Result{Outcome: vendor.Delivered, HTTPStatus: 200}},
			{Err: &vendor.Error{Kind: vendor.Permanent, HTTPStatus: 400, Msg: "ILLEGAL_ARGUMENT"}},
			{Err: &vendor.Error{Kind: vendor.Transient, HTTPStatus: 500, Msg: "element failed"}},
		}, nil
	}}
	rs := batchLane(a).deliverBatch(context.Background(), batchOf(3))
	if rs[0].State != fanout.Done || rs[1].State != fanout.Dead || rs[2].State != fanout.Pending || !rs[2].CountAttempt {
		t.Errorf("states %s, %s, %s (counted %v); want done, dead, pending counted", rs[0].State, rs[1].State, rs[2].State, rs[2].CountAttempt)
	}
	for i, r := range rs[:2] {
		if r.Receipt == nil {
			t.Errorf("item %d has no receipt", i)
		}
	}
	if len(a.sizes) != 1 || a.calls != 0 {
		t.Errorf("batch calls %v and single calls %d, want one batch call", a.sizes, a.calls)
	}
}

// TestAWholeBatchFailureRetriesEveryItem: an outage or throttle answers for the whole
// call; every item retries, and the lane's Retry-After and throttle count move once.
func TestAWholeBatchFailureRetriesEveryItem(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     *vendor.Error
		counted bool
		minWait time.Duration
	}{
		{"5xx", &vendor.Error{Kind: vendor.Transient, HTTPStatus: 503}, true, 0},
		{"429", &vendor.Error{Kind: vendor.Throttled, HTTPStatus: 429, RetryAfter: time.Hour}, false, time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &batchScripted{batch: func([]vendor.Request) ([]vendor.ItemOutcome, error) { return nil, c.err }}
			l := batchLane(a)
			rs := l.deliverBatch(context.Background(), batchOf(10))
			for i, r := range rs {
				if r.State != fanout.Pending || r.CountAttempt != c.counted || r.NextAttemptAt.Sub(now) < c.minWait {
					t.Errorf("item %d: %s counted %v in %v; want pending, counted %v, in at least %v", i, r.State, r.CountAttempt,
						r.NextAttemptAt.Sub(now), c.counted, c.minWait)
				}
			}
			if len(a.sizes) != 1 {
				t.Errorf("%d calls, want 1", len(a.sizes))
			}
			if c.err.Kind == vendor.Throttled && (l.throttles.Load() != 1 || l.gate() < 59*time.Minute) {
				t.Errorf("throttles %d, gate %v; want one throttle closing the lane for the Retry-After", l.throttles.Load(), l.gate())
			}
		})
	}
}

// TestAnUnattributedRejectionIsolatesTheBadItem: a 400 for the whole batch is split by
// halving until the bad item is alone; it dead-letters, its neighbours are delivered.
func TestAnUnattributedRejectionIsolatesTheBadItem(t *testing.T) {
	hasBad := func(reqs []vendor.Request) bool {
		return slices.ContainsFunc(reqs, func(r vendor.Request) bool { return r.IDs.SubjectID == "user-7" })
	}
	a := &batchScripted{batch: func(reqs []vendor.Request) ([]vendor.ItemOutcome, error) {
		if hasBad(reqs) {
			return nil, &vendor.Error{Kind: vendor.Permanent, HTTPStatus: 400, Whole: len(reqs) > 1}
		}
		return make([]vendor.ItemOutcome, len(reqs)), nil
	}}
	rs := batchLane(a).deliverBatch(context.Background(), batchOf(10))
	for i, r := range rs {
		want := fanout.Done
		if i == 6 {
			want = fanout.Dead
		}
		if r.State != want {
			t.Errorf("item %d: %s, want %s", i, r.State, want)
		}
	}
	// 10 → 5+5 → 2+3 → 1+1: the bad item and its last neighbour go alone.
	if a.calls != 2 || len(a.sizes) != 5 {
		t.Errorf("%d batch calls %v and %d single calls, want 5 and 2", len(a.sizes), a.sizes, a.calls)
	}
}

// TestGroupsKeepBatchesToTheirSize: claimed deliveries go in batches of at most the
// batch size, polls on their own; room says how many more fill the open batch.
func TestGroupsKeepBatchesToTheirSize(t *testing.T) {
	l := batchLane(&batchScripted{})
	ds := batchOf(250)
	ds[10].State = fanout.Polling // polls go on their own
	var sizes []int
	for _, g := range l.groups(ds) {
		sizes = append(sizes, len(g))
	}
	if !slices.Equal(sizes, []int{100, 1, 100, 49}) {
		t.Errorf("groups of %v, want 100, 1 (the poll), 100, 49", sizes)
	}
	if n := l.room(ds[:150]); n != 51 {
		t.Errorf("room %d after 149 batchable deliveries, want 51", n)
	}
}

// TestFillClaimsAtMostOneBatchMore: topping a claim up takes at most the open batch's
// room in all, however many of the extra rows turn out to be polls, which go one call
// each and must finish within their lease on a lane of one call a second.
func TestFillClaimsAtMostOneBatchMore(t *testing.T) {
	rows := batchOf(300)
	for i := range rows[2:] {
		rows[2+i].State = fanout.Polling
	}
	store := newMemStore(rows)
	l := batchLane(&batchScripted{})
	l.deps.Store = store
	claimed, _ := store.Claim(context.Background(), "v", 2, time.Minute)
	claimed = l.fill(context.Background(), claimed)
	if len(claimed) != 100 {
		t.Errorf("claimed %d rows, want the first 2 and at most 98 more", len(claimed))
	}

	store = newMemStore(batchOf(250))
	l.deps.Store = store
	claimed, _ = store.Claim(context.Background(), "v", 2, time.Minute)
	claimed = l.fill(context.Background(), claimed)
	if len(claimed) != 100 {
		t.Errorf("claimed %d due deliveries, want a full batch of 100", len(claimed))
	}
}
