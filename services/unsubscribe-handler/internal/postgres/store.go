// Package postgres is unsubscribe-handler's PostgreSQL adapter: suppression state.
package postgres

import (
	"context"
	"embed"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/postgres"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Suppression is one tenant's state for one address.
type Suppression struct {
	Tenant        string    `json:"tenant"`
	EmailSHA256   string    `json:"email_sha256"`
	SubjectKey    string    `json:"subject_key,omitempty"`
	Suppressed    bool      `json:"suppressed"`
	Reason        string    `json:"reason"`
	Scope         string    `json:"scope"`
	Source        string    `json:"source"`
	SourceEventID string    `json:"source_event_id,omitempty"`
	Erased        bool      `json:"erased"`
	ChangedAt     time.Time `json:"changed_at"`
}

// Store holds suppression state.
type Store struct{ pool *pgxpool.Pool }

// Open migrates the unsubscribe schema.
func Open(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := postgres.MigrateDir(ctx, pool, "unsubscribe-handler", migrations, "migrations"); err != nil {
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Tx is the state as one transaction sees it.
type Tx struct{ tx pgx.Tx }

// InTx runs fn in a transaction; fn's error rolls it back.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(&Tx{tx: tx}) })
}

const cols = `tenant, email_sha256, coalesce(subject_key, ''), suppressed, reason, scope, source,
	coalesce(source_event_id::text, ''), erased, changed_at`

func scan(row pgx.Row) (Suppression, error) {
	var s Suppression
	err := row.Scan(&s.Tenant, &s.EmailSHA256, &s.SubjectKey, &s.Suppressed, &s.Reason, &s.Scope, &s.Source,
		&s.SourceEventID, &s.Erased, &s.ChangedAt)
	return s, err
}

// Get returns a tenant's state for an address, locking it for the transaction.
func (t *Tx) Get(ctx context.Context, tenant, hash string) (Suppression, bool, error) {
	s, err := scan(t.tx.QueryRow(ctx, `SELECT `+cols+` FROM unsubscribe.suppressions
		WHERE tenant = $1 AND email_sha256 = $2 FOR UPDATE`, tenant, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return Suppression{}, false, nil
	}
	return s, err == nil, err
}

// HashesOf returns the address hashes known for a subject, for events that carry no email.
func (t *Tx) HashesOf(ctx context.Context, tenant, subjectKey string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT email_sha256 FROM unsubscribe.suppressions WHERE tenant = $1 AND subject_key = $2`, tenant, subjectKey)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SuppressedElsewhere reports whether another tenant still suppresses the address.
func (t *Tx) SuppressedElsewhere(ctx context.Context, tenant, hash string) (bool, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM unsubscribe.suppressions WHERE email_sha256 = $1 AND tenant <> $2 AND suppressed`,
		hash, tenant).Scan(&n)
	return n > 0, err
}

// Put stores s. An erased row stays erased and suppressed whatever s says.
func (t *Tx) Put(ctx context.Context, s Suppression) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO unsubscribe.suppressions
			(tenant, email_sha256, subject_key, suppressed, reason, scope, source, source_event_id, erased, changed_at)
		VALUES ($1, $2, nullif($3, ''), $4, $5, $6, $7, nullif($8, '')::uuid, $9, $10)
		ON CONFLICT (tenant, email_sha256) DO UPDATE SET
			subject_key = coalesce(excluded.subject_key, unsubscribe.suppressions.subject_key),
			suppressed = excluded.suppressed OR unsubscribe.suppressions.erased,
			reason = CASE WHEN unsubscribe.suppressions.erased THEN unsubscribe.suppressions.reason ELSE excluded.reason END,
			scope = excluded.scope, source = excluded.source, source_event_id = excluded.source_event_id,
			erased = excluded.erased OR unsubscribe.suppressions.erased, changed_at = excluded.changed_at`,
		s.Tenant, s.EmailSHA256, s.SubjectKey, s.Suppressed, s.Reason, s.Scope, s.Source, s.SourceEventID, s.Erased, s.ChangedAt)
	return err
}

// Lookup returns every tenant's state for an address (for GET /v1/suppressions/{hash}).
func (s *Store) Lookup(ctx context.Context, hash string) ([]Suppression, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+cols+` FROM unsubscribe.suppressions WHERE email_sha256 = $1 ORDER BY tenant`, hash)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Suppression{}
	for rows.Next() {
		s, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
