// Package postgres is audit-sink's PostgreSQL adapter: the append-only audit log.
package postgres

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/platform/postgres"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
	"github.com/consentry/consentry/services/audit-sink/internal/chain"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the audit log.
type Store struct {
	pool *pgxpool.Pool
	// writer is whether the login role may write as writerRole, which cannot change or
	// remove a row (the migration grants it where it can).
	writer bool
}

// writerRole holds INSERT and SELECT on the log, never UPDATE or DELETE.
const writerRole = "consentry_audit_writer"

// Attach is the log of an already migrated database, for a tool that only reads it
// (verify-audit) and must not change its schema.
func Attach(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Open migrates the audit schema, and chains the rows a log written before the hash
// chain holds.
func Open(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := postgres.MigrateDir(ctx, pool, "audit-sink", migrations, "migrations"); err != nil {
		return nil, err
	}
	if err := deriveAll(ctx, pool); err != nil {
		return nil, fmt.Errorf("audit-sink: deriving privacy requests from the log: %w", err)
	}
	if err := sealUnchained(ctx, pool); err != nil {
		return nil, fmt.Errorf("audit-sink: chaining the rows written before the hash chain: %w", err)
	}
	s := &Store{pool: pool}
	if err := pool.QueryRow(ctx, `SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
		THEN pg_has_role(current_user, $1, 'MEMBER') ELSE false END`, writerRole).Scan(&s.writer); err != nil {
		return nil, err
	}
	return s, nil
}

var columns = []string{"event_id", "event_type", "tenant", "subject_key", "request_id", "source_event_id",
	"occurred_at", "recorded_at", "source", "policy_version", "topic", "kafka_partition", "kafka_offset", "schema_id",
	"payload", "details", "chain", "chain_seq", "prev_hash", "hash"}

// The chain columns, filled in by Insert once the batch's place in its chains is known.
const chainColumns = 4

// Row is a record laid out as the log's columns, with its canonical encoding for the
// chain. The consumer prepares rows as it decodes, so that the write path, which the next
// batch's decoding overlaps, only hashes and copies.
type Row struct {
	values    []any
	canonical []byte
	chain     string
	offset    int64
	eventID   string
	// request marks a PrivacyRequest event, which also moves audit.privacy_requests.
	request bool
}

// Prepare lays out r as a row.
func Prepare(r audit.Record) (Row, error) {
	// Stored as the chain hashes them; jsonb reads the canonical form like any other.
	details, err := chain.MarshalCanonical(r.Details)
	if err != nil {
		return Row{}, fmt.Errorf("event %s: details: %w", r.EventID, err)
	}
	canonical := chainRecord(r, details).Canonical()
	values := make([]any, len(columns))
	copy(values, []any{postgres.UUID(r.EventID), r.EventType, null(r.Tenant), null(r.SubjectKey), postgres.UUID(r.RequestID),
		postgres.UUID(r.SourceEventID), nullTime(r.OccurredAt), nullTime(r.RecordedAt), null(r.Source), null(r.PolicyVersion),
		r.Topic, r.Partition, r.Offset, nullInt(r.SchemaID), r.Payload, details})
	return Row{values: values, canonical: canonical, chain: chain.Name(r.Topic, r.Partition), offset: r.Offset,
		eventID: r.EventID, request: r.EventType == audit.TypePrivacyRequest && r.RequestID != ""}, nil
}

// chainRecord is r as PostgreSQL will hand it back to the verifier: the same NULLs as
// Prepare writes, uuids in their text form, times at microsecond precision.
func chainRecord(r audit.Record, details []byte) chain.Record {
	c := chain.Record{EventID: uuidText(r.EventID), EventType: r.EventType, Tenant: optText(r.Tenant), SubjectKey: optText(r.SubjectKey),
		RequestID: optText(uuidText(r.RequestID)), SourceEventID: optText(uuidText(r.SourceEventID)),
		OccurredAt: optMicros(r.OccurredAt), RecordedAt: optMicros(r.RecordedAt), Source: optText(r.Source),
		PolicyVersion: optText(r.PolicyVersion), Topic: r.Topic, Partition: int64(r.Partition), Offset: r.Offset,
		Payload: r.Payload, Details: details}
	if r.SchemaID != 0 {
		id := int64(r.SchemaID)
		c.SchemaID = &id
	}
	return c
}

// uuidText is a valid uuid as PostgreSQL prints it; anything else is left for the copy
// to reject.
func uuidText(s string) string {
	if eventid.Valid(s) {
		return strings.ToLower(s)
	}
	return s
}

func optText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optMicros(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	us := t.UnixMicro()
	return &us
}

// insertAttempts bounds the retries of a batch whose events another transaction keeps
// committing under our feet; each retry finds at least one more of them already there.
const insertAttempts = 5

// Insert appends rows to the log and to their partitions' hash chains in one
// transaction, each event once, and returns how many it appended.
//
// The chain heads of the batch are locked first: one writer per chain, even when two
// consumers briefly own a partition during a rebalance. Records at or below a head's
// last offset are redeliveries and are dropped before hashing, so that a duplicate
// never forks or extends a chain. The rest are hashed from the locked heads and copied
// straight into the log — COPY-class throughput, the raw baseline's path. A batch that
// repeats an event at a new offset (a producer's retry) fails that copy on the unique
// event_id; it is then written again, dropping the events the log already holds before
// the chain is computed.
func (s *Store) Insert(ctx context.Context, rows []Row) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	for attempt := 1; ; attempt++ {
		n, err := s.insert(ctx, rows, attempt > 1)
		if !isDuplicateEvent(err) {
			return n, err
		}
		if attempt == insertAttempts {
			// Not wrapped: a unique violation reads as bad data, and this is contention.
			return 0, fmt.Errorf("audit-sink: events of the batch kept being written concurrently: %s", err.Error())
		}
	}
}

// insert is one attempt of Insert; lookup makes it drop the events already in the log
// before copying, rather than learn of them from a failed copy.
func (s *Store) insert(ctx context.Context, rows []Row, lookup bool) (int64, error) {
	var inserted int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		role := ""
		if s.writer {
			role = writerRole
		}
		heads, err := lockHeads(ctx, tx, chainsOf(rows), role)
		if err != nil {
			return err
		}
		keep, err := fresh(ctx, tx, rows, heads, lookup)
		if err != nil {
			return err
		}
		link(keep, heads)
		if len(keep) > 0 {
			inserted, err = tx.CopyFrom(ctx, pgx.Identifier{"audit", "events"}, columns, pgx.CopyFromSlice(len(keep), func(i int) ([]any, error) {
				return keep[i].values, nil
			}))
			if err != nil {
				return err
			}
		}
		// Past the duplicates too, so that a redelivery of them is dropped by offset.
		for _, r := range rows {
			if h := heads[r.chain]; r.offset > h.lastOffset {
				h.lastOffset, h.moved = r.offset, true
			}
		}
		if err := saveHeads(ctx, tx, heads); err != nil {
			return err
		}
		return deriveRequests(ctx, tx, requestEvents(keep))
	})
	return inserted, err
}

// head is a chain's end as locked by the insert transaction.
type head struct {
	seq        int64
	hash       chain.Hash
	lastOffset int64
	moved      bool
}

func chainsOf(rows []Row) []string {
	names := make([]string, 0, 8)
	for _, r := range rows {
		if len(names) == 0 || names[len(names)-1] != r.chain {
			names = append(names, r.chain)
		}
	}
	return sortedUnique(names)
}

// sortedUnique sorts names and drops repeats: the order every transaction locks chain
// heads in, so that two batches over the same partitions wait for each other instead of
// deadlocking.
func sortedUnique(names []string) []string {
	sort.Strings(names)
	return slices.Compact(names)
}

// lockHeads locks the heads of chains, creating those that do not exist yet. A role,
// if given, is taken for the rest of the transaction in the same round trip.
func lockHeads(ctx context.Context, tx pgx.Tx, chains []string, role string) (map[string]*head, error) {
	b := &pgx.Batch{}
	if role != "" {
		b.Queue(`SET LOCAL ROLE ` + role)
	}
	b.Queue(selectHeadsSQL, chains)
	results := tx.SendBatch(ctx, b)
	var err error
	if role != "" {
		_, err = results.Exec()
	}
	var heads map[string]*head
	if err == nil {
		heads, err = scanHeads(results.Query())
	}
	if cerr := results.Close(); err == nil {
		err = cerr
	}
	if err != nil || len(heads) == len(chains) {
		return heads, err
	}
	var missing []string
	for _, c := range chains {
		if heads[c] == nil {
			missing = append(missing, c)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit.chain_heads (chain, seq, hash, last_offset)
		SELECT c, 0, $2, -1 FROM unnest($1::text[]) c ORDER BY c ON CONFLICT (chain) DO NOTHING`, missing, chain.Genesis[:]); err != nil {
		return nil, err
	}
	more, err := scanHeads(tx.Query(ctx, selectHeadsSQL, missing))
	if err != nil {
		return nil, err
	}
	for c, h := range more {
		heads[c] = h
	}
	if len(heads) != len(chains) {
		return nil, errors.New("audit-sink: a chain head vanished while being locked")
	}
	return heads, nil
}

const selectHeadsSQL = `SELECT chain, seq, hash, last_offset FROM audit.chain_heads
	WHERE chain = ANY($1) ORDER BY chain FOR UPDATE`

func scanHeads(rows pgx.Rows, err error) (map[string]*head, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	heads := map[string]*head{}
	for rows.Next() {
		var (
			name string
			hash []byte
			h    head
		)
		if err := rows.Scan(&name, &h.seq, &hash, &h.lastOffset); err != nil {
			return nil, err
		}
		var ok bool
		if h.hash, ok = chain.HashOf(hash); !ok {
			return nil, fmt.Errorf("audit-sink: chain head %s holds a malformed hash", name)
		}
		heads[name] = &h
	}
	return heads, rows.Err()
}

// fresh returns the rows to append: each event once, none the log already holds.
// Records at or below their chain's last offset are redeliveries, normally all in the
// log; they are looked up (a batch after a crash or rebalance pays one query) so that a
// record whose offsets were rewound — a recreated topic — is appended, not lost.
func fresh(ctx context.Context, tx pgx.Tx, rows []Row, heads map[string]*head, lookup bool) ([]Row, error) {
	var check []string
	for _, r := range rows {
		if lookup || r.offset <= heads[r.chain].lastOffset {
			check = append(check, r.eventID)
		}
	}
	var present map[string]bool
	if len(check) > 0 {
		var err error
		if present, err = inLog(ctx, tx, check); err != nil {
			return nil, err
		}
	}
	keep := make([]Row, 0, len(rows))
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if present[r.eventID] || seen[r.eventID] {
			continue
		}
		seen[r.eventID] = true
		keep = append(keep, r)
	}
	return keep, nil
}

// inLog returns which of ids the log holds.
func inLog(ctx context.Context, tx pgx.Tx, ids []string) (map[string]bool, error) {
	rows, err := tx.Query(ctx, `SELECT event_id::text FROM audit.events WHERE event_id = ANY($1::text[]::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	present := make(map[string]bool, len(found))
	for _, id := range found {
		present[id] = true
	}
	// The log answers in lowercase; a producer may have sent uppercase.
	for _, id := range ids {
		if present[strings.ToLower(id)] {
			present[id] = true
		}
	}
	return present, nil
}

// link gives each row its place in its chain, in batch order (a partition's offset
// order), and moves the heads past them.
func link(rows []Row, heads map[string]*head) {
	hashes := make([]chain.Hash, len(rows))
	for i := range rows {
		r := &rows[i]
		h := heads[r.chain]
		prev := h.hash
		hashes[i] = chain.Link(prev, r.canonical)
		h.seq++
		h.hash = hashes[i]
		h.lastOffset = max(h.lastOffset, r.offset)
		h.moved = true
		v := r.values[len(columns)-chainColumns:]
		v[0], v[1], v[2], v[3] = r.chain, h.seq, prevBytes(prev), hashes[i][:]
	}
}

func prevBytes(h chain.Hash) []byte { return append([]byte(nil), h[:]...) }

// saveHeads writes the moved heads back, in the transaction that appended their rows.
func saveHeads(ctx context.Context, tx pgx.Tx, heads map[string]*head) error {
	var (
		names         []string
		seqs, offsets []int64
		hashes        [][]byte
	)
	for name, h := range heads {
		if h.moved {
			names, seqs, offsets, hashes = append(names, name), append(seqs, h.seq), append(offsets, h.lastOffset), append(hashes, h.hash[:])
		}
	}
	if len(names) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE audit.chain_heads h SET seq = u.seq, hash = u.hash, last_offset = u.last_offset, updated_at = now()
		FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[]) u (chain, seq, hash, last_offset)
		WHERE h.chain = u.chain`, names, seqs, hashes, offsets)
	return err
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

// isDuplicateEvent reports whether err is the log refusing an event it already holds.
// A clash on a chain position is not one: it would mean two writers on one chain, which
// the head lock rules out, and it is left to fail the batch rather than be papered over.
func isDuplicateEvent(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505" && pg.ConstraintName == "events_event_id_key"
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

// HistoryCursor is where a page of a subject's history ended: the history runs in the
// order Consentry recorded it (entries without a recorded time last), then by seq.
type HistoryCursor struct {
	recorded string // RFC 3339, or "infinity" for an entry without a recorded time
	seq      int64
}

// String is the cursor as the API hands it out; it is opaque to callers.
func (c HistoryCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.recorded + " " + strconv.FormatInt(c.seq, 10)))
}

// ParseHistoryCursor reads a cursor String returned.
func ParseHistoryCursor(s string) (HistoryCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return HistoryCursor{}, ErrBadCursor
	}
	recorded, seqText, ok := strings.Cut(string(raw), " ")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 0 {
		return HistoryCursor{}, ErrBadCursor
	}
	if _, err := time.Parse(time.RFC3339Nano, recorded); err != nil && recorded != "infinity" {
		return HistoryCursor{}, ErrBadCursor
	}
	return HistoryCursor{recorded: recorded, seq: seq}, nil
}

// History returns up to limit of a subject's events and the receipts answering them,
// after the cursor (nil: from the start), in the order Consentry recorded them, and the
// cursor of the next page (nil on the last one).
func (s *Store) History(ctx context.Context, tenant, subjectKey string, after *HistoryCursor, limit int) ([]audit.Entry, *HistoryCursor, error) {
	var afterTime *string
	var afterSeq int64
	if after != nil {
		afterTime, afterSeq = &after.recorded, after.seq
	}
	rows, err := s.pool.Query(ctx, `SELECT `+entryColumns+` FROM audit.events
		WHERE tenant = $1 AND subject_key = $2
		  AND ($3::text IS NULL OR (coalesce(recorded_at, 'infinity'), seq) > ($3::text::timestamptz, $4))
		ORDER BY recorded_at, seq LIMIT $5`, tenant, subjectKey, afterTime, afterSeq, limit)
	if err != nil {
		return nil, nil, err
	}
	out, err := scanEntries(rows)
	if err != nil || len(out) < limit {
		return out, nil, err
	}
	last := out[len(out)-1]
	next := &HistoryCursor{recorded: "infinity", seq: last.Seq}
	if last.RecordedAt != nil {
		next.recorded = last.RecordedAt.UTC().Format(time.RFC3339Nano)
	}
	return out, next, nil
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
	rows, err := s.pool.Query(ctx, `SELECT p.key, p.value, e.event_id::text, e.source, e.policy_version, e.occurred_at, e.recorded_at, e.seq,
			coalesce(e.chain, ''), coalesce(e.chain_seq, 0), coalesce(encode(e.hash, 'hex'), '')
		FROM audit.events e, jsonb_each_text(e.details->'purposes') p
		WHERE e.tenant = $1 AND e.subject_key = $2 AND e.event_type = 'ConsentChanged'`, tenant, subjectKey)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Choice
	for rows.Next() {
		var c audit.Choice
		if err := rows.Scan(&c.Purpose, &c.Decision, &c.EventID, &c.Source, &c.PolicyVersion, &c.OccurredAt, &c.RecordedAt, &c.Seq,
			&c.Chain, &c.ChainSeq, &c.Hash); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
