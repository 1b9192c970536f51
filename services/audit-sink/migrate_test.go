package main

import (
	"context"
	"io"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/devkit/testkit"
)

// The chart's migration Job runs --migrate-only before every upgrade; it must leave the
// schema the service expects and be safe to run again.
func TestMigrateOnly(t *testing.T) {
	url := testkit.Postgres(t)
	getenv := func(k string) string {
		if k == "CONSENTRY_POSTGRES_URL" {
			return url
		}
		return ""
	}
	for range 2 {
		if err := migrateOnly(context.Background(), nil, getenv, io.Discard, io.Discard); err != nil {
			t.Fatalf("migrateOnly: %v", err)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, component := range []string{"keystore", "audit-sink"} {
		var n int
		if err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM public.consentry_migrations WHERE component = $1`, component).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("no migration of %s recorded", component)
		}
	}
	if err := migrateOnly(context.Background(), nil, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("migrateOnly without CONSENTRY_POSTGRES_URL succeeded")
	}
}
