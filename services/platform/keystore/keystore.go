// Package keystore stores subjects' wrapped data keys in PostgreSQL for package seal.
package keystore

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/platform/seal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a seal.Store over the keystore.subject_keys table.
type Store struct{ pool *pgxpool.Pool }

var _ seal.Store = (*Store)(nil)

// Open migrates the keystore schema and returns the store.
func Open(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := postgres.MigrateDir(ctx, pool, "keystore", migrations, "migrations"); err != nil {
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Get returns the subject's wrapped key, or seal.ErrNoKey.
func (s *Store) Get(ctx context.Context, subjectKey string) (seal.WrappedKey, error) {
	var k seal.WrappedKey
	err := s.pool.QueryRow(ctx,
		`SELECT master_key_id, wrapped, destroyed_at IS NOT NULL FROM keystore.subject_keys WHERE subject_key = $1`,
		subjectKey).Scan(&k.MasterKeyID, &k.Ciphertext, &k.Destroyed)
	if errors.Is(err, pgx.ErrNoRows) {
		return seal.WrappedKey{}, seal.ErrNoKey
	}
	if err != nil {
		return seal.WrappedKey{}, fmt.Errorf("keystore: get: %w", err)
	}
	return k, nil
}

// Create stores k unless the subject already has a key, and returns whichever key won.
func (s *Store) Create(ctx context.Context, tenant, subjectKey string, k seal.WrappedKey) (seal.WrappedKey, error) {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO keystore.subject_keys (subject_key, tenant, master_key_id, wrapped) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (subject_key) DO NOTHING`,
		subjectKey, tenant, k.MasterKeyID, k.Ciphertext)
	if err != nil {
		return seal.WrappedKey{}, fmt.Errorf("keystore: create: %w", err)
	}
	return s.Get(ctx, subjectKey)
}

// Destroy shreds the data keys of subjects in tx: every copy of their sealed
// identifiers — on Kafka, in any table, in backups — becomes unreadable, while the row
// stays as evidence of when it happened. It returns the subjects whose key was live.
// Callers pass the transaction that records why (an erasure's completion), so the key
// never goes without its reason, nor the reason without the key gone.
func Destroy(ctx context.Context, tx pgx.Tx, subjectKeys []string) ([]string, error) {
	rows, err := tx.Query(ctx, `UPDATE keystore.subject_keys SET wrapped = NULL, destroyed_at = now()
		WHERE subject_key = ANY($1) AND wrapped IS NOT NULL RETURNING subject_key`, subjectKeys)
	if err != nil {
		return nil, fmt.Errorf("keystore: destroy: %w", err)
	}
	destroyed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("keystore: destroy: %w", err)
	}
	return destroyed, nil
}
