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
// stays as evidence of when it happened. It returns the subjects whose key was live, and
// notifies Channel of each, for the processes that cached it (Listen).
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
	if len(destroyed) > 0 {
		// Delivered at commit, and only if it commits: every process's Listen evicts the
		// key from its cache then, rather than open it until the entry expires.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k`, Channel, destroyed); err != nil {
			return nil, fmt.Errorf("keystore: destroy: notify: %w", err)
		}
	}
	return destroyed, nil
}

// Rewrap finishes a master key rotation: it re-wraps every live data key that is not
// under master's current key, batch keys per transaction, and returns how many it
// rewrapped. Services keep running meanwhile: each batch locks only its own rows and
// skips rows another transaction holds (a Destroy in flight, a second Rewrap), so neither
// waits on the other; a destroyed key is never touched and stays destroyed. master must
// hold every master key some data key is still wrapped under.
//
// When it returns without error, no live key is wrapped under another master key. Keys
// it could not reach (still locked after a second pass, or created meanwhile by a service
// that still wraps under the old key) make it return ErrRewrapIncomplete: restart the
// services with the new key first, then run it again.
func Rewrap(ctx context.Context, pool *pgxpool.Pool, master *seal.MasterKeys, batch int) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	// The first pass skips keys another transaction holds (an erasure destroying one, a
	// second rewrap), so neither waits on the other; the second waits for those locks to
	// be released and then takes what is still under an old master key: a key the other
	// rewrap has moved meanwhile no longer matches once its lock is granted.
	// It takes one key per transaction, so it never holds a lock while waiting for
	// another and cannot deadlock with an erasure that destroys several keys at once.
	for _, wait := range []bool{false, true} {
		after, size := "", batch
		if wait {
			size = 1
		}
		for {
			n, last, err := rewrapBatch(ctx, pool, master, after, size, wait)
			total += n
			if err != nil {
				return total, err
			}
			if last == "" {
				break
			}
			after = last
		}
		var left int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM keystore.subject_keys WHERE wrapped IS NOT NULL AND master_key_id <> $1`,
			master.CurrentID()).Scan(&left); err != nil {
			return total, fmt.Errorf("keystore: rewrap: %w", err)
		}
		if left == 0 {
			return total, nil
		}
	}
	return total, ErrRewrapIncomplete
}

// ErrRewrapIncomplete: some data keys are still wrapped under an old master key.
var ErrRewrapIncomplete = errors.New("keystore: some data keys are still wrapped under another master key (a service still wraps new keys under it, or they were locked): run the rewrap again")

// rewrapBatch rewraps up to batch keys after the subject key after, in key order, and
// returns how many it rewrapped and the last key it looked at ("" when none was left).
func rewrapBatch(ctx context.Context, pool *pgxpool.Pool, master *seal.MasterKeys, after string, batch int, wait bool) (int, string, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("keystore: rewrap: %w", err)
	}
	defer tx.Rollback(ctx)
	// Walking the primary key keeps each batch an index range scan, however large the
	// table; a filter on master_key_id alone would rescan every rewrapped row each time.
	lock := "FOR UPDATE SKIP LOCKED"
	if wait {
		lock = "FOR UPDATE"
	}
	rows, err := tx.Query(ctx, `SELECT subject_key, master_key_id, wrapped FROM keystore.subject_keys
		WHERE subject_key > $1 AND wrapped IS NOT NULL AND master_key_id <> $2
		ORDER BY subject_key LIMIT $3 `+lock, after, master.CurrentID(), batch)
	if err != nil {
		return 0, "", fmt.Errorf("keystore: rewrap: %w", err)
	}
	type row struct {
		subjectKey string
		key        seal.WrappedKey
	}
	old, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.subjectKey, &x.key.MasterKeyID, &x.key.Ciphertext)
	})
	if err != nil {
		return 0, "", fmt.Errorf("keystore: rewrap: %w", err)
	}
	if len(old) == 0 {
		return 0, "", nil
	}
	subjects := make([]string, len(old))
	wrapped := make([][]byte, len(old))
	for i, x := range old {
		w, err := master.Rewrap(x.subjectKey, x.key)
		if err != nil {
			// The subject key is a pseudonym: it names the row for the operator and no person.
			return 0, "", fmt.Errorf("keystore: rewrap subject_key %s: %w", x.subjectKey, err)
		}
		subjects[i], wrapped[i] = x.subjectKey, w.Ciphertext
	}
	tag, err := tx.Exec(ctx, `UPDATE keystore.subject_keys k SET master_key_id = $1, wrapped = u.wrapped
		FROM unnest($2::text[], $3::bytea[]) AS u(subject_key, wrapped)
		WHERE k.subject_key = u.subject_key AND k.wrapped IS NOT NULL`, master.CurrentID(), subjects, wrapped)
	if err != nil {
		return 0, "", fmt.Errorf("keystore: rewrap: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, "", fmt.Errorf("keystore: rewrap: %w", err)
	}
	return int(tag.RowsAffected()), subjects[len(subjects)-1], nil
}
