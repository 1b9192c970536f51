// Package postgres is vendor-fanout's PostgreSQL adapter: it persists the decisions,
// delivery lanes, manual tasks and receipt outbox of internal/fanout's types.
package postgres

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/kafka"
	"github.com/consentry/consentry/platform/keystore"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/schemas"
	"github.com/consentry/consentry/services/vendor-fanout/internal/fanout"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the delivery table and outbox.
type Store struct {
	pool     *pgxpool.Pool
	announce Announcer
}

var (
	_ fanout.Lanes = (*Store)(nil)
	_ fanout.Tasks = (*Store)(nil)
)

// Open migrates the fanout schema. announce writes the record that says a privacy
// request is completed; nil leaves requests untracked (tests of the lanes alone).
func Open(ctx context.Context, pool *pgxpool.Pool, announce Announcer) (*Store, error) {
	if err := postgres.MigrateDir(ctx, pool, "vendor-fanout", migrations, "migrations"); err != nil {
		return nil, err
	}
	// An erasure's completion destroys the subject's key in the same transaction.
	if _, err := keystore.Open(ctx, pool); err != nil {
		return nil, err
	}
	return &Store{pool: pool, announce: announce}, nil
}

// Plan records decisions and adds the deliveries they require, in one transaction,
// ignoring any already present (a redelivered Kafka record plans the same again) and any
// of an event already decided (one whose deliveries retention has since pruned).
// Deliveries keep the order given — Kafka's order — so the claim query can preserve
// per-subject order. A request that requires no delivery is completed in the same
// transaction.
func (s *Store) Plan(ctx context.Context, decisions []fanout.Decision, ds []fanout.Delivery) error {
	_, err := s.PlanLeased(ctx, decisions, ds, 0)
	return err
}

// PlanLeased is Plan that also leases, for lease, the new deliveries that may be called
// at once to the dispatcher that planned them, and returns those in id order: the
// dispatcher hands them to its lanes without claiming them again (a claim is a row write
// and a round trip). If the dispatcher dies before calling them, the lease ends and any
// dispatcher claims them as it would a claim it had lost. A delivery that must wait for
// an older pending one of the same subject and vendor is planned unleased, as Plan does,
// so that the claim query keeps one person's actions in order. Zero lease leases none.
func (s *Store) PlanLeased(ctx context.Context, decisions []fanout.Decision, ds []fanout.Delivery, lease time.Duration) ([]fanout.Delivery, error) {
	if len(decisions) == 0 && len(ds) == 0 {
		return nil, nil
	}
	var requests []string
	for _, d := range decisions {
		if d.Kind == fanout.KindRequest {
			requests = append(requests, d.EventID)
		}
	}
	var leased []fanout.Delivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		leased = nil
		// Deliveries first: inserting one may wait for a result being recorded for the
		// same delivery, and that result's transaction waits for the request's decision
		// row, which this transaction must not hold yet.
		var err error
		if _, leased, err = insertDeliveries(ctx, tx, ds, true, lease); err != nil {
			return err
		}
		if err := insertDecisions(ctx, tx, decisions); err != nil {
			return err
		}
		return s.complete(ctx, tx, requests)
	})
	if err != nil {
		return nil, err
	}
	return leased, nil
}

// Release ends the leases of deliveries a dispatcher holds but will not call (a lane that
// stops, or has no room for what was planned for it), so that any dispatcher may claim
// them now rather than when their leases end.
func (s *Store) Release(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE fanout.deliveries SET leased_until = NULL
		WHERE id = ANY($1) AND state IN ('pending', 'polling') AND leased_until IS NOT NULL`, ids)
	return err
}

// Insert adds deliveries on their own (back-fill, tests) and returns how many were new.
func (s *Store) Insert(ctx context.Context, ds []fanout.Delivery) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		n, _, err = insertDeliveries(ctx, tx, ds, false, 0)
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

// sealedArrays holds the sealed identifier columns of many rows, NULL where unsealed.
type sealedArrays struct {
	schemes            []*string
	nonces, ciphertext [][]byte
}

func (a *sealedArrays) add(sealed *schemas.Sealed) {
	scheme, nonce, ct := sealedColumns(sealed)
	a.schemes, a.nonces, a.ciphertext = append(a.schemes, scheme), append(a.nonces, nonce), append(a.ciphertext, ct)
}

// insertDeliveries adds ds in one statement — arrays unnested in the order given, which
// is what the bigserial ids follow — and skips those already planned. skipDecided also
// skips the deliveries of events already decided: those were planned with their
// decision, and may since have been pruned. A positive lease leases each new delivery
// that is the first of its subject and vendor in ds and has no pending one before it in
// the table, and returns the leased ones.
func insertDeliveries(ctx context.Context, tx pgx.Tx, ds []fanout.Delivery, skipDecided bool, lease time.Duration) (int64, []fanout.Delivery, error) {
	if len(ds) == 0 {
		return 0, nil, nil
	}
	var (
		eventIDs, requestIDs                         = make([]pgtype.UUID, len(ds)), make([]pgtype.UUID, len(ds))
		instances, actions, tenants, subjects, polis = make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
		occurred, deadlines                          = make([]time.Time, len(ds)), make([]time.Time, len(ds))
		purposes                                     = make([][]byte, len(ds))
		sealed                                       sealedArrays
		recorded                                     = make([]pgtype.Timestamptz, len(ds))
		traceparents                                 = make([]*string, len(ds))
	)
	for i, d := range ds {
		eventIDs[i], requestIDs[i] = uuidValue(d.EventID), uuidValue(d.RequestID)
		instances[i], actions[i], tenants[i], subjects[i], polis[i] = d.Instance, d.Action, d.Tenant, d.SubjectKey, d.PolicyVersion
		occurred[i], deadlines[i], purposes[i] = d.OccurredAt, d.Deadline, jsonOrNil(d.Purposes)
		recorded[i] = pgtype.Timestamptz{Time: d.RecordedAt, Valid: !d.RecordedAt.IsZero()}
		traceparents[i] = textOrNil(d.Traceparent)
		sealed.add(d.Sealed)
	}
	var leaseArg *string
	if lease > 0 {
		l := lease.String()
		leaseArg = &l
	}
	rows, err := tx.Query(ctx, `INSERT INTO fanout.deliveries (event_id, instance, action, tenant, subject_key, request_id,
			occurred_at, policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, purposes, deadline_at,
			recorded_at, traceparent, leased_until)
		SELECT event_id, instance, action, tenant, subject_key, request_id,
			occurred_at, policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, purposes, deadline_at,
			recorded_at, traceparent,
			CASE WHEN $16::interval IS NOT NULL AND first AND NOT EXISTS (
				SELECT 1 FROM fanout.deliveries e
				WHERE e.instance = d.instance AND e.subject_key = d.subject_key AND e.state = 'pending')
			THEN now() + $16::interval END
		FROM (SELECT *, row_number() OVER (PARTITION BY instance, subject_key ORDER BY ord) = 1 AS first
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::timestamptz[], $8::text[],
				$9::text[], $10::bytea[], $11::bytea[], $12::jsonb[], $13::timestamptz[], $14::timestamptz[], $15::text[]) WITH ORDINALITY
				AS u(event_id, instance, action, tenant, subject_key, request_id, occurred_at, policy_version,
					sealed_scheme, sealed_nonce, sealed_ciphertext, purposes, deadline_at, recorded_at, traceparent, ord)) d
		WHERE NOT ($17 AND EXISTS (SELECT 1 FROM fanout.decisions x WHERE x.event_id = d.event_id))
		ORDER BY ord
		ON CONFLICT (event_id, instance, action) DO NOTHING
		RETURNING `+columns+`, leased_until IS NOT NULL`,
		eventIDs, instances, actions, tenants, subjects, requestIDs, occurred, polis,
		sealed.schemes, sealed.nonces, sealed.ciphertext, purposes, deadlines, recorded, traceparents, leaseArg, skipDecided)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var (
		n      int64
		leased []fanout.Delivery
	)
	for rows.Next() {
		var isLeased bool
		d, err := scanWith(rows, &isLeased)
		if err != nil {
			return 0, nil, err
		}
		n++
		if isLeased {
			leased = append(leased, d)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	slices.SortFunc(leased, func(a, b fanout.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return n, leased, nil
}

func insertDecisions(ctx context.Context, tx pgx.Tx, decisions []fanout.Decision) error {
	if len(decisions) == 0 {
		return nil
	}
	n := len(decisions)
	var (
		eventIDs, requestIDs            = make([]pgtype.UUID, n), make([]pgtype.UUID, n)
		tenants, subjects, kinds, polis = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		requestTypes, reasons           = make([]*string, n), make([]*string, n)
		jurisdictions, scopes           = make([]*string, n), make([]*string, n)
		purposes                        = make([][]byte, n)
		occurred, recorded              = make([]time.Time, n), make([]time.Time, n)
		deadlines                       = make([]*time.Time, n)
		sealed                          sealedArrays
	)
	for i, d := range decisions {
		eventIDs[i], requestIDs[i] = uuidValue(d.EventID), uuidValue(d.RequestID)
		tenants[i], subjects[i], kinds[i], polis[i] = d.Tenant, d.SubjectKey, d.Kind, d.PolicyVersion
		requestTypes[i], reasons[i], jurisdictions[i], scopes[i] = textOrNil(d.RequestType), textOrNil(d.Reason), textOrNil(d.Jurisdiction), textOrNil(d.Scope)
		purposes[i], occurred[i], recorded[i], deadlines[i] = jsonOrNil(d.Purposes), d.OccurredAt, d.RecordedAt, d.DeadlineAt
		sealed.add(d.Sealed)
	}
	// DISTINCT ON: one batch may hold one event twice (a redelivery within it), or one
	// request's in_progress twice (an extension); the latest deadline wins. In event id
	// order, the order completions lock decision rows in, so that the two never wait for
	// each other in a cycle. A repeated in_progress plans nothing new but carries the
	// request's current deadline (an extension only ever moves it later), and fills the
	// header of a request recorded before decisions kept it.
	_, err := tx.Exec(ctx, `INSERT INTO fanout.decisions AS x (event_id, tenant, subject_key, kind, purposes, request_type, request_id,
			occurred_at, recorded_at, policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, reason, jurisdiction, scope, deadline_at)
		SELECT DISTINCT ON (event_id) event_id, tenant, subject_key, kind, purposes, request_type, request_id,
			occurred_at, recorded_at, policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, reason, jurisdiction, scope, deadline_at
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::uuid[], $8::timestamptz[],
			$9::timestamptz[], $10::text[], $11::text[], $12::bytea[], $13::bytea[], $14::text[], $15::text[], $16::text[], $17::timestamptz[])
			AS d(event_id, tenant, subject_key, kind, purposes, request_type, request_id, occurred_at, recorded_at,
				policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, reason, jurisdiction, scope, deadline_at)
		ORDER BY event_id, deadline_at DESC NULLS LAST
		ON CONFLICT (event_id) DO UPDATE SET deadline_at = greatest(x.deadline_at, excluded.deadline_at),
			reason = coalesce(x.reason, excluded.reason), jurisdiction = coalesce(x.jurisdiction, excluded.jurisdiction),
			scope = coalesce(x.scope, excluded.scope)
		WHERE x.kind = 'request' AND (excluded.deadline_at > coalesce(x.deadline_at, '-infinity')
			OR (x.reason IS NULL AND excluded.reason IS NOT NULL))`,
		eventIDs, tenants, subjects, kinds, purposes, requestTypes, requestIDs, occurred, recorded, polis,
		sealed.schemes, sealed.nonces, sealed.ciphertext, reasons, jurisdictions, scopes, deadlines)
	return err
}

func textOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// uuidValue is s as a uuid, NULL when empty. Ids reach the store validated; one that
// is not a UUID becomes NULL here and the NOT NULL column rejects it as a data error.
func uuidValue(s string) pgtype.UUID {
	var u pgtype.UUID
	if s != "" {
		_ = u.Scan(s)
	}
	return u
}

const columns = `id, event_id::text, instance, action, tenant, subject_key, coalesce(request_id::text, ''), occurred_at,
	policy_version, sealed_scheme, sealed_nonce, sealed_ciphertext, purposes, state, attempts, next_attempt_at,
	deadline_at, coalesce(outcome, ''), coalesce(http_status, 0), coalesce(reference, ''), coalesce(last_error, ''),
	created_at, updated_at, recorded_at, coalesce(traceparent, '')`

func scan(row pgx.Row) (fanout.Delivery, error) { return scanWith(row) }

// scanWith scans the columns, then extra.
func scanWith(row pgx.Row, extra ...any) (fanout.Delivery, error) {
	var (
		d        fanout.Delivery
		scheme   *string
		nonce    []byte
		ct       []byte
		purposes []byte
		recorded *time.Time
	)
	dest := append([]any{&d.ID, &d.EventID, &d.Instance, &d.Action, &d.Tenant, &d.SubjectKey, &d.RequestID, &d.OccurredAt,
		&d.PolicyVersion, &scheme, &nonce, &ct, &purposes, &d.State, &d.Attempts, &d.NextAttemptAt,
		&d.Deadline, &d.Outcome, &d.HTTPStatus, &d.Reference, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &recorded, &d.Traceparent}, extra...)
	err := row.Scan(dest...)
	if err != nil {
		return d, err
	}
	if recorded != nil {
		d.RecordedAt = *recorded
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
// claimed again until the lease ends, so a dispatcher that dies mid-call loses nothing:
// the row comes back. A pending row waits while an older pending row of the same
// subject exists for the instance — leased or not — which keeps each vendor's actions
// for one person in order.
func (s *Store) Claim(ctx context.Context, instance string, limit int, lease time.Duration) ([]fanout.Delivery, error) {
	// The lease is set in leased_until, which no index holds: see migration 0003.
	// Planned afresh on every call (QueryExecModeExec): a generic plan cached while the
	// table was nearly empty does not suit it once the backlog is large.
	rows, err := s.pool.Query(ctx, `UPDATE fanout.deliveries d SET leased_until = now() + $3::interval
		WHERE d.id IN (
			SELECT c.id FROM fanout.deliveries c
			WHERE c.instance = $1 AND c.state IN ('pending', 'polling') AND c.next_attempt_at <= now()
			  AND (c.leased_until IS NULL OR c.leased_until <= now())
			  AND (c.state = 'polling' OR NOT EXISTS (
				SELECT 1 FROM fanout.deliveries e
				WHERE e.instance = c.instance AND e.subject_key = c.subject_key AND e.state = 'pending' AND e.id < c.id))
			ORDER BY c.next_attempt_at, c.id
			LIMIT $2
			FOR UPDATE SKIP LOCKED)
		RETURNING `+columns, pgx.QueryExecModeExec, instance, limit, lease.String())
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", instance, err)
	}
	defer rows.Close()
	var out []fanout.Delivery
	for rows.Next() {
		d, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Record stores a delivery's result (and its receipt) atomically.
func (s *Store) Record(ctx context.Context, id int64, r fanout.Result) error {
	return s.RecordBatch(ctx, []Recorded{{ID: id, Result: r}})
}

// Recorded is one delivery's result.
type Recorded = fanout.Recorded

// RecordBatch stores many results and their receipts in one transaction: one commit,
// one wait for the disk, however many deliveries it covers.
func (s *Store) RecordBatch(ctx context.Context, rs []Recorded) error {
	if len(rs) == 0 {
		return nil
	}
	now := time.Now()
	var (
		ids                                      = make([]int64, len(rs))
		states, outcomes, references, lastErrors = make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs))
		statuses, increments                     = make([]int32, len(rs)), make([]int32, len(rs))
		nexts                                    = make([]time.Time, len(rs))
		receiptTopics                            []string
		receiptKeys, receiptValues               [][]byte
		receiptTraces                            []*string
	)
	for i, rec := range rs {
		r := rec.Result
		ids[i], states[i], outcomes[i], references[i], lastErrors[i] = rec.ID, r.State, r.Outcome, storable(r.Reference), storable(r.LastError)
		statuses[i], nexts[i] = int32(r.HTTPStatus), r.NextAttemptAt
		if nexts[i].IsZero() {
			nexts[i] = now
		}
		if r.CountAttempt {
			increments[i] = 1
		}
		if r.Receipt != nil {
			receiptTopics = append(receiptTopics, r.Receipt.Topic)
			receiptKeys, receiptValues = append(receiptKeys, r.Receipt.Key), append(receiptValues, r.Receipt.Value)
			receiptTraces = append(receiptTraces, textOrNil(r.Receipt.Traceparent))
		}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE fanout.deliveries d SET state = r.state, outcome = nullif(r.outcome, ''),
				http_status = nullif(r.http_status, 0), reference = coalesce(nullif(r.reference, ''), d.reference),
				last_error = nullif(r.last_error, ''), next_attempt_at = r.next_attempt_at, attempts = d.attempts + r.inc,
				leased_until = NULL, updated_at = now()
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[], $8::int[])
				AS r(id, state, outcome, http_status, reference, last_error, next_attempt_at, inc)
			WHERE d.id = r.id
			RETURNING d.event_id::text, d.request_id IS NOT NULL AND d.state IN ('done', 'dead')`,
			ids, states, outcomes, statuses, references, lastErrors, nexts, increments)
		if err != nil {
			return err
		}
		// The requests whose delivery ended here may have ended with it.
		var ended []string
		seen := map[string]bool{}
		for rows.Next() {
			var (
				eventID string
				final   bool
			)
			if err := rows.Scan(&eventID, &final); err != nil {
				rows.Close()
				return err
			}
			if final && !seen[eventID] {
				seen[eventID] = true
				ended = append(ended, eventID)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(receiptTopics) > 0 {
			// In the order given, so that one subject's receipts keep their order on Kafka.
			_, err = tx.Exec(ctx, `INSERT INTO fanout.outbox (topic, key, value, traceparent)
				SELECT topic, key, value, traceparent FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[])
					WITH ORDINALITY AS r(topic, key, value, traceparent, ord)
				ORDER BY ord`, receiptTopics, receiptKeys, receiptValues, receiptTraces)
			if err != nil {
				return err
			}
		}
		return s.complete(ctx, tx, ended)
	})
}

// storable makes vendor-supplied text (a reference, an error body) storable: PostgreSQL
// text holds neither NUL nor invalid UTF-8, and a result it rejects would never be
// recorded, its delivery retried forever.
func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// RelayOutbox publishes up to limit outbox records in order and deletes them once Kafka
// acknowledged them. A crash between the two publishes them again; receipts carry
// derived event ids, so consumers drop the copy.
func (s *Store) RelayOutbox(ctx context.Context, limit int, publish func(context.Context, []kafka.Message) error) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, topic, key, value, coalesce(traceparent, '') FROM fanout.outbox
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		var (
			ids  []int64
			msgs []kafka.Message
		)
		for rows.Next() {
			var (
				id int64
				m  kafka.Message
				tp string
			)
			if err := rows.Scan(&id, &m.Topic, &m.Key, &m.Value, &tp); err != nil {
				rows.Close()
				return err
			}
			kafka.SetTraceparent(&m, tp)
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

// Stats returns every instance's lane summary. It reads only open and dead deliveries
// (through their partial indexes), so its cost follows the backlog, not the history;
// Done is counted only when withDone asks for it.
func (s *Store) Stats(ctx context.Context, withDone bool) (map[string]LaneStats, error) {
	rows, err := s.pool.Query(ctx, `WITH open AS (
			SELECT instance, state, created_at, updated_at, last_error FROM fanout.deliveries WHERE state IN ('pending', 'polling')
			UNION ALL
			SELECT instance, state, created_at, updated_at, last_error FROM fanout.deliveries WHERE state = 'dead')
		SELECT instance,
			count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'polling'), count(*) FILTER (WHERE state = 'dead'),
			min(created_at) FILTER (WHERE state = 'pending'),
			(array_agg(last_error ORDER BY updated_at DESC) FILTER (WHERE last_error IS NOT NULL))[1]
		FROM open GROUP BY instance`)
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
		if err := rows.Scan(&name, &st.Pending, &st.Polling, &st.Dead, &oldest, &last); err != nil {
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
	if err := rows.Err(); err != nil || !withDone {
		return out, err
	}
	done, err := s.pool.Query(ctx, `SELECT instance, count(*) FROM fanout.deliveries WHERE state = 'done' GROUP BY instance`)
	if err != nil {
		return nil, err
	}
	defer done.Close()
	for done.Next() {
		var (
			name string
			n    int
		)
		if err := done.Scan(&name, &n); err != nil {
			return nil, err
		}
		st := out[name]
		st.Done = n
		out[name] = st
	}
	return out, done.Err()
}

// DeadLetters lists parked deliveries, newest first; instance "" means all, tenants nil
// means every tenant. The tenants are filtered here, before the LIMIT, so that a scoped
// key gets a full page of its own.
func (s *Store) DeadLetters(ctx context.Context, instance string, tenants []string, limit int) ([]fanout.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM fanout.deliveries
		WHERE state = 'dead' AND ($1 = '' OR instance = $1) AND ($3::text[] IS NULL OR tenant = ANY($3::text[]))
		ORDER BY updated_at DESC, id DESC LIMIT $2`, instance, limit, tenants)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []fanout.Delivery
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

// ReplayReceipt builds the audit record of a replay of d, made at at.
type ReplayReceipt func(d fanout.Delivery, at time.Time) (fanout.Message, error)

// Replay puts one dead delivery back in its lane with a fresh attempt budget and
// deadline, and queues receipt's record of the replay in the same transaction, so that
// who replayed it is on the record whenever the delivery moves. Replaying twice is
// harmless: the second finds it no longer dead.
func (s *Store) Replay(ctx context.Context, id int64, deadline time.Time, receipt ReplayReceipt) error {
	n, err := s.replay(ctx, `id = $1`, id, deadline, receipt)
	if err == nil && n == 0 {
		return ErrNotDead
	}
	return err
}

// ReplayAll replays every dead delivery of instance and returns how many, each with its
// record.
func (s *Store) ReplayAll(ctx context.Context, instance string, deadline time.Time, receipt ReplayReceipt) (int64, error) {
	return s.replay(ctx, `instance = $1`, instance, deadline, receipt)
}

func (s *Store) replay(ctx context.Context, which string, arg any, deadline time.Time, receipt ReplayReceipt) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE fanout.deliveries SET state = 'pending', attempts = 0, next_attempt_at = now(), leased_until = NULL,
			deadline_at = $2, updated_at = now() WHERE `+which+` AND state = 'dead' RETURNING `+columns, arg, deadline)
		if err != nil {
			return err
		}
		var replayed []fanout.Delivery
		for rows.Next() {
			d, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			replayed = append(replayed, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		at := time.Now().UTC()
		msgs := make([][]any, 0, len(replayed))
		for _, d := range replayed {
			msg, err := receipt(d, at)
			if err != nil {
				return err
			}
			msgs = append(msgs, []any{msg.Topic, msg.Key, msg.Value})
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fanout", "outbox"}, []string{"topic", "key", "value"}, pgx.CopyFromRows(msgs)); err != nil {
			return err
		}
		n = int64(len(replayed))
		return nil
	})
	return n, err
}
