package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	auditdb "github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

func TestMain(m *testing.M) { testkit.Main(m) }

func TestVerifyAuditExitsOnABreak(t *testing.T) {
	ctx := context.Background()
	url := testkit.Postgres(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := auditdb.Open(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var rows []auditdb.Row
	for o := range int64(3) {
		r, err := auditdb.Prepare(audit.Record{EventID: testkit.NewEventID(t), EventType: audit.TypeVendorReceipt, Tenant: "consumer",
			RecordedAt: time.Now(), Topic: "vendor.receipts.v1", Partition: 2, Offset: o, Details: map[string]any{"vendor": "hubspot"}})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if _, err := store.Insert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "CONSENTRY_POSTGRES_URL" {
			return url
		}
		return ""
	}
	var out, errs bytes.Buffer
	if err := run(ctx, nil, getenv, &out, &errs); err != nil {
		t.Fatalf("intact log: %v\n%s", err, errs.String())
	}
	var report struct {
		OK   bool `json:"ok"`
		Rows int  `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil || !report.OK || report.Rows != 3 {
		t.Fatalf("report %s (%v)", out.String(), err)
	}

	if _, err := pool.Exec(ctx, `ALTER TABLE audit.events DISABLE TRIGGER events_append_only`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM audit.events WHERE kafka_offset = 1`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, nil, getenv, &out, &errs); !errors.Is(err, errBroken) {
		t.Fatalf("after a deletion: %v, want a break\n%s", err, out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte(`"kind": "gap"`)) {
		t.Errorf("report does not name the gap:\n%s", out.String())
	}
	if err := run(ctx, nil, func(string) string { return "" }, &out, &errs); err == nil || errors.Is(err, errBroken) {
		t.Errorf("without a database: %v, want a usage error", err)
	}
}
