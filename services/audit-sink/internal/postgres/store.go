// Package postgres is audit-sink's PostgreSQL adapter: the append-only audit log.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the audit log.
type Store struct{ pool *pgxpool.Pool }

// Open migrates the audit schema.
func Open(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := postgres.MigrateDir(ctx, pool, "audit-sink", migrations, "migrations"); err != nil {
		return nil, err
	}
	if err := deriveAll(ctx, pool); err != nil {
		return nil, fmt.Errorf("audit-sink: deriving privacy requests from the log: %w", err)
	}
	return &Store{pool: pool}, nil
}

var columns = []string{"ord", "event_id", "event_type", "tenant", "subject_key", "request_id", "source_event_id",
	"occurred_at", "recorded_at", "source", "policy_version", "topic", "kafka_partition", "kafka_offset", "schema_id",
	"payload", "details"}

// Row is a record laid out as the log's columns. The consumer prepares rows as it
// decodes, so that the write path, which the next batch's decoding overlaps, only copies.
type Row struct {
	values []any
	// request marks a PrivacyRequest event, which also moves audit.privacy_requests.
	request bool
	eventID string
}

// Prepare lays out r as a row.
func Prepare(r audit.Record) (Row, error) {
	details, err := json.Marshal(r.Details)
	if err != nil {
		return Row{}, fmt.Errorf("event %s: details: %w", r.EventID, err)
	}
	return Row{values: []any{postgres.UUID(r.EventID), r.EventType, null(r.Tenant), null(r.SubjectKey), postgres.UUID(r.RequestID),
		postgres.UUID(r.SourceEventID), nullTime(r.OccurredAt), nullTime(r.RecordedAt), null(r.Source), null(r.PolicyVersion),
		r.Topic, r.Partition, r.Offset, nullInt(r.SchemaID), r.Payload, details},
		request: r.EventType == audit.TypePrivacyRequest && r.RequestID != "", eventID: r.EventID}, nil
}

// Insert appends rows in one transaction, each event once. The common batch holds only
// new events and is copied straight into the log — COPY-class throughput, the raw
// baseline's path. A batch that repeats an event (a redelivery after a crash or
// rebalance) fails that copy on the unique event_id and is written again through a
// staging table and INSERT … ON CONFLICT DO NOTHING, which drops what is already there.
func (s *Store) Insert(ctx context.Context, rows []Row) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	requests := requestEvents(rows)
	var inserted int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		inserted, err = tx.CopyFrom(ctx, pgx.Identifier{"audit", "events"}, columns[1:], pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return rows[i].values, nil
		}))
		if err != nil {
			return err
		}
		return deriveRequests(ctx, tx, requests)
	})
	if !isUniqueViolation(err) {
		return inserted, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE stage_events (
				ord int, event_id uuid, event_type text, tenant text, subject_key text, request_id uuid, source_event_id uuid,
				occurred_at timestamptz, recorded_at timestamptz, source text, policy_version text, topic text,
				kafka_partition int, kafka_offset bigint, schema_id int, payload bytea, details jsonb) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_events"}, columns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return append([]any{i}, rows[i].values...), nil
		})); err != nil {
			return err
		}
		// DISTINCT ON keeps the first copy when one batch holds an event twice.
		tag, err := tx.Exec(ctx, `INSERT INTO audit.events (event_id, event_type, tenant, subject_key, request_id, source_event_id,
				occurred_at, recorded_at, source, policy_version, topic, kafka_partition, kafka_offset, schema_id, payload, details)
			SELECT event_id, event_type, tenant, subject_key, request_id, source_event_id, occurred_at, recorded_at, source,
				policy_version, topic, kafka_partition, kafka_offset, schema_id, payload, details
			FROM (SELECT DISTINCT ON (event_id) * FROM stage_events ORDER BY event_id, ord) s ORDER BY ord
			ON CONFLICT (event_id) DO NOTHING`)
		if err != nil {
			return err
		}
		inserted = tag.RowsAffected()
		return deriveRequests(ctx, tx, requests)
	})
	return inserted, err
}

// requestEvents are the ids of the batch's PrivacyRequest events; most batches (consents,
// receipts) have none and pay nothing more than this loop.
func requestEvents(rows []Row) []string {
	var ids []string
	for _, r := range rows {
		if r.request {
			ids = append(ids, r.eventID)
		}
	}
	return ids
}

// deriveRequests moves each request of the batch's request events in
// audit.privacy_requests, in the transaction that appends them, so that the table never
// disagrees with the log.
func deriveRequests(ctx context.Context, tx pgx.Tx, eventIDs []string) error {
	if len(eventIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, fmt.Sprintf(deriveSQL, `event_id = ANY($1::text[]::uuid[]) AND event_type = 'PrivacyRequest' AND request_id IS NOT NULL`), eventIDs)
	return err
}

// deriveAll fills audit.privacy_requests from a log written before the table existed.
func deriveAll(ctx context.Context, pool *pgxpool.Pool) error {
	var empty bool
	if err := pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM audit.privacy_requests)
		AND EXISTS (SELECT 1 FROM audit.events WHERE request_id IS NOT NULL AND event_type = 'PrivacyRequest')`).Scan(&empty); err != nil || !empty {
		return err
	}
	_, err := pool.Exec(ctx, fmt.Sprintf(deriveSQL, `event_type = 'PrivacyRequest' AND request_id IS NOT NULL`))
	return err
}

// deriveSQL applies the log's request events (those matching the %s filter) to the table
// by the rules every reader of the topic follows (audit.BuildRequest): a request's status
// is that of its latest step; an extension (detail "deadline_extended: …") repeats the
// status and moves only the deadline, which is never taken back; a closed request stays
// closed, but for a partially completed one later completed. An event applied before (a redelivery) changes nothing: steps count only past
// the row's last_seq.
const deriveSQL = `WITH b AS (
		SELECT request_id, coalesce(tenant, '') AS tenant, subject_key, details, seq,
			coalesce(recorded_at, audited_at) AS at, coalesce(details->>'status', '') AS status,
			coalesce(details->>'detail', '') LIKE 'deadline_extended:%%' AS extension,
			(details->>'deadline_at')::timestamptz AS deadline_at
		FROM audit.events WHERE %s
	), agg AS (
		SELECT request_id, min(at) FILTER (WHERE status = 'received') AS received_at, min(at) AS first_at,
			min(at) FILTER (WHERE status IN ` + closedSQL + `) AS closed_at,
			CASE WHEN bool_or(status = 'completed') THEN 'completed'
				ELSE (array_agg(status ORDER BY seq) FILTER (WHERE status IN ` + closedSQL + `))[1] END AS closed_status,
			max(deadline_at) AS deadline_at, max(seq) AS last_seq
		FROM b GROUP BY request_id
	), step AS (
		-- The latest step, or an extension where the batch holds nothing else.
		SELECT DISTINCT ON (request_id) request_id, tenant, subject_key, details, status, extension, seq
		FROM b ORDER BY request_id, extension, seq DESC
	)
	INSERT INTO audit.privacy_requests AS p (request_id, tenant, subject_key, type, status, received_at, saw_received,
		deadline_at, closed_at, last_seq)
	SELECT s.request_id, s.tenant, s.subject_key, coalesce(s.details->>'type', ''),
		CASE WHEN o.status = 'partially_completed' AND a.closed_status = 'completed' THEN 'completed'
			WHEN o.status IN ` + closedSQL + ` THEN o.status
			WHEN a.closed_status IS NOT NULL THEN a.closed_status
			WHEN o.request_id IS NULL THEN s.status
			WHEN NOT s.extension AND s.seq > o.last_seq THEN s.status
			ELSE o.status END,
		CASE WHEN o.request_id IS NULL THEN coalesce(a.received_at, a.first_at)
			WHEN o.saw_received = (a.received_at IS NOT NULL) THEN least(o.received_at, coalesce(a.received_at, a.first_at))
			WHEN a.received_at IS NOT NULL THEN a.received_at
			ELSE o.received_at END,
		coalesce(o.saw_received, false) OR a.received_at IS NOT NULL,
		greatest(o.deadline_at, a.deadline_at), least(o.closed_at, a.closed_at), greatest(o.last_seq, a.last_seq)
	FROM step s JOIN agg a USING (request_id) LEFT JOIN audit.privacy_requests o USING (request_id)
	ON CONFLICT (request_id) DO UPDATE SET status = excluded.status, received_at = excluded.received_at,
		saw_received = excluded.saw_received, deadline_at = excluded.deadline_at, closed_at = excluded.closed_at,
		last_seq = excluded.last_seq`

func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

const entryColumns = `seq, event_id::text, event_type, occurred_at, recorded_at, audited_at, coalesce(source, ''),
	coalesce(policy_version, ''), topic, kafka_partition, kafka_offset, details`

func scanEntries(rows pgx.Rows) ([]audit.Entry, error) {
	defer rows.Close()
	out := []audit.Entry{}
	for rows.Next() {
		var (
			e       audit.Entry
			details []byte
		)
		if err := rows.Scan(&e.Seq, &e.EventID, &e.Type, &e.OccurredAt, &e.RecordedAt, &e.AuditedAt, &e.Source,
			&e.PolicyVersion, &e.Topic, &e.Partition, &e.Offset, &details); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// History returns a subject's events and the receipts answering them, in the order
// Consentry recorded them.
func (s *Store) History(ctx context.Context, tenant, subjectKey string) ([]audit.Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+entryColumns+` FROM audit.events
		WHERE tenant = $1 AND subject_key = $2 ORDER BY recorded_at, seq`, tenant, subjectKey)
	if err != nil {
		return nil, err
	}
	return scanEntries(rows)
}

// Request returns the status events and receipts of one privacy request, with the
// tenant and subject it belongs to (an empty tenant when the log holds no such request).
func (s *Store) Request(ctx context.Context, requestID string) (tenant, subjectKey string, _ []audit.Entry, _ error) {
	err := s.pool.QueryRow(ctx, `SELECT coalesce(tenant, ''), coalesce(subject_key, '') FROM audit.events
		WHERE request_id = $1 AND event_type = 'PrivacyRequest' LIMIT 1`, requestID).Scan(&tenant, &subjectKey)
	if err == pgx.ErrNoRows {
		return "", "", nil, nil
	}
	if err != nil {
		return "", "", nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+entryColumns+` FROM audit.events WHERE request_id = $1 ORDER BY recorded_at, seq`, requestID)
	if err != nil {
		return "", "", nil, err
	}
	entries, err := scanEntries(rows)
	return tenant, subjectKey, entries, err
}

// Choices returns every purpose decision the subject made, for CurrentState.
func (s *Store) Choices(ctx context.Context, tenant, subjectKey string) ([]audit.Choice, error) {
	rows, err := s.pool.Query(ctx, `SELECT p.key, p.value, e.event_id::text, e.source, e.policy_version, e.occurred_at, e.recorded_at, e.seq
		FROM audit.events e, jsonb_each_text(e.details->'purposes') p
		WHERE e.tenant = $1 AND e.subject_key = $2 AND e.event_type = 'ConsentChanged'`, tenant, subjectKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Choice
	for rows.Next() {
		var c audit.Choice
		if err := rows.Scan(&c.Purpose, &c.Decision, &c.EventID, &c.Source, &c.PolicyVersion, &c.OccurredAt, &c.RecordedAt, &c.Seq); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
