package postgres

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/consentry/consentry/platform/eventid"
	"github.com/consentry/consentry/services/audit-sink/internal/audit"
)

// Cursor is where a page of the request listing ended: the listing runs in deadline
// order (requests without a deadline last), then by request id.
type Cursor struct {
	due       string // RFC 3339, or "infinity" for a request without a deadline
	requestID string
}

// String is the cursor as the API hands it out; it is opaque to callers.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.due + " " + c.requestID))
}

// ErrBadCursor is returned for a cursor this listing did not hand out.
var ErrBadCursor = errors.New("not a cursor of this listing")

// ParseCursor reads a cursor String returned.
func ParseCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	due, id, ok := strings.Cut(string(raw), " ")
	if !ok || !eventid.Valid(id) {
		return Cursor{}, ErrBadCursor
	}
	if _, err := time.Parse(time.RFC3339Nano, due); err != nil && due != "infinity" {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{due: due, requestID: id}, nil
}

func cursorOf(r audit.RequestSummary) Cursor {
	if r.DeadlineAt == nil {
		return Cursor{due: "infinity", requestID: r.RequestID}
	}
	return Cursor{due: r.DeadlineAt.UTC().Format(time.RFC3339Nano), requestID: r.RequestID}
}

// ListQuery selects privacy requests.
type ListQuery struct {
	Filter  string   // a lifecycle status, or audit.FilterAtRisk / audit.FilterOverdue
	Tenants []string // nil for every tenant
	Now     time.Time
	After   *Cursor
	Limit   int
}

const closedSQL = `('completed', 'partially_completed', 'rejected')`

const summaryColumns = `request_id::text, tenant, coalesce(subject_key, ''), type, status, received_at, deadline_at, closed_at`

// ListRequests returns a page of requests matching q, judged at q.Now, and the cursor of
// the next page (nil on the last one). The at-risk arithmetic in SQL mirrors
// deadline.StatusAt, which has the last word on each row.
func (s *Store) ListRequests(ctx context.Context, q ListQuery) ([]audit.RequestSummary, *Cursor, error) {
	var where []string
	args := []any{}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	switch q.Filter {
	case audit.FilterOverdue:
		where = append(where, `status NOT IN `+closedSQL, `due <= `+arg(q.Now)+`::timestamptz`)
	case audit.FilterAtRisk:
		now := arg(q.Now) + `::timestamptz`
		where = append(where, `status NOT IN `+closedSQL, `due > `+now, `deadline_at IS NOT NULL`,
			`(deadline_at - `+now+`) * 5 < (deadline_at - received_at)`)
	default:
		where = append(where, `status = `+arg(q.Filter))
	}
	if q.Tenants != nil {
		where = append(where, `tenant = ANY(`+arg(q.Tenants)+`::text[])`)
	}
	if q.After != nil {
		where = append(where, `(due, request_id) > (`+arg(q.After.due)+`::text::timestamptz, `+arg(q.After.requestID)+`::uuid)`)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+summaryColumns+` FROM audit.privacy_requests WHERE `+strings.Join(where, ` AND `)+
		` ORDER BY due, request_id LIMIT `+arg(q.Limit), args...)
	if err != nil {
		return nil, nil, err
	}
	all, err := scanSummaries(rows)
	if err != nil {
		return nil, nil, err
	}
	out := []audit.RequestSummary{}
	for _, r := range all {
		r.Judge(q.Now)
		if r.Matches(q.Filter) {
			out = append(out, r)
		}
	}
	var next *Cursor
	if len(all) == q.Limit {
		c := cursorOf(all[len(all)-1])
		next = &c
	}
	return out, next, nil
}

// OpenRequests returns every request not yet closed, for the request gauges.
func (s *Store) OpenRequests(ctx context.Context) ([]audit.RequestSummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+summaryColumns+` FROM audit.privacy_requests WHERE status NOT IN `+closedSQL)
	if err != nil {
		return nil, err
	}
	return scanSummaries(rows)
}

// Tenants returns every tenant with a privacy request, skipping through the tenant index
// one tenant at a time rather than reading every request.
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE t AS (
			SELECT min(tenant) AS tenant FROM audit.privacy_requests
			UNION ALL
			SELECT (SELECT min(tenant) FROM audit.privacy_requests WHERE tenant > t.tenant) FROM t WHERE t.tenant IS NOT NULL
		) SELECT tenant FROM t WHERE tenant IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func scanSummaries(rows pgx.Rows) ([]audit.RequestSummary, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.RequestSummary, error) {
		var r audit.RequestSummary
		err := row.Scan(&r.RequestID, &r.Tenant, &r.SubjectKey, &r.Type, &r.Status, &r.ReceivedAt, &r.DeadlineAt, &r.ClosedAt)
		r.ReceivedAt = r.ReceivedAt.UTC()
		r.DeadlineAt, r.ClosedAt = utc(r.DeadlineAt), utc(r.ClosedAt)
		return r, err
	})
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// SealedIdentifiers returns the payloads of the subject's events that carry sealed
// identifiers, for an export to open.
func (s *Store) SealedIdentifiers(ctx context.Context, tenant, subjectKey string) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT payload FROM audit.events
		WHERE tenant = $1 AND subject_key = $2 AND payload IS NOT NULL AND details->'identifiers_sealed' = 'true'
		ORDER BY recorded_at, seq`, tenant, subjectKey)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]byte])
}
