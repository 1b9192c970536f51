package main

import (
	"context"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/bootstrap"
	"github.com/consentry/consentry/services/audit-sink/internal/postgres"
)

// migrateOnly applies the schema migrations this service would apply at start, and
// returns (--migrate-only: the Helm chart's migration Job).
func migrateOnly(ctx context.Context, _ []string, getenv func(string) string, _, stderr io.Writer) error {
	return bootstrap.Migrate(ctx, "audit-sink", getenv, stderr, func(ctx context.Context, pool *pgxpool.Pool) error {
		_, err := postgres.Open(ctx, pool)
		return err
	})
}
