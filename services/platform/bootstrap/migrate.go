package bootstrap

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/server"
)

// MigrateOnlyRequested reports whether the command line asks only to migrate the schema
// (`--migrate-only`): Kubernetes runs it as a pre-install/pre-upgrade Job, so that a new
// release's schema is in place before any of its pods roll, and a failed migration stops
// the upgrade instead of crash-looping every replica.
func MigrateOnlyRequested(args []string) bool {
	return slices.Contains(args, "--migrate-only") || slices.Contains(args, "-migrate-only")
}

// Migrate applies the key store's migrations and then each of the service's own, as the
// service would at start, and returns. It needs CONSENTRY_POSTGRES_URL only: the Job runs
// before the release's ConfigMap exists and must not need Kafka or the registry.
func Migrate(ctx context.Context, service string, getenv func(string) string, stderr io.Writer,
	steps ...func(context.Context, *pgxpool.Pool) error) error {
	url := getenv("CONSENTRY_POSTGRES_URL")
	if url == "" {
		return errors.New("CONSENTRY_POSTGRES_URL is required")
	}
	log := server.NewLogger(stderr, "info", service)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	pool, err := postgres.Connect(ctx, url, 4, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := keystore.Open(ctx, pool); err != nil {
		return err
	}
	for _, step := range steps {
		if err := step(ctx, pool); err != nil {
			return err
		}
	}
	log.Info("schema migrated")
	return nil
}
