package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func record(t *testing.T, offset int64) Row {
	t.Helper()
	id, err := eventid.New()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	r, err := Prepare(audit.Record{EventID: id, EventType: "ConsentChanged", Tenant: "consumer", SubjectKey: "k", OccurredAt: at, RecordedAt: at,
		Source: "cmp", PolicyVersion: "2025-04-09", Topic: "consent.events.v1", Offset: offset, SchemaID: 101,
		Payload: []byte{0, 0, 0, 0, 101}, Details: map[string]any{"purposes": map[string]any{"analytics": "denied"}}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A batch redelivered after a crash overlaps what is already in the log: the direct copy
// fails on the unique event id and the fallback must add exactly the new events, in
// their Kafka order.
func TestInsertWritesEachEventOnceAcrossRedeliveries(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testkit.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	first := []Row{record(t, 0), record(t, 1), record(t, 2)}
	if n, err := s.Insert(ctx, first); err != nil || n != 3 {
		t.Fatalf("first batch: inserted %d, err %v; want 3", n, err)
	}
	again := append(append([]Row{}, first[1:]...), record(t, 3), record(t, 4))
	again = append(again, again[3]) // and one event twice within the batch
	if n, err := s.Insert(ctx, again); err != nil || n != 2 {
		t.Fatalf("redelivered batch: inserted %d, err %v; want the 2 new events", n, err)
	}
	rows, err := pool.Query(ctx, `SELECT kafka_offset FROM audit.events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	for rows.Next() {
		var o int64
		if err := rows.Scan(&o); err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, o)
	}
	if len(offsets) != 5 {
		t.Fatalf("log holds offsets %v, want 0..4 once each", offsets)
	}
	for i, o := range offsets {
		if o != int64(i) {
			t.Fatalf("log holds offsets %v, want 0..4 in order", offsets)
		}
	}
}
