// Package postgres is vendor-fanout's PostgreSQL adapter: the delivery lanes and the
// receipt outbox.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/schemas"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Delivery states.
const (
	Pending = "pending"
	Polling = "polling"
	Done    = "done"
	Dead    = "dead"
)

// Delivery is one vendor action for one event.
type Delivery struct {
	ID            int64
	EventID       string
	Instance      string
	Action        string
	Tenant        string
	SubjectKey    string
	RequestID     string
	OccurredAt    time.Time
	PolicyVersion string
	Sealed        *schemas.Sealed
	Purposes      map[string]string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	Deadline      time.Time
	Outcome       string
	HTTPStatus    int
	Reference     string
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Store is the delivery table and outbox.
type Store struct{ pool *pgxpool.Pool }

// Open migrates the fanout schema.
func Open(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := postgres.MigrateDir(ctx, pool, "vendor-fanout", migrations, "migrations"); err != nil {
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Decision is a consent change or privacy request as fan-out recorded it, kept so that a
// vendor enabled later can be back-filled.
type Decision struct {
	EventID       string
	Tenant        string
	SubjectKey    string
	Kind          string // "consent" or "request"
	Purposes      map[string]string
	RequestType   string
	RequestID     string
	OccurredAt    time.Time
	RecordedAt    time.Time
	PolicyVersion string
	Sealed        *schemas.Sealed
}

// RoutingInput gives routing what it needs of the decision.
func (d Decision) RoutingInput() (string, map[string]string, string) {
	return d.Tenant, d.Purposes, d.RequestType
}

// Plan records decisions and adds the deliveries they require, in one transaction,
// ignoring any already present (a redelivered Kafka record plans the same again).
// Deliveries keep the order given — Kafka's order — so the claim query can preserve
// per-subject order.
func (s *Store) Plan(ctx context.Context, decisions []Decision, ds []Delivery) error {
	if len(decisions) == 0 && len(ds) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := insertDecisions(ctx, tx, decisions); err != nil {
			return err
		}
		_, err := insertDeliveries(ctx, tx, ds)
		return err
	})
}

// Insert adds deliveries on their own (back-fill, tests) and returns how many were new.
func (s *Store) Insert(ctx context.Context, ds []Delivery) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		n, err = insertDeliveries(ctx, tx, ds)
		return err
	})
	return n, err
}

func sealedColumns(sealed *schemas.Sealed) (scheme *string, nonce, ct []byte) {
	if sealed == nil {
		return nil, nil, nil
	}
	return &sealed.Scheme, sealed.Nonce, sealed.Ciphertext
}

func jsonOrNil(m map[string]string) []byte {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}

func insertDeliveries(ctx context.Context, tx pgx.Tx, ds []Delivery) (int64, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_deliveries (LIKE fanout.deliveries INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, err
	}
	rows := make([][]any, len(ds))
	for i, d := range ds {
		scheme, nonce, ct := sealedColumns(d.Sealed)
		rows[i] = []any{int64(i), postgres.UUID(d.EventID), d.Instance, d.Action, d.Tenant, d.SubjectKey, postgres.UUID(d.RequestID),
			d.OccurredAt, d.PolicyVersion, scheme, nonce, ct, jsonOrNil(d.Purposes), d.Deadline}
	}
	cols := []string{"id", "event_id", "instance", "action", "tenant", "subject_key", "request_id",
		"occurred_at", "policy_version", "sealed_scheme", "sealed_nonce", "sealed_ciphertext", "purposes", "deadline_at"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_deliveries"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO fanout.deliveries (event_id, instance, action, tenant, subject_key, request_id,
			occurred_at, policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, purposes, deadline_at)
		SELECT event_id, instance, action, tenant, subject_key, request_id,
			occurred_at, policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, purposes, deadline_at
		FROM stage_deliveries ORDER BY id
		ON CONFLICT (event_id, instance, action) DO NOTHING`)
	return tag.RowsAffected(), err
}

func insertDecisions(ctx context.Context, tx pgx.Tx, decisions []Decision) error {
	if len(decisions) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_decisions (LIKE fanout.decisions) ON COMMIT DROP`); err != nil {
		return err
	}
	rows := make([][]any, len(decisions))
	for i, d := range decisions {
		scheme, nonce, ct := sealedColumns(d.Sealed)
		rows[i] = []any{postgres.UUID(d.EventID), d.Tenant, d.SubjectKey, d.Kind, jsonOrNil(d.Purposes), nullString(d.RequestType),
			postgres.UUID(d.RequestID), d.OccurredAt, d.RecordedAt, d.PolicyVersion, scheme, nonce, ct}
	}
	cols := []string{"event_id", "tenant", "subject_key", "kind", "purposes", "request_type", "request_id",
		"occurred_at", "recorded_at", "policy_version", "sealed_scheme", "sealed_nonce", "sealed_ciphertext"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_decisions"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO fanout.decisions SELECT DISTINCT ON (event_id) * FROM stage_decisions ON CONFLICT (event_id) DO NOTHING`)
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const columns = `id, event_id::text, instance, action, tenant, subject_key, coalesce(request_id::text, ''), occurred_at,
	policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, purposes, state, attempts, next_attempt_at,
	deadline_at, coalesce(outcome, ''), coalesce(http_status, 0), coalesce(reference, ''), coalesce(last_error, ''),
	created_at, updated_at`

func scan(row pgx.Row) (Delivery, error) {
	var (
		d        Delivery
		scheme   *string
		nonce    []byte
		ct       []byte
		purposes []byte
	)
	err := row.Scan(&d.ID, &d.EventID, &d.Instance, &d.Action, &d.Tenant, &d.SubjectKey, &d.RequestID, &d.OccurredAt,
		&d.PolicyVersion, &scheme, &nonce, &ct, &purposes, &d.State, &d.Attempts, &d.NextAttemptAt,
		&d.Deadline, &d.Outcome, &d.HTTPStatus, &d.Reference, &d.LastError, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return d, err
	}
	if scheme != nil {
		d.Sealed = &schemas.Sealed{Scheme: *scheme, Nonce: nonce, Ciphertext: ct}
	}
	if purposes != nil {
		if err := json.Unmarshal(purposes, &d.Purposes); err != nil {
			return d, fmt.Errorf("delivery %d: purposes: %w", d.ID, err)
		}
	}
	return d, nil
}

// Claim leases up to limit due deliveries of instance for lease. A leased row is not
// due again until the lease ends, so a dispatcher that dies mid-call loses nothing: the
// row comes back. A pending row waits while an older pending row of the same subject
// exists for the instance, which keeps each vendor's actions for one person in order.
func (s *Store) Claim(ctx context.Context, instance string, limit int, lease time.Duration) ([]Delivery, error) {
	rows, err := s.pool.Query(ctx, `UPDATE fanout.deliveries d SET next_attempt_at = now() + $3::interval, updated_at = now()
		WHERE d.id IN (
			SELECT c.id FROM fanout.deliveries c
			WHERE c.instance = $1 AND c.state IN ('pending', 'polling') AND c.next_attempt_at <= now()
			  AND (c.state = 'polling' OR NOT EXISTS (
				SELECT 1 FROM fanout.deliveries e
				WHERE e.instance = c.instance AND e.subject_key = c.subject_key AND e.state = 'pending' AND e.id < c.id))
			ORDER BY c.next_attempt_at, c.id
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		RETURNING `+columns, instance, limit, lease.String())
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", instance, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Result is what happened to one claimed delivery.
type Result struct {
	State         string // Pending (retry later), Polling, Done or Dead
	Outcome       string
	HTTPStatus    int
	Reference     string
	LastError     string
	NextAttemptAt time.Time // for Pending and Polling
	// CountAttempt is false when no call was made (breaker open, throttled gate).
	CountAttempt bool
	// Receipt, when set, is written to the outbox in the same transaction.
	Receipt *kafka.Message
}

// Record stores a delivery's result (and its receipt) atomically.
func (s *Store) Record(ctx context.Context, id int64, r Result) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		next := r.NextAttemptAt
		if next.IsZero() {
			next = time.Now()
		}
		inc := 0
		if r.CountAttempt {
			inc = 1
		}
		_, err := tx.Exec(ctx, `UPDATE fanout.deliveries SET state = $2, outcome = nullif($3, ''), http_status = nullif($4, 0),
				reference = coalesce(nullif($5, ''), reference), last_error = nullif($6, ''), next_attempt_at = $7,
				attempts = attempts + $8, updated_at = now()
			WHERE id = $1`, id, r.State, r.Outcome, r.HTTPStatus, r.Reference, r.LastError, next, inc)
		if err != nil {
			return err
		}
		if r.Receipt != nil {
			_, err = tx.Exec(ctx, `INSERT INTO fanout.outbox (topic, key, value) VALUES ($1, $2, $3)`,
				r.Receipt.Topic, r.Receipt.Key, r.Receipt.Value)
		}
		return err
	})
}

// RelayOutbox publishes up to limit outbox records in order and deletes them once Kafka
// acknowledged them. A crash between the two publishes them again; receipts carry
// derived event ids, so consumers drop the copy.
func (s *Store) RelayOutbox(ctx context.Context, limit int, publish func(context.Context, []kafka.Message) error) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, topic, key, value FROM fanout.outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		var (
			ids  []int64
			msgs []kafka.Message
		)
		for rows.Next() {
			var id int64
			var m kafka.Message
			if err := rows.Scan(&id, &m.Topic, &m.Key, &m.Value); err != nil {
				rows.Close()
				return err
			}
			ids, msgs = append(ids, id), append(msgs, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(msgs) == 0 {
			return err
		}
		if err := publish(ctx, msgs); err != nil {
			return err
		}
		n = len(msgs)
		_, err = tx.Exec(ctx, `DELETE FROM fanout.outbox WHERE id = ANY($1)`, ids)
		return err
	})
	return n, err
}

// LaneStats summarises one instance's lane.
type LaneStats struct {
	Pending       int
	Polling       int
	Done          int
	Dead          int
	OldestPending time.Time // zero when nothing is pending
	LastError     string
}

// Stats returns every instance's lane summary.
func (s *Store) Stats(ctx context.Context) (map[string]LaneStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT instance,
			count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'polling'),
			count(*) FILTER (WHERE state = 'done'), count(*) FILTER (WHERE state = 'dead'),
			min(created_at) FILTER (WHERE state = 'pending'),
			(array_agg(last_error ORDER BY updated_at DESC) FILTER (WHERE last_error IS NOT NULL))[1]
		FROM fanout.deliveries GROUP BY instance`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]LaneStats{}
	for rows.Next() {
		var (
			name   string
			st     LaneStats
			oldest *time.Time
			last   *string
		)
		if err := rows.Scan(&name, &st.Pending, &st.Polling, &st.Done, &st.Dead, &oldest, &last); err != nil {
			return nil, err
		}
		if oldest != nil {
			st.OldestPending = *oldest
		}
		if last != nil {
			st.LastError = *last
		}
		out[name] = st
	}
	return out, rows.Err()
}

// DeadLetters lists parked deliveries, newest first; instance "" means all.
func (s *Store) DeadLetters(ctx context.Context, instance string, limit int) ([]Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM fanout.deliveries
		WHERE state = 'dead' AND ($1 = '' OR instance = $1) ORDER BY updated_at DESC, id DESC LIMIT $2`, instance, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ErrNotDead means the delivery to replay is not (or no longer) dead-lettered.
var ErrNotDead = errors.New("the delivery is not dead-lettered")

// Replay puts one dead delivery back in its lane with a fresh attempt budget and
// deadline. Replaying twice is harmless: the second finds it no longer dead.
func (s *Store) Replay(ctx context.Context, id int64, deadline time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE fanout.deliveries SET state = 'pending', attempts = 0, next_attempt_at = now(),
		deadline_at = $2, updated_at = now() WHERE id = $1 AND state = 'dead'`, id, deadline)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotDead
	}
	return nil
}

// ReplayAll replays every dead delivery of instance and returns how many.
func (s *Store) ReplayAll(ctx context.Context, instance string, deadline time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE fanout.deliveries SET state = 'pending', attempts = 0, next_attempt_at = now(),
		deadline_at = $2, updated_at = now() WHERE instance = $1 AND state = 'dead'`, instance, deadline)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
