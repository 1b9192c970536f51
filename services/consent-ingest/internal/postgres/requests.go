package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/consent-ingest/internal/lifecycle"
)

const requestColumns = `request_id::text, tenant, subject_key, type, reason, scope, jurisdiction, policy_version, status,
	sealed_scheme, sealed_nonce, sealed_ciphertext, occurred_at, received_at, deadline_at, extended,
	coalesce(verify_expires_at, 'epoch'), published, notification_queued, detail, updated_at, announced`

func scanRequest(row pgx.Row) (lifecycle.Request, error) {
	var (
		r      lifecycle.Request
		scheme *string
		nonce  []byte
		ct     []byte
	)
	err := row.Scan(&r.ID, &r.Tenant, &r.SubjectKey, &r.Type, &r.Reason, &r.Scope, &r.Jurisdiction, &r.PolicyVersion,
		&r.Status, &scheme, &nonce, &ct, &r.OccurredAt, &r.ReceivedAt, &r.DeadlineAt, &r.Extended, &r.VerifyExpiresAt,
		&r.Published, &r.NotificationQueued, &r.Detail, &r.UpdatedAt, &r.Announced)
	if scheme != nil {
		r.Sealed = &schemas.Sealed{Scheme: *scheme, Nonce: nonce, Ciphertext: ct}
	}
	if r.VerifyExpiresAt.Unix() == 0 {
		r.VerifyExpiresAt = time.Time{}
	}
	return r, err
}

// CreateRequest stores r unless its id is known (a client retry with the same
// Idempotency-Key), and returns the stored request either way.
func (s *Store) CreateRequest(ctx context.Context, r lifecycle.Request) (lifecycle.Request, error) {
	var scheme *string
	var nonce, ct []byte
	if r.Sealed != nil {
		scheme, nonce, ct = &r.Sealed.Scheme, r.Sealed.Nonce, r.Sealed.Ciphertext
	}
	var expires any
	if !r.VerifyExpiresAt.IsZero() {
		expires = r.VerifyExpiresAt
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO ingest.requests (request_id, tenant, subject_key, type, reason, scope,
			jurisdiction, policy_version, status, sealed_scheme, sealed_nonce, sealed_ciphertext, occurred_at, received_at,
			deadline_at, verify_expires_at, notification_queued)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (request_id) DO NOTHING`,
		r.ID, r.Tenant, r.SubjectKey, r.Type, r.Reason, r.Scope, r.Jurisdiction, r.PolicyVersion, r.Status, scheme, nonce, ct,
		r.OccurredAt, r.ReceivedAt, r.DeadlineAt, expires, r.NotificationQueued)
	if err != nil {
		return r, fmt.Errorf("requests: %w", err)
	}
	stored, _, err := s.Request(ctx, r.ID)
	return stored, err
}

// Request returns the request with id, and false when there is none.
func (s *Store) Request(ctx context.Context, id string) (lifecycle.Request, bool, error) {
	r, err := scanRequest(s.pool.QueryRow(ctx, `SELECT `+requestColumns+` FROM ingest.requests WHERE request_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("requests: %w", err)
	}
	return r, true, nil
}

// MarkPublished records that the events of the request's version written at version
// are on Kafka. A later move (a newer version) stays unpublished until its own events are.
func (s *Store) MarkPublished(ctx context.Context, id string, version time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE ingest.requests SET published = true, announced = true
		WHERE request_id = $1 AND updated_at = $2`, id, version)
	return err
}

// ErrMoved means the request was no longer in the status a move started from: another
// caller moved it first.
var ErrMoved = errors.New("the request has moved on")

// Move sets the status of published request r.ID from from to to (its deadline to r's,
// its detail to detail), queueing a notification when notify, and marks it unpublished
// until the move's events are out. It fails with ErrMoved unless the stored status is
// still from and published: moves happen one at a time, each on Kafka before the next.
func (s *Store) Move(ctx context.Context, r lifecycle.Request, from, to, detail string, notify bool) (lifecycle.Request, error) {
	moved, err := scanRequest(s.pool.QueryRow(ctx, `UPDATE ingest.requests SET status = $3, deadline_at = $4, extended = $5,
			notification_queued = notification_queued OR $6, detail = $7, published = false, updated_at = clock_timestamp()
		WHERE request_id = $1 AND status = $2 AND published RETURNING `+requestColumns, r.ID, from, to, r.DeadlineAt, r.Extended, notify, detail))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrMoved
	}
	if err != nil {
		return r, fmt.Errorf("requests: %w", err)
	}
	return moved, nil
}

// Unpublished returns requests whose last write is older than before and whose events
// were never acknowledged by Kafka.
func (s *Store) Unpublished(ctx context.Context, before time.Time, limit int) ([]lifecycle.Request, error) {
	return s.requests(ctx, `SELECT `+requestColumns+` FROM ingest.requests
		WHERE NOT published AND updated_at < $1 ORDER BY updated_at LIMIT $2`, before, limit)
}

// Close records that vendor-fanout closed request id with status: a request at work, or
// one partially completed that its last vendors have since carried out. A request
// consent-ingest does not know (one from before this table existed) is left alone.
func (s *Store) Close(ctx context.Context, id, status string) error {
	_, err := s.pool.Exec(ctx, `UPDATE ingest.requests SET status = $2 WHERE request_id = $1
		AND (status = 'in_progress' OR (status = 'partially_completed' AND $2 = 'completed'))`, id, status)
	return err
}

// Queued returns published requests owed a notification, oldest first.
func (s *Store) Queued(ctx context.Context, limit int) ([]lifecycle.Request, error) {
	return s.requests(ctx, `SELECT `+requestColumns+` FROM ingest.requests
		WHERE notification_queued AND published ORDER BY updated_at LIMIT $1`, limit)
}

// Notified clears the notification of a request that was in status when it was sent.
func (s *Store) Notified(ctx context.Context, id, status string) error {
	_, err := s.pool.Exec(ctx, `UPDATE ingest.requests SET notification_queued = false
		WHERE request_id = $1 AND status = $2`, id, status)
	return err
}

// ExpiredVerifications returns published requests still verifying after their link expired.
func (s *Store) ExpiredVerifications(ctx context.Context, now time.Time, limit int) ([]lifecycle.Request, error) {
	return s.requests(ctx, `SELECT `+requestColumns+` FROM ingest.requests
		WHERE status = 'verifying' AND verify_expires_at <= $1 AND published ORDER BY verify_expires_at LIMIT $2`, now, limit)
}

func (s *Store) requests(ctx context.Context, query string, args ...any) ([]lifecycle.Request, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	defer rows.Close()
	var out []lifecycle.Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
