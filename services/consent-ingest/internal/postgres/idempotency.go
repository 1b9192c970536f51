// Package postgres is consent-ingest's PostgreSQL adapter: idempotency keys.
package postgres

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/postgres"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrKeyReused means an idempotency key came back with a different request.
var ErrKeyReused = errors.New("idempotency key reused with a different request")

// Store keeps idempotency keys.
type Store struct{ pool *pgxpool.Pool }

// Open migrates the ingest schema.
func Open(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := postgres.MigrateDir(ctx, pool, "consent-ingest", migrations, "migrations"); err != nil {
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Claim records that (apiKey, key) is answered by eventIDs recorded at recordedAt, unless
// it already was: then it returns the stored ids and time, or ErrKeyReused if the stored
// request differs.
func (s *Store) Claim(ctx context.Context, apiKey, key string, requestSHA []byte, eventIDs []string, recordedAt time.Time) ([]string, time.Time, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO ingest.idempotency_keys (api_key_name, idempotency_key, request_sha256, event_ids, recorded_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, apiKey, key, requestSHA, eventIDs, recordedAt)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("idempotency: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return eventIDs, recordedAt, nil
	}
	var (
		storedSHA []byte
		storedIDs []string
		storedAt  time.Time
	)
	err = s.pool.QueryRow(ctx, `SELECT request_sha256, event_ids, recorded_at FROM ingest.idempotency_keys
		WHERE api_key_name = $1 AND idempotency_key = $2`, apiKey, key).Scan(&storedSHA, &storedIDs, &storedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		// Expired between the insert and the select; the caller's fresh ids are as good.
		return eventIDs, recordedAt, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("idempotency: %w", err)
	}
	if !bytes.Equal(storedSHA, requestSHA) {
		return nil, time.Time{}, ErrKeyReused
	}
	return storedIDs, storedAt, nil
}

// Expire deletes keys older than ttl.
func (s *Store) Expire(ctx context.Context, ttl time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM ingest.idempotency_keys WHERE created_at < now() - $1::interval`, ttl.String())
	if err != nil {
		return 0, fmt.Errorf("idempotency: expire: %w", err)
	}
	return tag.RowsAffected(), nil
}
