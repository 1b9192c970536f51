package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

// Retention prunes done deliveries whose receipts have left the outbox, and nothing
// else: no pending, polling or dead delivery, no done one whose receipt is not relayed
// yet, none of a request that is not completed. An event whose deliveries were pruned
// is not planned again when Kafka redelivers it.
func TestPruneRemovesOnlyDoneAndRelayedDeliveries(t *testing.T) {
	ctx := context.Background()
	s, pool := openStore(t)
	receipt := func(d fanout.Delivery) *fanout.Message {
		return &fanout.Message{Topic: "vendor.receipts.v1", Key: []byte(d.SubjectKey), Value: []byte(d.EventID)}
	}
	var (
		decisions []fanout.Decision
		ds        []fanout.Delivery
	)
	names := []string{"relayed", "unrelayed", "pending", "polling", "dead", "request-open", "request-completed"}
	for _, name := range names {
		dec, del := consentEvent(t, "hubspot", name)
		if name == "request-open" || name == "request-completed" {
			dec.Kind, dec.RequestType, dec.RequestID, del.RequestID = fanout.KindRequest, "erasure", dec.EventID, dec.EventID
		}
		decisions, ds = append(decisions, dec), append(ds, del)
	}
	if err := s.Plan(ctx, decisions, ds); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "hubspot", 10, time.Minute)
	if err != nil || len(claimed) != len(names) {
		t.Fatalf("claimed %d (%v)", len(claimed), err)
	}
	byName := map[string]fanout.Delivery{}
	for _, d := range claimed {
		byName[d.SubjectKey] = d
	}
	record := func(name string, r fanout.Result) {
		t.Helper()
		if err := s.Record(ctx, byName[name].ID, r); err != nil {
			t.Fatal(err)
		}
	}
	done := func(name string) fanout.Result {
		return fanout.Result{State: fanout.Done, Outcome: "delivered", CountAttempt: true, Receipt: receipt(byName[name])}
	}
	for _, name := range []string{"relayed", "request-open", "request-completed"} {
		record(name, done(name))
	}
	record("polling", fanout.Result{State: fanout.Polling, Outcome: "accepted", NextAttemptAt: time.Now().Add(time.Hour), Receipt: receipt(byName["polling"])})
	record("dead", fanout.Result{State: fanout.Dead, Outcome: "dead_lettered", Receipt: receipt(byName["dead"])})
	if _, err := pool.Exec(ctx, `UPDATE fanout.decisions SET completion = 'completed', completed_at = now() WHERE event_id = $1`,
		byName["request-completed"].EventID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RelayOutbox(ctx, 100, func(context.Context, []kafka.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	record("unrelayed", done("unrelayed"))

	// Within the retention nothing goes.
	if n, err := s.Prune(ctx, time.Now().Add(-time.Hour), 100); err != nil || n != 0 {
		t.Fatalf("pruned %d within the retention (%v)", n, err)
	}
	n, err := s.Prune(ctx, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT subject_key, state FROM fanout.deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var subject, state string
		if err := rows.Scan(&subject, &state); err != nil {
			t.Fatal(err)
		}
		left[subject] = state
	}
	if n != 2 || len(left) != len(names)-2 {
		t.Fatalf("pruned %d, left %v; want only the relayed done delivery and the completed request's pruned", n, left)
	}
	for _, gone := range []string{"relayed", "request-completed"} {
		if _, ok := left[gone]; ok {
			t.Errorf("%s was not pruned", gone)
		}
	}
	for _, kept := range []string{"unrelayed", "pending", "polling", "dead", "request-open"} {
		if _, ok := left[kept]; !ok {
			t.Errorf("the %s delivery was pruned", kept)
		}
	}

	// Kafka redelivers the pruned events: their decisions say they were planned.
	leased, err := s.PlanLeased(ctx, decisions, ds, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var count int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM fanout.deliveries`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if len(leased) != 0 || count != len(left) {
		t.Errorf("replanning after pruning leased %d and left %d deliveries, want 0 and %d", len(leased), count, len(left))
	}
}
