package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func openStore(t *testing.T) (*Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := Open(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

// plan inserts n deliveries for instance, one subject each unless subjects > 0, and
// returns them in id order.
func plan(t *testing.T, s *Store, instance string, n, subjects int) []fanout.Delivery {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	var ds []fanout.Delivery
	var decisions []fanout.Decision
	for i := range n {
		id, err := eventid.New()
		if err != nil {
			t.Fatal(err)
		}
		subject := fmt.Sprintf("subject-%d", i)
		if subjects > 0 {
			subject = fmt.Sprintf("subject-%d", i%subjects)
		}
		sealed := &schemas.Sealed{Scheme: "A256GCM-v1", Nonce: []byte{1, 2, 3}, Ciphertext: []byte{byte(i)}}
		ds = append(ds, fanout.Delivery{EventID: id, Instance: instance, Action: "opt_out", Tenant: "consumer", SubjectKey: subject,
			OccurredAt: at, PolicyVersion: "2025-04-09", Sealed: sealed, Purposes: map[string]string{"analytics": "denied"},
			Deadline: at.Add(48 * time.Hour)})
		decisions = append(decisions, fanout.Decision{EventID: id, Tenant: "consumer", SubjectKey: subject, Kind: "consent",
			Purposes: map[string]string{"analytics": "denied"}, OccurredAt: at, RecordedAt: at, PolicyVersion: "2025-04-09", Sealed: sealed})
	}
	if err := s.Plan(ctx, decisions, ds); err != nil {
		t.Fatal(err)
	}
	// A redelivered Kafka batch plans the same again: nothing new.
	if err := s.Plan(ctx, decisions, ds); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, instance, 10*n, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return claimed
}

func TestPlanKeepsOrderAndSealedColumnsAndClaimKeepsSubjectOrder(t *testing.T) {
	s, _ := openStore(t)
	// Six deliveries over two subjects: a claim may take only each subject's oldest.
	claimed := plan(t, s, "hubspot", 6, 2)
	if len(claimed) != 2 {
		t.Fatalf("claimed %d deliveries of two subjects, want 2 (each subject's oldest only)", len(claimed))
	}
	for i, d := range claimed {
		if d.SubjectKey != fmt.Sprintf("subject-%d", i) || d.Sealed == nil || d.Sealed.Ciphertext[0] != byte(i) ||
			d.Purposes["analytics"] != "denied" {
			t.Errorf("claimed %d: %+v, want subject-%d's first delivery with its sealed identifiers and purposes", i, d, i)
		}
	}
}

func TestRecorderCommitsConcurrentResultsWithTheirReceipts(t *testing.T) {
	ctx := context.Background()
	s, pool := openStore(t)
	claimed := plan(t, s, "hubspot", 200, 0)
	if len(claimed) != 200 {
		t.Fatalf("claimed %d, want 200", len(claimed))
	}
	r := NewRecorder(s, 64)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	var wg sync.WaitGroup
	for _, d := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := fanout.Result{State: fanout.Done, Outcome: "delivered", HTTPStatus: 200, CountAttempt: true,
				Receipt: &fanout.Message{Topic: "vendor.receipts.v1", Key: []byte(d.SubjectKey), Value: []byte(d.EventID)}}
			if err := r.Record(ctx, d.ID, res); err != nil {
				t.Errorf("delivery %d: %v", d.ID, err)
			}
		}()
	}
	wg.Wait()
	stop()
	<-done
	var doneRows, receipts int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM fanout.deliveries WHERE state = 'done' AND attempts = 1 AND http_status = 200),
		(SELECT count(*) FROM fanout.outbox)`).Scan(&doneRows, &receipts); err != nil {
		t.Fatal(err)
	}
	if doneRows != 200 || receipts != 200 {
		t.Errorf("%d deliveries done and %d receipts, want 200 of each", doneRows, receipts)
	}
	if err := r.Record(ctx, claimed[0].ID, fanout.Result{State: fanout.Done}); err != ErrRecorderStopped {
		t.Errorf("Record after Run returned: %v, want ErrRecorderStopped", err)
	}
}

// A batch call's results are committed together, each with its own receipt; one the
// database rejects does not keep its neighbours from being recorded.
func TestRecordAllCommitsABatchCallsResultsTogether(t *testing.T) {
	ctx := context.Background()
	s, pool := openStore(t)
	claimed := plan(t, s, "amplitude", 101, 0)
	r := NewRecorder(s, 500)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	defer func() { stop(); <-done }()
	var recs []Recorded
	var ids []int64
	for _, d := range claimed[:100] {
		recs = append(recs, Recorded{ID: d.ID, Result: fanout.Result{State: fanout.Polling, Outcome: "accepted", HTTPStatus: 200,
			Reference: "day:2026-12-15", CountAttempt: true,
			Receipt: &fanout.Message{Topic: "vendor.receipts.v1", Key: []byte(d.SubjectKey), Value: []byte(d.EventID)}}})
		ids = append(ids, d.ID)
	}
	if err := r.RecordAll(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var polling, transactions, receipts int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'polling' AND attempts = 1), count(DISTINCT xmin::text),
		(SELECT count(*) FROM fanout.outbox) FROM fanout.deliveries WHERE id = ANY($1)`, ids).Scan(&polling, &transactions, &receipts); err != nil {
		t.Fatal(err)
	}
	if polling != 100 || transactions != 1 || receipts != 100 {
		t.Errorf("%d polling in %d transactions with %d receipts, want 100 in 1 with 100", polling, transactions, receipts)
	}

	good := claimed[100]
	err := r.RecordAll(ctx, []Recorded{
		{ID: good.ID, Result: fanout.Result{State: fanout.Done, Outcome: "delivered"}},
		{ID: claimed[0].ID, Result: fanout.Result{State: "no such state"}}, // the CHECK constraint rejects it
	})
	if err == nil {
		t.Error("a batch with a result the database rejects was reported recorded")
	}
	var state string
	if err := pool.QueryRow(ctx, `SELECT state FROM fanout.deliveries WHERE id = $1`, good.ID).Scan(&state); err != nil || state != fanout.Done {
		t.Errorf("the good neighbour is %q (%v), want done", state, err)
	}
}

// One result the database rejects must not keep the rest of its batch from being
// recorded; and when one delivery has two results in the queue, the later one wins.
func TestRecorderIsolatesABadResultAndKeepsTheLaterOfTwo(t *testing.T) {
	ctx := context.Background()
	s, pool := openStore(t)
	claimed := plan(t, s, "hubspot", 3, 0)
	r := NewRecorder(s, 64)
	send := func(id int64, res fanout.Result) chan error {
		done := make(chan error, 1)
		r.in <- pendingResult{recs: []Recorded{{ID: id, Result: res}}, done: done}
		return done
	}
	// Queued before Run starts, so that they would all fit in one transaction.
	good := send(claimed[0].ID, fanout.Result{State: fanout.Done, Outcome: "delivered"})
	bad := send(claimed[1].ID, fanout.Result{State: "no such state"}) // the CHECK constraint rejects it
	first := send(claimed[2].ID, fanout.Result{State: fanout.Pending, LastError: "503"})
	later := send(claimed[2].ID, fanout.Result{State: fanout.Done, Outcome: "delivered"})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	if err := <-good; err != nil {
		t.Errorf("the good result: %v", err)
	}
	if err := <-bad; err == nil {
		t.Error("the result the database rejects was reported recorded")
	}
	if err := <-first; err != nil {
		t.Errorf("the first of two results: %v", err)
	}
	if err := <-later; err != nil {
		t.Errorf("the later of two results: %v", err)
	}
	stop()
	<-done
	states := map[int64]string{}
	rows, err := pool.Query(ctx, `SELECT id, state FROM fanout.deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			t.Fatal(err)
		}
		states[id] = st
	}
	if states[claimed[0].ID] != fanout.Done || states[claimed[1].ID] != fanout.Pending || states[claimed[2].ID] != fanout.Done {
		t.Errorf("states %v: want the good one done, the rejected one still pending, the twice-recorded one done", states)
	}
}

// A vendor's error body is stored as the delivery's last error; text PostgreSQL cannot
// hold (NUL, invalid UTF-8) must not make the result unrecordable.
func TestRecordStoresAnyVendorText(t *testing.T) {
	ctx := context.Background()
	s, pool := openStore(t)
	claimed := plan(t, s, "hubspot", 1, 0)
	if err := s.Record(ctx, claimed[0].ID, fanout.Result{State: fanout.Pending, LastError: "bad\x00body\xff", Reference: "job\x00"}); err != nil {
		t.Fatalf("recording vendor text: %v", err)
	}
	var last, ref string
	if err := pool.QueryRow(ctx, `SELECT last_error, reference FROM fanout.deliveries`).Scan(&last, &ref); err != nil {
		t.Fatal(err)
	}
	if last != "bad\uFFFDbody\uFFFD" || ref != "job\uFFFD" {
		t.Errorf("stored %q and %q", last, ref)
	}
}
